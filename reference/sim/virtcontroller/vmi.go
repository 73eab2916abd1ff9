package virtcontroller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
	instancetypev1beta1 "kubevirt.io/api/instancetype/v1beta1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func instancetypeKinds() []client.Object {
	return []client.Object{
		&instancetypev1beta1.VirtualMachineInstancetype{}, &instancetypev1beta1.VirtualMachineClusterInstancetype{},
		&instancetypev1beta1.VirtualMachinePreference{}, &instancetypev1beta1.VirtualMachineClusterPreference{},
	}
}

// vmis moves a VMI one phase per reconcile, Pending → Scheduled → Running, so each phase is
// observable; at Running it is Ready. The VMI CRD has no status subresource, so the whole
// object is written.
type vmis struct{ c client.Client }

func setupVMIs(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).Named("virt-controller-vmi").
		For(&kubevirtv1.VirtualMachineInstance{}).
		Complete(&vmis{c: mgr.GetClient()})
}

func (r *vmis) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	vmi := &kubevirtv1.VirtualMachineInstance{}
	if err := r.c.Get(ctx, req.NamespacedName, vmi); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if vmi.DeletionTimestamp != nil {
		return reconcile.Result{}, nil
	}
	now := metav1.Now()
	st := &vmi.Status
	switch st.Phase {
	case "":
		// virt-controller provisions the backend storage before the launcher pod.
		if _, err := ensureBackendStorage(ctx, r.c, vmi); err != nil {
			return reconcile.Result{}, err
		}
		st.Phase = kubevirtv1.Pending
		st.PhaseTransitionTimestamps = append(st.PhaseTransitionTimestamps, kubevirtv1.VirtualMachineInstancePhaseTransitionTimestamp{Phase: kubevirtv1.Pending, PhaseTransitionTimestamp: now})
		// KubeVirt's condition while the launcher pod is not yet running.
		st.Conditions = []kubevirtv1.VirtualMachineInstanceCondition{{Type: kubevirtv1.VirtualMachineInstanceReady,
			Status: corev1.ConditionFalse, Reason: kubevirtv1.PodNotExistsReason, Message: "virt-launcher pod has not yet been scheduled", LastTransitionTime: now}}
	case kubevirtv1.Pending:
		st.Phase = kubevirtv1.Scheduled
		st.PhaseTransitionTimestamps = append(st.PhaseTransitionTimestamps, kubevirtv1.VirtualMachineInstancePhaseTransitionTimestamp{Phase: kubevirtv1.Scheduled, PhaseTransitionTimestamp: now})
		st.Conditions = []kubevirtv1.VirtualMachineInstanceCondition{{Type: kubevirtv1.VirtualMachineInstanceReady,
			Status: corev1.ConditionFalse, Reason: kubevirtv1.GuestNotRunningReason, Message: "Guest VM is not reported as running", LastTransitionTime: now}}
	case kubevirtv1.Scheduled:
		st.Phase = kubevirtv1.Running
		st.PhaseTransitionTimestamps = append(st.PhaseTransitionTimestamps, kubevirtv1.VirtualMachineInstancePhaseTransitionTimestamp{Phase: kubevirtv1.Running, PhaseTransitionTimestamp: now})
		st.Conditions = []kubevirtv1.VirtualMachineInstanceCondition{{Type: kubevirtv1.VirtualMachineInstanceReady,
			Status: corev1.ConditionTrue, LastTransitionTime: now}}
	default:
		return reconcile.Result{}, nil
	}
	return reconcile.Result{}, r.c.Update(ctx, vmi)
}
