// Package subresourcesv1beta1 is version v1beta1 of the subresources.template.kubevirt.io API served by the
// aggregated API server: the request body of /process and /create (ProcessOptions), their
// response (ProcessedVirtualMachineTemplate), and a verb-less parent resource.
//
// +kubebuilder:object:generate=true
// +groupName=subresources.template.kubevirt.io
package subresourcesv1beta1
