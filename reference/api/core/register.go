// Package core holds the names shared by every version of the VirtualMachineTemplate APIs:
// the CRD group served by kube-apiserver and the subresource group served by the aggregated
// API server, plus the resource names used in both. The values are those of upstream
// kubevirt/virt-template (api/core), so objects and URLs are interchangeable with it.
package core

const (
	// GroupName is the group of the VirtualMachineTemplate and VirtualMachineTemplateRequest CRDs.
	GroupName = "template.kubevirt.io"
	// SubresourceGroupName is the group of the aggregated API that serves the /process and
	// /create subresources of templates.
	SubresourceGroupName = "subresources.template.kubevirt.io"

	// SingularResourceName and PluralResourceName name the template resource in both groups.
	SingularResourceName = "virtualmachinetemplate"
	PluralResourceName   = SingularResourceName + "s"
	// SingularRequestResourceName and PluralRequestResourceName name the request resource.
	SingularRequestResourceName = "virtualmachinetemplaterequest"
	PluralRequestResourceName   = SingularRequestResourceName + "s"

	// ProcessSubresource and CreateSubresource are the two subresources of the aggregated API.
	ProcessSubresource = "process"
	CreateSubresource  = "create"
)
