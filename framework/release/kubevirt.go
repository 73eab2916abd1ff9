package release

import (
	"errors"
	"fmt"
)

// KubeVirtBundle says which virt-template release virt-operator deploys for a range of
// KubeVirt versions, [From, Before) by semantic-version precedence (pre-releases included).
//
// virt-operator embeds virt-template's install-virt-operator.yaml
// (pkg/virt-operator/resource/generate/components/data/virt-template/, parsed by
// components/virttemplate.go); the release is pinned by virt_template_version in
// hack/virt-template/default.sh, the bundle's images are
// quay.io/kubevirt/virt-template-{apiserver,controller}:<that tag> and every object carries
// VersionAnnotation with it. virt-operator rewrites registry/prefix, and the operator env
// VIRT_TEMPLATE_APISERVER_IMAGE / VIRT_TEMPLATE_CONTROLLER_IMAGE override the images
// (pkg/virt-operator/util/config.go@v1.8.0:60-61), so an image tag is not proof; it
// labels the Deployments app.kubernetes.io/version with KubeVirt's productVersion, not
// virt-template's (components/virttemplate.go@v1.8.0 updateDeployment), and the KubeVirt
// CR status has no virt-template field (observedKubeVirtVersion is KubeVirt's own).
type KubeVirtBundle struct {
	From, Before Version
	VirtTemplate Version
	// Source cites kubevirt/kubevirt hack/virt-template/default.sh at the tags read.
	Source string
}

// ErrNoVirtTemplate is returned for KubeVirt versions whose virt-operator deploys no
// virt-template (before v1.8.0-rc.0; the bundle came with kubevirt/kubevirt commit
// e46cb0d3, first tag v1.8.0-rc.0).
var ErrNoVirtTemplate = errors.New("virt-operator of this KubeVirt version deploys no virt-template")

var firstKubeVirtWithBundle = MustParse("v1.8.0-rc.0")

var kubeVirtBundles = []KubeVirtBundle{
	{
		// default.sh@v1.8.0-rc.0, -rc.1, v1.8.0, v1.8.1, v1.8.2: "v0.1.7"
		// (bundle sha256 940f56e7…; images …:v0.1.7 in install-virt-operator.yaml@v1.8.0).
		From: MustParse("v1.8.0-rc.0"), Before: MustParse("v1.8.3"), VirtTemplate: MustParse("v0.1.7"),
		Source: "kubevirt/kubevirt hack/virt-template/default.sh@v1.8.0,v1.8.1,v1.8.2",
	},
	{
		// default.sh@v1.8.3, v1.8.4 and release-1.8 head 8c261340 (2026-08-19): "v0.1.8"
		// (commit ba5ad0aa, 2026-05-20). Later v1.8.z are assumed to stay on v0.1.8.
		From: MustParse("v1.8.3"), Before: MustParse("v1.9.0-alpha.0"), VirtTemplate: MustParse("v0.1.8"),
		Source: "kubevirt/kubevirt hack/virt-template/default.sh@v1.8.3,v1.8.4,release-1.8@8c261340",
	},
	{
		// default.sh@v1.9.0-alpha.0: "v0.1.7".
		From: MustParse("v1.9.0-alpha.0"), Before: MustParse("v1.9.0-beta.0"), VirtTemplate: MustParse("v0.1.7"),
		Source: "kubevirt/kubevirt hack/virt-template/default.sh@v1.9.0-alpha.0",
	},
	{
		// default.sh@v1.9.0-beta.0: "v0.1.8".
		From: MustParse("v1.9.0-beta.0"), Before: MustParse("v1.9.0-rc.0"), VirtTemplate: MustParse("v0.1.8"),
		Source: "kubevirt/kubevirt hack/virt-template/default.sh@v1.9.0-beta.0",
	},
	{
		// default.sh@v1.9.0-rc.0 … rc.2, v1.9.0 and release-1.9 head 390cf886 (2026-08-22):
		// "v0.2.2" (commit f09e7194, 2026-06-26; bundle sha256 e796b35a…). main@d923fdb8
		// (2026-08-22) pins v0.2.2 too; kubevirt/kubevirt PR #19180 (2026-09-18, after the
		// snapshot read) moves main to v0.2.4, so v1.10 is left unknown (newest).
		From: MustParse("v1.9.0-rc.0"), Before: MustParse("v1.10.0-alpha.0"), VirtTemplate: MustParse("v0.2.2"),
		Source: "kubevirt/kubevirt hack/virt-template/default.sh@v1.9.0,release-1.9@390cf886",
	},
}

var lastKubeVirtMapped = MustParse("v1.10.0-alpha.0")

// KubeVirtBundles returns a copy of the KubeVirt → virt-template table, oldest first.
func KubeVirtBundles() []KubeVirtBundle {
	return append([]KubeVirtBundle(nil), kubeVirtBundles...)
}

// ForKubeVirt returns the virt-template release that KubeVirt version kv deploys, e.g.
// "v1.8.1" → v0.1.7. An unknown kv ("" or "unknown") and versions newer than the table
// (v1.10 and later) give the unknown version (newest behaviour); versions before the
// integration give ErrNoVirtTemplate; a bad string gives a parse error.
func ForKubeVirt(kv string) (Version, error) {
	v, err := Parse(kv)
	if err != nil {
		return Version{}, fmt.Errorf("KubeVirt version: %w", err)
	}
	if v.Unknown() || !v.Less(lastKubeVirtMapped) {
		return Version{}, nil
	}
	if v.Less(firstKubeVirtWithBundle) {
		return Version{}, fmt.Errorf("KubeVirt %s: %w (virt-operator deploys it since v1.8.0)", v, ErrNoVirtTemplate)
	}
	for _, b := range kubeVirtBundles {
		if !v.Less(b.From) && v.Less(b.Before) {
			return b.VirtTemplate, nil
		}
	}
	// The ranges are contiguous from firstKubeVirtWithBundle to lastKubeVirtMapped.
	panic(fmt.Sprintf("release: KubeVirt %s falls between the table's ranges", v))
}
