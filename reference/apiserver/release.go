package apiserver

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// The server plays one virt-template release (Options.Release), asking the behaviour table
// of framework/release only:
//   - ServesV1beta1: subresources.template.kubevirt.io/v1beta1 is served from v0.2.0
//     (cmd/apiserver/main.go@v0.2.0:62-71; @v0.1.8:60 registers v1alpha1 only), and
//     templates are read in template.kubevirt.io/v1beta1 where the CRDs serve it, else in
//     v1alpha1;
//   - SubresourceDiscovery: the server's own /apis document from v0.2.0 (EnableDiscovery,
//     set in New); /apis/<group>/<version> lists the subresources in every release.

// servedVersion is one version of the subresource group and the types it answers in.
type servedVersion struct {
	gv      schema.GroupVersion
	version version
}

// servedVersions are the subresource versions release rel serves, preferred first.
func servedVersions(rel release.Release) []servedVersion {
	out := []servedVersion{{subresourcesv1alpha1.GroupVersion, v1alpha1Version}}
	if rel.Has(release.ServesV1beta1) {
		out = append(out, servedVersion{subresourcesv1beta1.GroupVersion, v1beta1Version})
	}
	return out
}

// templateGroupVersion is the version of template.kubevirt.io the server reads templates in.
func templateGroupVersion(rel release.Release) schema.GroupVersion {
	if rel.Has(release.ServesV1beta1) {
		return v1beta1.GroupVersion
	}
	return v1alpha1.GroupVersion
}
