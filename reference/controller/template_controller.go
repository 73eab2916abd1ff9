package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// TemplateReadyMessage is the message of every template's Ready condition.
const TemplateReadyMessage = "VirtualMachineTemplate is ready to be processed"

// templateReconciler marks every VirtualMachineTemplate Ready, as upstream does: readiness
// of volumes or data sources is not tracked (admission validation replaced that).
type templateReconciler struct {
	client client.Client
	// faultNeverReconcile is Options.FaultNeverReconcileTemplates.
	faultNeverReconcile bool
}

func (r *templateReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if r.faultNeverReconcile {
		return ctrl.Result{}, nil
	}
	tpl := &v1beta1.VirtualMachineTemplate{}
	if err := r.client.Get(ctx, req.NamespacedName, tpl); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	orig := tpl.DeepCopy()
	meta.SetStatusCondition(&tpl.Status.Conditions, metav1.Condition{
		Type:               v1beta1.ConditionReady,
		Status:             metav1.ConditionTrue,
		ObservedGeneration: tpl.Generation,
		Reason:             v1beta1.ReasonReconciled,
		Message:            TemplateReadyMessage,
	})
	if equality.Semantic.DeepEqual(orig.Status, tpl.Status) {
		return ctrl.Result{}, nil
	}
	if err := r.client.Status().Patch(ctx, tpl, client.MergeFrom(orig)); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("patching the status of VirtualMachineTemplate %s/%s: %w", tpl.Namespace, tpl.Name, err))
	}
	return ctrl.Result{}, nil
}

func (r *templateReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1beta1.VirtualMachineTemplate{}).
		Named(core.SingularResourceName).
		// Several managers may run in one process (tests); names only label metrics.
		WithOptions(crcontroller.Options{SkipNameValidation: ptr.To(true)}).
		Complete(r)
}
