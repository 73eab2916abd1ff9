package controller

import (
	"fmt"
	"hash/fnv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// stableHashLength is the width of the FNV-32a hash in hex, and maxStableBaseLength what is
// left of a DNS-1035 label for the base once "-<hash>" is appended.
const (
	stableHashLength    = 8
	maxStableBaseLength = validation.DNS1035LabelMaxLength - stableHashLength - 1
)

// StableName derives the name of an object a request creates, the way upstream's
// GetStableName does, so objects made by either implementation get the same names:
// "<base>-<8 hex digits of FNV-32a over base and inputs, concatenated>". A base not starting
// with a lowercase letter is prefixed "x-"; it is cut to 54 characters and stripped of
// trailing dashes. If the result is still no DNS-1035 label, the name is "obj-<hash>".
func StableName(base string, inputs ...string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(base)) // hash.Hash never fails
	for _, in := range inputs {
		_, _ = h.Write([]byte(in))
	}
	hash := fmt.Sprintf("%0*x", stableHashLength, h.Sum32())

	if base == "" || base[0] < 'a' || base[0] > 'z' {
		base = "x-" + base
	}
	if len(base) > maxStableBaseLength {
		base = base[:maxStableBaseLength]
	}
	name := strings.TrimRight(base, "-") + "-" + hash
	if len(validation.IsDNS1035Label(name)) > 0 {
		return "obj-" + hash
	}
	return name
}
