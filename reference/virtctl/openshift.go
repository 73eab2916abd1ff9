package virtctl

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// openShiftTemplate is the part of template.openshift.io/v1 Template that `convert` reads.
// The fields and JSON names are those of github.com/openshift/api template/v1; declaring
// them here keeps the OpenShift API module out of the build.
type openShiftTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Message is shown to the user after instantiation.
	Message string `json:"message,omitempty"`
	// Objects are the templated objects; convert requires exactly one.
	Objects []runtime.RawExtension `json:"objects"`
	// Parameters of the template.
	Parameters []openShiftParameter `json:"parameters,omitempty"`
	// ObjectLabels (`labels` on the wire) are applied to the objects at instantiation.
	// Upstream's convert does not carry them over; neither does this one.
	ObjectLabels map[string]string `json:"labels,omitempty"`
}

type openShiftParameter struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	Value       string `json:"value,omitempty"`
	Generate    string `json:"generate,omitempty"`
	From        string `json:"from,omitempty"`
	Required    bool   `json:"required,omitempty"`
}
