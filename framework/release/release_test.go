package release

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/markdown.golden")

// upstreamTags are virt-template's tags in order (v0.2.3 and v0.2.4 are known only from
// kubevirt/kubevirt PR #19180).
var upstreamTags = []string{
	"v0.1.0", "v0.1.1", "v0.1.2", "v0.1.3", "v0.1.4", "v0.1.5", "v0.1.6", "v0.1.7", "v0.1.8",
	"v0.2.0", "v0.2.1", "v0.2.2", "v0.2.3", "v0.2.4",
}

// previousTag is the tag before t, or "" for the first one.
func previousTag(t *testing.T, v Version) string {
	t.Helper()
	for i, s := range upstreamTags {
		if MustParse(s).Compare(v) == 0 {
			if i == 0 {
				return ""
			}
			return upstreamTags[i-1]
		}
	}
	t.Fatalf("%s is not an upstream tag", v)
	return ""
}

func TestEveryRowAtAndBeforeItsFirstVersion(t *testing.T) {
	for _, b := range Behaviours() {
		t.Run(string(b.ID), func(t *testing.T) {
			if !For(b.Since).Has(b.ID) {
				t.Errorf("%s: missing at its first version %s", b.ID, b.Since)
			}
			if prev := previousTag(t, b.Since); prev != "" && For(MustParse(prev)).Has(b.ID) {
				t.Errorf("%s: present at %s, before its first version %s", b.ID, prev, b.Since)
			}
			if b.WasRemoved() {
				if For(b.Removed).Has(b.ID) {
					t.Errorf("%s: still present at %s, where it was removed", b.ID, b.Removed)
				}
				if For(Version{}).Has(b.ID) {
					t.Errorf("%s: removed, yet the unknown (newest) version has it", b.ID)
				}
			} else if !For(Version{}).Has(b.ID) {
				t.Errorf("%s: the unknown (newest) version lacks it", b.ID)
			}
			if b.Description == "" || b.Source == "" || strings.Contains(b.Description, "\n") {
				t.Errorf("%s: needs a one-line description and a source", b.ID)
			}
		})
	}
}

func TestRowsAreUniqueAndOrdered(t *testing.T) {
	seen := map[ID]bool{}
	for _, b := range Behaviours() {
		if seen[b.ID] {
			t.Errorf("%s appears twice", b.ID)
		}
		seen[b.ID] = true
		if b.Since.Unknown() {
			t.Errorf("%s has no first version", b.ID)
		}
		if b.WasRemoved() && !b.Since.Less(b.Removed) {
			t.Errorf("%s: removed in %s, not after its first version %s", b.ID, b.Removed, b.Since)
		}
	}
}

// The claims of issue 13 item 3 for the versions a KubeVirt cluster runs.
func TestClaimsByRelease(t *testing.T) {
	for _, tc := range []struct {
		version string
		has     []ID
		lacks   []ID
	}{
		{"v0.1.7",
			[]ID{RequestSpecImmutable, WebhookRendersTemplate, VAPSourceSubresource, AggregatedRoles, VersionAnnotated, VirttemplatectlCLI},
			[]ID{StripsMACSerialUUID, SkipsPersistentState, ServesV1beta1, CapturedNameGenerated}},
		{"v0.1.8",
			[]ID{StripsMACSerialUUID, SkipsPersistentState, VirttemplatectlCLI},
			[]ID{ServesV1beta1, DeprecatesV1alpha1, CapturedNameGenerated, RequestTemplateLabels, RequestTTL,
				AdmissionCoversV1beta1, SubresourceDiscovery, RequestControllerWaitsForAPIs, AggregatedProcessCreate}},
		{"v0.2.0",
			[]ID{ServesV1beta1, DeprecatesV1alpha1, CapturedNameGenerated, RequestTemplateLabels, RequestTTL,
				AdmissionCoversV1beta1, SubresourceDiscovery, StripsMACSerialUUID},
			[]ID{RequestControllerWaitsForAPIs, VirttemplatectlCLI, AggregatedProcessCreate}},
		{"0.2.2",
			[]ID{RequestControllerWaitsForAPIs, ServesV1beta1},
			[]ID{AggregatedProcessCreate}},
		{"v0.2.4", []ID{AggregatedProcessCreate}, []ID{VirttemplatectlCLI}},
		{"unknown",
			[]ID{AggregatedProcessCreate, RequestControllerWaitsForAPIs, StripsMACSerialUUID},
			[]ID{VirttemplatectlCLI}},
		{"", []ID{ServesV1beta1}, nil},
		{"v0.1.4", []ID{AggregatedRoles}, []ID{WebhookRendersTemplate, VAPSourceSubresource, VersionAnnotated}},
		{"v0.2.0-rc.1", []ID{StripsMACSerialUUID}, []ID{ServesV1beta1}},
	} {
		r, err := ForString(tc.version)
		if err != nil {
			t.Fatalf("ForString(%q): %v", tc.version, err)
		}
		for _, id := range tc.has {
			if !r.Has(id) {
				t.Errorf("%q should have %s", tc.version, id)
			}
		}
		for _, id := range tc.lacks {
			if r.Has(id) {
				t.Errorf("%q should lack %s", tc.version, id)
			}
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		unknown bool
	}{
		{"v0.1.8", "v0.1.8", false},
		{"0.2.3", "v0.2.3", false},
		{" V1.9.0 ", "v1.9.0", false},
		{"v1.9.0-rc.1", "v1.9.0-rc.1", false},
		{"v0.2.2+build.5", "v0.2.2", false},
		{"unknown", "unknown", true},
		{"UNKNOWN", "unknown", true},
		{"", "unknown", true},
	} {
		v, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if v.String() != tc.want || v.Unknown() != tc.unknown {
			t.Errorf("Parse(%q) = %s (unknown %t), want %s (unknown %t)", tc.in, v, v.Unknown(), tc.want, tc.unknown)
		}
	}
}

func TestParseRefusesBadInput(t *testing.T) {
	for _, in := range []string{"v0.1", "0.1.8.1", "latest", "main", "v0.x.1", "v01.1.8", "v-1.0.0", "v0.1.8-", "v0.1.8-rc..1", "v0.1.8-rc.01", "v0.1.8+", "1.2.3 4"} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) accepted bad input", in)
			continue
		}
		if !strings.Contains(err.Error(), "release:") || !strings.Contains(err.Error(), "not a version") {
			t.Errorf("Parse(%q): error %q does not say what is wrong", in, err)
		}
	}
	if _, err := ForString("v0.x"); err == nil {
		t.Error("ForString accepted bad input")
	}
}

