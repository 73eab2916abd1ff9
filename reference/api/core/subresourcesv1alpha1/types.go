package subresourcesv1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// VirtualMachineTemplate exists only because k8s.io/apiserver cannot serve a subresource
// without storage for its parent; it has no verbs and is hidden from discovery.
//
// +kubebuilder:object:root=true
type VirtualMachineTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty,omitzero"`
}

// ProcessOptions is the body of a /process or /create request.
//
// +kubebuilder:object:root=true
type ProcessOptions struct {
	metav1.TypeMeta `json:",inline"`
	// Metadata is accepted and ignored.
	metav1.ObjectMeta `json:"metadata,omitempty,omitzero"`

	// Parameters override the values of the template's parameters by name. A name the
	// template does not declare makes the request fail with 409 Conflict.
	//
	// +optional
	Parameters map[string]string `json:"parameters,omitempty"`
}

// ProcessedVirtualMachineTemplate is the answer of /process (the rendered VirtualMachine)
// and of /create (the VirtualMachine as created).
//
// +kubebuilder:object:root=true
type ProcessedVirtualMachineTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty,omitzero"`

	// TemplateRef is the namespace and name of the processed template.
	//
	// +optional
	TemplateRef *corev1.ObjectReference `json:"templateRef,omitempty,omitzero"`

	// VirtualMachine is the result.
	VirtualMachine *kubevirtv1.VirtualMachine `json:"virtualMachine"`

	// Message is the template's message with parameters substituted.
	//
	// +optional
	Message string `json:"message,omitempty"`
}
