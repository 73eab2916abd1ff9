// Package v1beta1 is version v1beta1 of the template.kubevirt.io API: VirtualMachineTemplate
// and VirtualMachineTemplateRequest. Its schema is identical to v1alpha1; v1alpha1 stays the
// storage version, as in upstream kubevirt/virt-template v0.2.x.
//
// +kubebuilder:object:generate=true
// +groupName=template.kubevirt.io
package v1beta1