func TestCompare(t *testing.T) {
	ordered := []string{"v0.1.0", "v0.1.8", "v0.2.0-alpha.1", "v0.2.0-alpha.beta", "v0.2.0-beta.2", "v0.2.0-beta.11", "v0.2.0-rc.1", "v0.2.0", "v0.2.1", "v0.10.0", "v1.0.0", "unknown"}
	for i := range ordered {
		for j := range ordered {
			a, b := MustParse(ordered[i]), MustParse(ordered[j])
			got, want := a.Compare(b), sign(i-j)
			if got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
	if MustParse("v0.2.2+a").Compare(MustParse("v0.2.2")) != 0 {
		t.Error("build metadata must not count")
	}
}

func TestUnknownReportsNewest(t *testing.T) {
	r := For(Version{})
	if !r.Unknown() || !r.Version().Unknown() {
		t.Fatal("the zero Version must be unknown")
	}
	if !strings.Contains(r.Describe(), "newest behaviour assumed") {
		t.Errorf("Describe does not say the newest behaviour is assumed:\n%s", r.Describe())
	}
	if For(MustParse("v0.1.8")).Unknown() {
		t.Error("v0.1.8 reported unknown")
	}
}

func TestHasPanicsOnUnlistedID(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Has of an unlisted ID did not panic")
		}
	}()
	For(MustParse("v0.2.0")).Has(ID("NoSuchBehaviour"))
}

func TestDescribeListsEveryRow(t *testing.T) {
	d := For(MustParse("v0.1.8")).Describe()
	if !strings.HasPrefix(d, "virt-template v0.1.8:\n") {
		t.Errorf("Describe header: %q", strings.SplitN(d, "\n", 2)[0])
	}
	for _, b := range Behaviours() {
		if !strings.Contains(d, string(b.ID)) {
			t.Errorf("Describe misses %s", b.ID)
		}
	}
	for _, want := range []string{
		"yes StripsMACSerialUUID",
		"no  ServesV1beta1",
		"parameter 'NAME' is required and a value must be specified",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("Describe(v0.1.8) lacks %q:\n%s", want, d)
		}
	}
	if n := strings.Count(d, "\n"); n != len(Behaviours())+1 {
		t.Errorf("Describe has %d lines, want %d", n, len(Behaviours())+1)
	}
}

