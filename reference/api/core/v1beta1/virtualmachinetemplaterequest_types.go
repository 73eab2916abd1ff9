package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VirtualMachineTemplateRequestSpec asks for a template to be made from an existing
// VirtualMachine. It cannot change once created.
//
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable"
type VirtualMachineTemplateRequestSpec struct {
	// VirtualMachineRef is the source VirtualMachine, possibly in another namespace.
	//
	// +kubebuilder:validation:Required
	// +required
	VirtualMachineRef VirtualMachineReference `json:"virtualMachineRef"`

	// TemplateName names the VirtualMachineTemplate to create in the request's namespace;
	// empty means the request's own name.
	//
	// +kubebuilder:validation:Optional
	// +optional
	TemplateName string `json:"templateName,omitempty"`

	// TemplateLabels are put on the created template. Keys under "template.kubevirt.io/"
	// belong to the system and are refused.
	//
	// +kubebuilder:validation:Optional
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('template.kubevirt.io/'))",message="labels with the prefix \"template.kubevirt.io/\" are reserved for system use"
	// +optional
	TemplateLabels map[string]string `json:"templateLabels,omitempty"`

	// TTLSecondsAfterFinished deletes a successfully finished request this many seconds
	// after it became Ready; 0 deletes it at once. Failed requests are kept. Unset keeps
	// every request.
	//
	// +kubebuilder:validation:Optional
	// +kubebuilder:validation:Minimum=0
	// +optional
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`
}

// VirtualMachineReference points at a kubevirt.io VirtualMachine. The Go tags keep
// omitempty, as upstream does, so an empty value is dropped on the wire and refused by the
// CRD schema as a missing field.
type VirtualMachineReference struct {
	// Namespace of the VirtualMachine.
	//
	// +kubebuilder:validation:Required
	// +required
	Namespace string `json:"namespace,omitempty"`

	// Name of the VirtualMachine.
	//
	// +kubebuilder:validation:Required
	// +required
	Name string `json:"name,omitempty"`
}

// VirtualMachineTemplateRequestStatus is what the controller observed about a request.
type VirtualMachineTemplateRequestStatus struct {
	// Conditions of the request: "Ready" (the template exists and is ready) and
	// "Progressing" (work remains; False once the request has finished or failed for good).
	//
	// +kubebuilder:validation:Optional
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// TemplateRef names the VirtualMachineTemplate the request created.
	//
	// +kubebuilder:validation:Optional
	// +optional
	TemplateRef *corev1.LocalObjectReference `json:"templateRef,omitempty"`
}

// VirtualMachineTemplateRequest turns an existing VirtualMachine into a
// VirtualMachineTemplate, cloning its disks.
//
// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="Template",type=string,JSONPath=`.status.templateRef.name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Progressing",type=string,JSONPath=`.status.conditions[?(@.type=="Progressing")].status`
// +kubebuilder:resource:shortName=vmtr;vmtrs
// +kubebuilder:subresource:status
type VirtualMachineTemplateRequest struct {
	metav1.TypeMeta `json:",inline"`

	// +kubebuilder:validation:Optional
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty,omitzero"`

	// Spec is the request.
	//
	// +kubebuilder:validation:Required
	// +required
	Spec VirtualMachineTemplateRequestSpec `json:"spec"`

	// Status is set by the controller.
	//
	// +kubebuilder:validation:Optional
	// +optional
	Status VirtualMachineTemplateRequestStatus `json:"status,omitempty,omitzero"`
}

// VirtualMachineTemplateRequestList is a list of VirtualMachineTemplateRequests.
//
// +kubebuilder:object:root=true
type VirtualMachineTemplateRequestList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualMachineTemplateRequest `json:"items"`
}
