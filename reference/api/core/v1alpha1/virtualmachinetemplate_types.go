package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// VirtualMachineTemplateSpec is the template proper: a VirtualMachine with parameter
// references, the parameters, and a message for the user.
type VirtualMachineTemplateSpec struct {
	// VirtualMachine is the VirtualMachine to render. It may reference parameters as ${NAME}
	// anywhere in a string (keys included) and as ${{NAME}} for a whole non-string value.
	// A literal metadata.namespace is dropped when the template is processed; a namespace
	// that references a parameter is kept and resolved.
	//
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Required
	// +required
	VirtualMachine *runtime.RawExtension `json:"virtualMachine"`

	// Parameters are substituted into the VirtualMachine and the message when the template
	// is processed.
	//
	// +kubebuilder:validation:Optional
	// +optional
	Parameters []Parameter `json:"parameters,omitempty"`

	// Message tells the user what to do with the rendered VirtualMachine. Parameters are
	// substituted into it as well.
	//
	// +kubebuilder:validation:Optional
	// +optional
	Message string `json:"message,omitempty"`
}

// Parameter is one named value substituted into a template.
type Parameter struct {
	// Name identifies the parameter; references use ${Name} or ${{Name}}. Only names made
	// of letters, digits and underscores can be referenced.
	//
	// +kubebuilder:validation:Required
	// +required
	Name string `json:"name"`

	// DisplayName is a human-friendly label for user interfaces.
	//
	// +kubebuilder:validation:Optional
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// Description explains the parameter.
	//
	// +kubebuilder:validation:Optional
	// +optional
	Description string `json:"description,omitempty"`

	// Value is the value to substitute. When it is non-empty, Generate is not used.
	//
	// +kubebuilder:validation:Optional
	// +optional
	Value string `json:"value,omitempty"`

	// Generate names the generator that fills an empty Value from From. The only generator
	// is "expression": every "[ranges]{length}" group in From is replaced by length (1-255)
	// random characters drawn from the ranges; other text is kept. A range is a span such as
	// a-z over the ordered alphabet a-z, A-Z, 0-9, a literal letter or digit, or a class:
	// \w (letters, digits, underscore), \d (digits), \a (letters and digits) or \A (ASCII
	// punctuation). Example: "vm-[a-z0-9]{5}" gives "vm-k3x9a".
	//
	// +kubebuilder:validation:Enum=expression
	// +kubebuilder:validation:Optional
	// +optional
	Generate string `json:"generate,omitempty"`

	// From is the input of the generator.
	//
	// +kubebuilder:validation:Pattern=`\[([a-zA-Z0-9\-\\]+)\](\{(\w+)\})`
	// +kubebuilder:validation:Optional
	// +optional
	From string `json:"from,omitempty"`

	// Required makes processing fail when the parameter has no value after merging the
	// caller's values and running the generator.
	//
	// +kubebuilder:validation:Optional
	// +optional
	Required bool `json:"required,omitempty"`
}

// VirtualMachineTemplateStatus is what the controller observed about a template.
type VirtualMachineTemplateStatus struct {
	// Conditions of the template. The only type is "Ready": the template can be processed.
	//
	// +kubebuilder:validation:Optional
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// VirtualMachineTemplate is a parameterised VirtualMachine that users process into a VM.
//
// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:resource:shortName=vmt;vmts
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:deprecatedversion
type VirtualMachineTemplate struct {
	metav1.TypeMeta `json:",inline"`

	// +kubebuilder:validation:Optional
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty,omitzero"`

	// Spec is the template.
	//
	// +kubebuilder:validation:Required
	// +required
	Spec VirtualMachineTemplateSpec `json:"spec"`

	// Status is set by the controller.
	//
	// +kubebuilder:validation:Optional
	// +optional
	Status VirtualMachineTemplateStatus `json:"status,omitempty,omitzero"`
}

// VirtualMachineTemplateList is a list of VirtualMachineTemplates.
//
// +kubebuilder:object:root=true
type VirtualMachineTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty,omitzero"`
	Items           []VirtualMachineTemplate `json:"items"`
}