func TestFromImage(t *testing.T) {
	for _, tc := range []struct{ ref, want string }{
		{"quay.io/kubevirt/virt-template-controller:v0.1.8", "v0.1.8"},
		{"registry.local:5000/kubevirt/virt-template-apiserver:v0.2.2", "v0.2.2"},
		{"quay.io/kubevirt/virt-template-apiserver@sha256:0123abcd", "unknown"},
		{"quay.io/kubevirt/virt-template-apiserver:v0.2.2@sha256:0123abcd", "unknown"},
		{"registry.local:5000/virt-template-apiserver", "unknown"},
		{"virt-template-apiserver:latest", "unknown"},
	} {
		v, err := FromImage(tc.ref)
		if err != nil || v.String() != tc.want {
			t.Errorf("FromImage(%q) = %s, %v; want %s", tc.ref, v, err, tc.want)
		}
	}
	for _, bad := range []string{"", "quay.io/kubevirt/virt-template-apiserver:devel"} {
		if _, err := FromImage(bad); err == nil {
			t.Errorf("FromImage(%q) accepted", bad)
		}
	}
}

func TestForKubeVirt(t *testing.T) {
	for _, tc := range []struct{ kv, want string }{
		{"v1.8.0-rc.0", "v0.1.7"},
		{"v1.8.0", "v0.1.7"},
		{"v1.8.1", "v0.1.7"},
		{"1.8.2", "v0.1.7"},
		{"v1.8.3", "v0.1.8"},
		{"v1.8.4", "v0.1.8"},
		{"v1.8.9", "v0.1.8"},
		{"v1.9.0-alpha.0", "v0.1.7"},
		{"v1.9.0-beta.0", "v0.1.8"},
		{"v1.9.0-rc.2", "v0.2.2"},
		{"v1.9.0", "v0.2.2"},
		{"v1.9.3", "v0.2.2"},
		{"v1.10.0", "unknown"},
		{"unknown", "unknown"},
		{"", "unknown"},
	} {
		v, err := ForKubeVirt(tc.kv)
		if err != nil || v.String() != tc.want {
			t.Errorf("ForKubeVirt(%q) = %s, %v; want %s", tc.kv, v, err, tc.want)
		}
	}
	for _, kv := range []string{"v1.7.0", "v1.8.0-beta.0"} {
		if _, err := ForKubeVirt(kv); !errors.Is(err, ErrNoVirtTemplate) {
			t.Errorf("ForKubeVirt(%q) = %v, want ErrNoVirtTemplate", kv, err)
		}
	}
	if _, err := ForKubeVirt("v1.8"); err == nil || !strings.Contains(err.Error(), "KubeVirt version") {
		t.Errorf("ForKubeVirt(v1.8) = %v, want a parse error naming the KubeVirt version", err)
	}
	// The ranges are contiguous and each maps to a release that exists in the behaviour
	// table's tag list.
	bs := KubeVirtBundles()
	if bs[0].From.Compare(firstKubeVirtWithBundle) != 0 || bs[len(bs)-1].Before.Compare(lastKubeVirtMapped) != 0 {
		t.Error("table does not span firstKubeVirtWithBundle … lastKubeVirtMapped")
	}
	for i, b := range bs {
		if !b.From.Less(b.Before) {
			t.Errorf("range %d is empty", i)
		}
		if i > 0 && bs[i-1].Before.Compare(b.From) != 0 {
			t.Errorf("gap between range %d and %d", i-1, i)
		}
		previousTag(t, b.VirtTemplate)
	}
	// What KubeVirt 1.8.2 and 1.8.3 clusters differ in.
	old, _ := ForKubeVirt("v1.8.2")
	cur, _ := ForKubeVirt("v1.8.3")
	if For(old).Has(StripsMACSerialUUID) || !For(cur).Has(StripsMACSerialUUID) {
		t.Error("MAC/serial/UUID stripping must start with KubeVirt v1.8.3 (virt-template v0.1.8)")
	}
}

func TestMarkdown(t *testing.T) {
	md := Markdown()
	for _, want := range []string{
		"| behaviour | virt-template | from then on | older releases | upstream |",
		"| `ServesV1beta1` | v0.2.0+ |",
		"| `StripsMACSerialUUID` | v0.1.8+ |",
		"| `RequestControllerWaitsForAPIs` | v0.2.1+ |",
		"| `AggregatedProcessCreate` | v0.2.4+ (unverified) |",
		"| `VirttemplatectlCLI` | v0.1.0–<v0.2.0 |",
		"removed in v0.2.0",
		"| v1.8.0-rc.0 … < v1.8.3 | v0.1.7 |",
		"| v1.8.3 … < v1.9.0-alpha.0 | v0.1.8 |",
		"| v1.9.0-rc.0 … < v1.10.0-alpha.0 | v0.2.2 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	for i, line := range strings.Split(strings.TrimSpace(md), "\n") {
		if line != "" && !strings.HasPrefix(line, "|") {
			t.Errorf("line %d is not a table row: %q", i+1, line)
		}
	}
	golden := filepath.Join("testdata", "markdown.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./framework/release/ -update)", err)
	}
	if string(want) != md {
		t.Errorf("Markdown differs from %s; run go test ./framework/release/ -update and review the diff", golden)
	}
}
