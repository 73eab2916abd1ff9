package controller

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// setReady sets the request's Ready condition; the message is formatted like fmt.Sprintf.
func setReady(req *v1beta1.VirtualMachineTemplateRequest, status metav1.ConditionStatus, reason, format string, args ...any) {
	meta.SetStatusCondition(&req.Status.Conditions, metav1.Condition{
		Type:               v1beta1.ConditionReady,
		Status:             status,
		ObservedGeneration: req.Generation,
		Reason:             reason,
		Message:            fmt.Sprintf(format, args...),
	})
}

// setProgressing sets the request's Progressing condition. Its message is always empty, as
// upstream's.
func setProgressing(req *v1beta1.VirtualMachineTemplateRequest, status metav1.ConditionStatus, reason string) {
	meta.SetStatusCondition(&req.Status.Conditions, metav1.Condition{
		Type:               v1beta1.ConditionProgressing,
		Status:             status,
		ObservedGeneration: req.Generation,
		Reason:             reason,
	})
}

// failPermanently marks the request as finished without success: Progressing=False with
// reason (Failed or InvalidConfiguration). Ready is set from the returned error by
// settleConditions, or by the caller.
func failPermanently(req *v1beta1.VirtualMachineTemplateRequest, reason string) {
	setProgressing(req, metav1.ConditionFalse, reason)
}

// reconcilable reports whether the request still has work to do: Progressing is absent or
// not False. A finished request, successful or not, is never reconciled again (its spec is
// immutable); only its TTL is handled.
func reconcilable(req *v1beta1.VirtualMachineTemplateRequest) bool {
	p := meta.FindStatusCondition(req.Status.Conditions, v1beta1.ConditionProgressing)
	return p == nil || p.Status != metav1.ConditionFalse
}

// settleConditions is upstream's bookkeeping at the end of every reconcile of a request that
// was still progressing. With an error: Ready=False/Failed carrying the error text, and
// Progressing=True/Reconciling unless a step already set it (a permanent failure). Without:
// Ready=False/Reconciling if Ready was never set, and Progressing (unless set by a step)
// False/Reconciled when Ready is True, else True/Reconciling.
func settleConditions(req *v1beta1.VirtualMachineTemplateRequest, err error) {
	progressingSet := meta.FindStatusCondition(req.Status.Conditions, v1beta1.ConditionProgressing) != nil
	if err != nil {
		setReady(req, metav1.ConditionFalse, v1beta1.ReasonFailed, "%s", err.Error())
		if !progressingSet {
			setProgressing(req, metav1.ConditionTrue, v1beta1.ReasonReconciling)
		}
		return
	}
	status, reason := metav1.ConditionTrue, v1beta1.ReasonReconciling
	switch ready := meta.FindStatusCondition(req.Status.Conditions, v1beta1.ConditionReady); {
	case ready == nil:
		setReady(req, metav1.ConditionFalse, v1beta1.ReasonReconciling, "")
	case ready.Status == metav1.ConditionTrue:
		status, reason = metav1.ConditionFalse, v1beta1.ReasonReconciled
	}
	if !progressingSet {
		setProgressing(req, status, reason)
	}
}
