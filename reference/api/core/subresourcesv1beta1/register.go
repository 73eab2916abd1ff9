package subresourcesv1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
)

var (
	// GroupVersion is subresources.template.kubevirt.io/v1beta1.
	GroupVersion = schema.GroupVersion{Group: core.SubresourceGroupName, Version: "v1beta1"}
	// SchemeGroupVersion is GroupVersion under the name generated clients expect.
	SchemeGroupVersion = GroupVersion

	// SchemeBuilder registers this version's kinds.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds this version's kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion,
		&VirtualMachineTemplate{}, &ProcessOptions{}, &ProcessedVirtualMachineTemplate{},
	)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
