package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
)

var (
	// GroupVersion is template.kubevirt.io/v1beta1.
	GroupVersion = schema.GroupVersion{Group: core.GroupName, Version: "v1beta1"}
	// SchemeGroupVersion is GroupVersion under the name generated clients expect.
	SchemeGroupVersion = GroupVersion

	// SchemeBuilder registers this version's kinds.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds this version's kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Resource returns the group-qualified resource of this group.
func Resource(resource string) schema.GroupResource {
	return GroupVersion.WithResource(resource).GroupResource()
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion,
		&VirtualMachineTemplate{}, &VirtualMachineTemplateList{},
		&VirtualMachineTemplateRequest{}, &VirtualMachineTemplateRequestList{},
	)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
