package controller

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	virtv1 "kubevirt.io/api/core/v1"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/emulation"
)

// The controller plays one virt-template release (Options.Release, --emulate-release),
// asking the behaviour table of framework/release only:
//   - ServesV1beta1: the controller's logic works on the v1beta1 Go types; a release before
//     v0.2.0 serves template.kubevirt.io/v1alpha1 only, so its scheme (NewSchemeFor) maps
//     those same Go types to v1alpha1 (the schemas are field for field the same);
//   - AdmissionCoversV1beta1: the v1beta1 webhook only from v0.2.0;
//   - RequestControllerWaitsForAPIs: the availability gate only from v0.2.1;
//   - RequestTTL, RequestTemplateLabels, CapturedNameGenerated, StripsMACSerialUUID,
//     SkipsPersistentState: see requestReconciler and transform.go.

// templateGroupVersion is the version of template.kubevirt.io the controller reads and
// writes in release rel: v1beta1 where served, else v1alpha1.
func templateGroupVersion(rel release.Release) schema.GroupVersion {
	if rel.Has(release.ServesV1beta1) {
		return v1beta1.GroupVersion
	}
	return v1alpha1.GroupVersion
}

// NewSchemeFor is NewScheme for release v: before v0.2.0 the v1beta1 Go types are
// template.kubevirt.io/v1alpha1 kinds and the v1alpha1 Go types are not registered.
func NewSchemeFor(v release.Version) *runtime.Scheme {
	rel := release.For(v)
	if rel.Has(release.ServesV1beta1) {
		return NewScheme()
	}
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(virtv1.AddToScheme(s))
	utilruntime.Must(snapshotv1beta1.AddToScheme(s))
	utilruntime.Must(cdiv1beta1.AddToScheme(s))
	gv := templateGroupVersion(rel)
	s.AddKnownTypes(gv,
		&v1beta1.VirtualMachineTemplate{}, &v1beta1.VirtualMachineTemplateList{},
		&v1beta1.VirtualMachineTemplateRequest{}, &v1beta1.VirtualMachineTemplateRequestList{},
	)
	metav1.AddToGroupVersion(s, gv)
	return s
}

// checkScheme fails Setup when the manager's scheme is not that of the release (a manager
// built from ManagerOptions for another release would read and write the wrong version).
func checkScheme(s *runtime.Scheme, rel release.Release) error {
	gvk, err := apiutil.GVKForObject(&v1beta1.VirtualMachineTemplate{}, s)
	if err != nil {
		return fmt.Errorf("controller.Setup: the manager's scheme: %w", err)
	}
	if want := templateGroupVersion(rel); gvk.GroupVersion() != want {
		return fmt.Errorf("controller.Setup: the manager's scheme maps templates to %s, virt-template %s serves %s (build the manager with ManagerOptionsFor the same release)",
			gvk.GroupVersion(), rel.Version(), want)
	}
	return nil
}

// resolveRelease is Options.Release, or emulation.Default when nil; too old is an error.
func resolveRelease(v *release.Version) (release.Release, error) {
	r := emulation.Resolve(v)
	if err := emulation.Check(r); err != nil {
		return release.Release{}, fmt.Errorf("controller.Setup: %w", err)
	}
	return release.For(r), nil
}
