package v1alpha1

import "github.com/vmt-conformance/vmt-conformance/reference/api/core"

const (
	// FinalizerSnapshotCleanup keeps a VirtualMachineTemplateRequest until its
	// VirtualMachineSnapshot is gone.
	FinalizerSnapshotCleanup = core.GroupName + "/SnapshotCleanup"
	// LabelRequestUID marks every object a VirtualMachineTemplateRequest creates (snapshot,
	// DataVolumes, template) with the request's UID.
	LabelRequestUID = core.GroupName + "/RequestUID"
	// AnnotationVersion is put on every shipped manifest with the release version.
	AnnotationVersion = core.GroupName + "/virt-template-version"

	// ConditionReady and ConditionProgressing are the only condition types used.
	ConditionReady       = "Ready"
	ConditionProgressing = "Progressing"

	// Reasons carried by the conditions.
	ReasonReconciled           = "Reconciled"
	ReasonReconciling          = "Reconciling"
	ReasonInvalidConfiguration = "InvalidConfiguration"
	ReasonFailed               = "Failed"
	ReasonWaiting              = "Waiting"
)
