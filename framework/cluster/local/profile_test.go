package local

import (
	"slices"
	"strings"
	"testing"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
)

// TestProfiles pins what each profile plays: the KubeVirt version, the virt-template release
// it deploys (taken from framework/release's table, not written twice) and the gates listed.
func TestProfiles(t *testing.T) {
	want := map[string]struct{ kubevirt, virtTemplate string }{
		"kubevirt-1.8": {"v1.8.4", "v0.1.8"},
		"kubevirt-1.9": {"v1.9.0", "v0.2.2"},
	}
	if got := ProfileNames(); !slices.Equal(got, []string{"kubevirt-1.8", "kubevirt-1.9"}) {
		t.Fatalf("ProfileNames() = %v", got)
	}
	for _, p := range Profiles() {
		w, ok := want[p.Name]
		if !ok {
			t.Errorf("profile %s is not pinned here", p.Name)
			continue
		}
		if p.KubeVirtVersion != w.kubevirt || p.VirtTemplateVersion().String() != w.virtTemplate {
			t.Errorf("%s: KubeVirt %s, virt-template %s; want %s, %s", p.Name, p.KubeVirtVersion, p.VirtTemplateVersion(), w.kubevirt, w.virtTemplate)
		}
		// v1.8 enables no Alpha or Beta gate by default: Template and Snapshot are listed.
		for _, gate := range []string{"Template", "Snapshot"} {
			if !slices.Contains(p.FeatureGates, gate) {
				t.Errorf("%s does not list the %s gate: %v", p.Name, gate, p.FeatureGates)
			}
		}
		if _, err := release.ForKubeVirt(p.KubeVirtVersion); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
	v18, _ := LookupProfile("kubevirt-1.8")
	if release.For(v18.VirtTemplateVersion()).Has(release.ServesV1beta1) {
		t.Error("kubevirt-1.8 deploys a release that serves v1beta1")
	}
	if got := v18.String(); got != "kubevirt-1.8 (KubeVirt v1.8.4, virt-template v0.1.8)" {
		t.Errorf("String() = %q", got)
	}
}

func TestLookupProfile(t *testing.T) {
	p, err := LookupProfile("")
	if err != nil || p.Name != DefaultProfile || DefaultProfile != "kubevirt-1.9" {
		t.Fatalf(`LookupProfile("") = %v, %v; want the default kubevirt-1.9`, p, err)
	}
	_, err = LookupProfile("kubevirt-1.7")
	if err == nil || err.Error() != `unknown local profile "kubevirt-1.7" (known: kubevirt-1.8, kubevirt-1.9)` || strings.Contains(err.Error(), "\n") {
		t.Fatalf("unknown profile: %v", err)
	}
	// Profiles hands out copies: changing one changes no later lookup.
	p.FeatureGates[0] = "Changed"
	if again, _ := LookupProfile(""); again.FeatureGates[0] == "Changed" {
		t.Fatal("LookupProfile shares the table's slice")
	}
}

func TestProviderProfile(t *testing.T) {
	if got := NewProvider("", nil).Profile().Name; got != DefaultProfile {
		t.Fatalf("a new provider plays %s, want %s", got, DefaultProfile)
	}
	v18, _ := LookupProfile("kubevirt-1.8")
	if got := NewProvider("", nil).WithProfile(v18).Profile().KubeVirtVersion; got != "v1.8.4" {
		t.Fatalf("WithProfile: KubeVirt %s", got)
	}
}
