package controller

import (
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Hashes are published FNV-1a 32-bit test vectors: "" → 811c9dc5, "a" → e40c292c,
// "foobar" → bf9cf968. The base and the inputs are hashed as one concatenated string.
func TestStableName(t *testing.T) {
	long := strings.Repeat("b", 100)
	dashAtCut := strings.Repeat("a", 53) + "-zzz"
	cases := []struct {
		name, base string
		inputs     []string
		want       string
	}{
		{"base and inputs hashed together", "foo", []string{"bar"}, "foo-bf9cf968"},
		{"split differently, same hash", "fo", []string{"o", "bar"}, "fo-bf9cf968"},
		{"no inputs", "a", nil, "a-e40c292c"},
		{"empty base gets x- and loses its dash", "", nil, "x-811c9dc5"},
		{"truncated to 54", long, nil, strings.Repeat("b", 54) + "-"},
		{"trailing dash trimmed after the cut", dashAtCut, nil, strings.Repeat("a", 53) + "-"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := StableName(c.base, c.inputs...)
			if strings.HasSuffix(c.want, "-") { // hash not spelled out: check the shape
				if !strings.HasPrefix(got, c.want) || len(got) != len(c.want)+8 {
					t.Fatalf("StableName(%q) = %q, want %q + 8 hex", c.base, got, c.want)
				}
			} else if got != c.want {
				t.Fatalf("StableName(%q, %q) = %q, want %q", c.base, c.inputs, got, c.want)
			}
			if errs := validation.IsDNS1035Label(got); len(errs) > 0 {
				t.Fatalf("%q is no DNS-1035 label: %v", got, errs)
			}
		})
	}
}

func TestStableNamePrefixAndFallback(t *testing.T) {
	hashed := regexp.MustCompile(`^(.*)-([0-9a-f]{8})$`)
	cases := map[string]string{
		"123-resource": "x-123-resource", // not starting with a letter: x- prefix
		"-resource":    "x--resource",
		"Resource":     "obj", // x-Resource has an uppercase letter: fallback
		"!!!":          "obj",
		"ресурс":       "obj",
	}
	for base, wantBase := range cases {
		got := StableName(base, "uid")
		m := hashed.FindStringSubmatch(got)
		if m == nil || m[1] != wantBase {
			t.Errorf("StableName(%q) = %q, want %s-<8 hex>", base, got, wantBase)
		}
	}
	if StableName("a", "b") == StableName("a", "c") {
		t.Error("different inputs gave the same name")
	}
	if StableName("a", "b") != StableName("a", "b") {
		t.Error("StableName is not deterministic")
	}
}
