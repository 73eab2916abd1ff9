package local

import (
	"fmt"
	"strings"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
)

// Profile is one generation of KubeVirt the hermetic lane plays (issue 13, items 4 and 5):
// the simulator reports KubeVirtVersion on the KubeVirt CR, gives the Template gate that
// version's maturity and deploys the virt-template release that version bundles
// (release.ForKubeVirt), with the reference components emulating it; the reference CLI
// answers like that KubeVirt's `virtctl template`.
type Profile struct {
	// Name selects the profile: --vmt.local.profile, VMT_PROFILE, make e2e PROFILE=….
	Name string
	// KubeVirtVersion is the KubeVirt release played (status.observedKubeVirtVersion).
	KubeVirtVersion string
	// FeatureGates are listed in the KubeVirt CR's developerConfiguration.featureGates at
	// start. KubeVirt v1.8 enables neither Alpha nor Beta gates by default
	// (pkg/virt-config/featuregate/feature-gates.go@v1.8.0:31-36), so its profile lists
	// Template (Alpha, active.go@v1.8.0:274) and Snapshot (Beta, active.go@v1.8.0:244);
	// v1.9 enables Beta gates unless listed in disabledFeatureGates (feature-gates.go@v1.9.0:
	// 36-38) and Template is Beta there (active.go@v1.9.0:325); its profile lists the same
	// two gates, which changes nothing for Template.
	FeatureGates []string
}

// VirtTemplateVersion is the virt-template release KubeVirtVersion deploys, from
// framework/release's KubeVirt table.
func (p Profile) VirtTemplateVersion() release.Version {
	v, err := release.ForKubeVirt(p.KubeVirtVersion)
	if err != nil { // the table is tested for every profile (profile_test.go)
		panic(fmt.Sprintf("local: profile %s: %v", p.Name, err))
	}
	return v
}

// String is "kubevirt-1.8 (KubeVirt v1.8.4, virt-template v0.1.8)".
func (p Profile) String() string {
	return fmt.Sprintf("%s (KubeVirt %s, virt-template %s)", p.Name, p.KubeVirtVersion, p.VirtTemplateVersion())
}

// DefaultProfile is what the local lane plays unless told otherwise.
const DefaultProfile = "kubevirt-1.9"

// VirtctlKubeVirtVersionEnv makes the reference CLI (bin/vmt-virtctl) answer like the
// `virtctl template` of that KubeVirt version (reference/virtctl.KubeVirtVersionEnv); the
// local lane sets it to its profile's KubeVirtVersion.
const VirtctlKubeVirtVersionEnv = "VMT_VIRTCTL_KUBEVIRT_VERSION"

var profiles = []Profile{
	{Name: "kubevirt-1.8", KubeVirtVersion: "v1.8.4", FeatureGates: []string{"Template", "Snapshot"}},
	{Name: "kubevirt-1.9", KubeVirtVersion: "v1.9.0", FeatureGates: []string{"Template", "Snapshot"}},
}

// Profiles returns every profile, oldest KubeVirt first.
func Profiles() []Profile {
	out := make([]Profile, len(profiles))
	for i, p := range profiles {
		p.FeatureGates = append([]string(nil), p.FeatureGates...)
		out[i] = p
	}
	return out
}

// ProfileNames lists the known profile names, oldest first.
func ProfileNames() []string {
	names := make([]string, len(profiles))
	for i, p := range profiles {
		names[i] = p.Name
	}
	return names
}

// LookupProfile returns the profile called name ("" gives DefaultProfile); an unknown name
// is a one-line error listing the known ones.
func LookupProfile(name string) (Profile, error) {
	if name == "" {
		name = DefaultProfile
	}
	for _, p := range Profiles() {
		if p.Name == name {
			return p, nil
		}
	}
	return Profile{}, fmt.Errorf("unknown local profile %q (known: %s)", name, strings.Join(ProfileNames(), ", "))
}
