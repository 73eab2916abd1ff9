// Package v1alpha1 is version v1alpha1 of the template.kubevirt.io API. It is deprecated but
// remains the storage version; its schema is identical to v1beta1 (including the request's
// templateLabels and ttlSecondsAfterFinished, so nothing is pruned while it is stored).
//
// +kubebuilder:object:generate=true
// +groupName=template.kubevirt.io
package v1alpha1
