package cdi

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// reclaimer plays the persistent-volume controller's reclaim step for the volumes the binder
// provisioned (reclaim policy Delete, as a CSI StorageClass's default): once the claim a volume
// is bound to is gone, the volume is Released and deleted, so a deleted namespace leaves no
// volume behind (kube-controller-manager's pv-protection controller lets it go once it is no
// longer Bound).
type reclaimer struct{ c client.Client }

func setupReclaimer(mgr ctrl.Manager) error {
	// A claim's deletion is what frees its volume: map it to the volume it was bound to.
	claimToVolume := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		pvc, ok := obj.(*corev1.PersistentVolumeClaim)
		if !ok || pvc.Spec.VolumeName == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: pvc.Spec.VolumeName}}}
	})
	return ctrl.NewControllerManagedBy(mgr).Named("cdi-reclaimer").
		For(&corev1.PersistentVolume{}).
		Watches(&corev1.PersistentVolumeClaim{}, claimToVolume).
		Complete(&reclaimer{c: mgr.GetClient()})
}

func (r *reclaimer) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pv := &corev1.PersistentVolume{}
	if err := r.c.Get(ctx, req.NamespacedName, pv); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if pv.DeletionTimestamp != nil || pv.Annotations["pv.kubernetes.io/provisioned-by"] != Provisioner ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.Spec.ClaimRef == nil {
		return reconcile.Result{}, nil
	}
	claim := &corev1.PersistentVolumeClaim{}
	err := r.c.Get(ctx, client.ObjectKey{Namespace: pv.Spec.ClaimRef.Namespace, Name: pv.Spec.ClaimRef.Name}, claim)
	switch {
	case err == nil && claim.UID == pv.Spec.ClaimRef.UID:
		return reconcile.Result{}, nil // still claimed
	case err != nil && !apierrors.IsNotFound(err):
		return reconcile.Result{}, err
	}
	if pv.Status.Phase != corev1.VolumeReleased {
		pv.Status.Phase = corev1.VolumeReleased
		if err := r.c.Status().Update(ctx, pv); err != nil {
			return reconcile.Result{}, fmt.Errorf("releasing volume %s: %w", pv.Name, err)
		}
	}
	if err := r.c.Delete(ctx, pv); err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, fmt.Errorf("deleting released volume %s: %w", pv.Name, err)
	}
	return reconcile.Result{}, nil
}
