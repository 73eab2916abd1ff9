// Package release says which virt-template behaviours a given release has, so a spec can
// expect what the deployed version really does (issue 13, item 3 "Behaviour by release as
// data"). The table in behaviours.go was read from kubevirt/virt-template's git history
// (tags v0.1.0 … v0.1.8, v0.2.0 … v0.2.2, main at e5d8e404); the KubeVirt mapping in
// kubevirt.go from kubevirt/kubevirt (v1.8.0 … v1.8.4, v1.9.0, release branches, main at
// d923fdb8). Every row names the upstream file and tag it was read from.
//
//	v, err := release.Parse("v0.1.8")        // or release.FromImage(deployment image)
//	if release.For(v).Has(release.StripsMACSerialUUID) { … }
//
// An unknown version ("" or "unknown") means the newest behaviour: every row that was
// never removed applies, and Unknown() reports that the version was not known.
package release

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a semantic version of virt-template (or of KubeVirt, for the mapping). The
// zero value is the unknown version.
type Version struct {
	known               bool
	major, minor, patch int
	pre                 string // pre-release identifiers after '-', without build metadata
}

// Parse reads "v0.1.8", "0.2.3", "v1.9.0-rc.1" (a leading "v" is optional, build metadata
// after '+' is ignored). "" and "unknown" give the unknown version. Anything else is an
// error that quotes the input.
func Parse(s string) (Version, error) {
	in := strings.TrimSpace(s)
	if in == "" || strings.EqualFold(in, "unknown") {
		return Version{}, nil
	}
	rest := in
	if rest[0] == 'v' || rest[0] == 'V' {
		rest = rest[1:]
	}
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		if !validIdentifiers(rest[i+1:], false) {
			return Version{}, fmt.Errorf("release: %q is not a version: bad build metadata", s)
		}
		rest = rest[:i]
	}
	var pre string
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		pre = rest[i+1:]
		rest = rest[:i]
		if !validIdentifiers(pre, true) {
			return Version{}, fmt.Errorf("release: %q is not a version: bad pre-release %q", s, pre)
		}
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return Version{}, fmt.Errorf("release: %q is not a version: want MAJOR.MINOR.PATCH such as v0.1.8, or \"unknown\"", s)
	}
	var nums [3]int
	for i, p := range parts {
		n, err := numeric(p)
		if err != nil {
			return Version{}, fmt.Errorf("release: %q is not a version: %v", s, err)
		}
		nums[i] = n
	}
	return Version{known: true, major: nums[0], minor: nums[1], patch: nums[2], pre: pre}, nil
}

// MustParse is Parse for constants; it panics on a bad string.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Unknown reports whether the version was not known ("" or "unknown").
func (v Version) Unknown() bool { return !v.known }

// String gives "v0.1.8" (with "-pre" when set) or "unknown".
func (v Version) String() string {
	if !v.known {
		return "unknown"
	}
	s := fmt.Sprintf("v%d.%d.%d", v.major, v.minor, v.patch)
	if v.pre != "" {
		s += "-" + v.pre
	}
	return s
}

// Compare orders versions by semantic-version precedence (a pre-release sorts before its
// release). The unknown version sorts after every known one: it stands for the newest.
func (v Version) Compare(o Version) int {
	switch {
	case !v.known && !o.known:
		return 0
	case !v.known:
		return 1
	case !o.known:
		return -1
	}
	for _, d := range [3]int{v.major - o.major, v.minor - o.minor, v.patch - o.patch} {
		if d != 0 {
			return sign(d)
		}
	}
	return comparePre(v.pre, o.pre)
}

// Less reports v < o (see Compare).
func (v Version) Less(o Version) bool { return v.Compare(o) < 0 }

func numeric(p string) (int, error) {
	if p == "" {
		return 0, fmt.Errorf("empty number")
	}
	if len(p) > 1 && p[0] == '0' {
		return 0, fmt.Errorf("leading zero in %q", p)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a number", p)
	}
	return n, nil
}

func validIdentifiers(s string, pre bool) bool {
	if s == "" {
		return false
	}
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		for _, r := range id {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
				return false
			}
		}
		if pre && isDigits(id) && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

func comparePre(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, y := as[i], bs[i]
		if x == y {
			continue
		}
		xn, yn := isDigits(x), isDigits(y)
		switch {
		case xn && yn:
			xi, _ := strconv.Atoi(x)
			yi, _ := strconv.Atoi(y)
			return sign(xi - yi)
		case xn:
			return -1
		case yn:
			return 1
		default:
			return strings.Compare(x, y)
		}
	}
	return sign(len(as) - len(bs))
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func sign(d int) int {
	switch {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}

// VersionAnnotation is the annotation every object of a virt-template bundle carries since
// v0.1.5, with the release as value; virt-operator keeps it (its apply code adds its own
// annotations without dropping others), so the CRDs and Deployments on a cluster name the
// deployed release. config/components/version/kustomization.yaml@v0.1.5;
// kubevirt/kubevirt pkg/virt-operator/resource/generate/components/data/virt-template/
// install-virt-operator.yaml@v1.8.0 (value v0.1.7), @v1.9.0 (value v0.2.2).
const VersionAnnotation = "template.kubevirt.io/virt-template-version"

// FromImage reads the release from a component image reference such as
// "quay.io/kubevirt/virt-template-controller:v0.1.8" (virt-operator's bundle pins the tag;
// kubevirt/kubevirt hack/virt-template/default.sh). A reference by digest, without a tag
// or tagged "latest" gives the unknown version (downstream builds pin digests, so prefer
// VersionAnnotation); a tag that is not a version is an error.
func FromImage(ref string) (Version, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return Version{}, fmt.Errorf("release: empty image reference")
	}
	if strings.Contains(ref, "@") {
		return Version{}, nil
	}
	name := ref[strings.LastIndexByte(ref, '/')+1:]
	i := strings.LastIndexByte(name, ':')
	if i < 0 {
		return Version{}, nil
	}
	tag := name[i+1:]
	if tag == "latest" {
		return Version{}, nil
	}
	v, err := Parse(tag)
	if err != nil {
		return Version{}, fmt.Errorf("release: image %q: tag %q is not a version", ref, tag)
	}
	return v, nil
}
