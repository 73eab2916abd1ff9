package cdi

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// binder plays the CSI provisioner and the persistent-volume controller for the role's
// storage class: every claim of it gets a PersistentVolume and both become Bound.
type binder struct{ c client.Client }

func setupBinder(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).Named("cdi-binder").
		For(&corev1.PersistentVolumeClaim{}).
		Complete(&binder{c: mgr.GetClient()})
}

func (b *binder) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pvc := &corev1.PersistentVolumeClaim{}
	if err := b.c.Get(ctx, req.NamespacedName, pvc); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if pvc.DeletionTimestamp != nil || pvc.Status.Phase == corev1.ClaimBound ||
		pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != StorageClassName {
		return reconcile.Result{}, nil
	}
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	pvName := "pvc-" + string(pvc.UID)
	if pvc.Spec.VolumeName != "" {
		pvName = pvc.Spec.VolumeName
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName, Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": Provisioner}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   pvc.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              StorageClassName,
			VolumeMode:                    pvc.Spec.VolumeMode,
			ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: Provisioner, VolumeHandle: string(pvc.UID)}},
		},
	}
	if err := b.c.Create(ctx, pv); err != nil && !apierrors.IsAlreadyExists(err) {
		return reconcile.Result{}, fmt.Errorf("provisioning a volume for %s/%s: %w", pvc.Namespace, pvc.Name, err)
	}
	if err := b.c.Get(ctx, client.ObjectKey{Name: pvName}, pv); err != nil {
		return reconcile.Result{}, err
	}
	if pv.Status.Phase != corev1.VolumeBound {
		pv.Status.Phase = corev1.VolumeBound
		if err := b.c.Status().Update(ctx, pv); err != nil {
			return reconcile.Result{}, err
		}
	}
	if pvc.Spec.VolumeName == "" {
		pvc.Spec.VolumeName = pvName
		if pvc.Annotations == nil {
			pvc.Annotations = map[string]string{}
		}
		pvc.Annotations["pv.kubernetes.io/bind-completed"] = "yes"
		pvc.Annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
		pvc.Annotations["volume.kubernetes.io/storage-provisioner"] = Provisioner
		if err := b.c.Update(ctx, pvc); err != nil {
			return reconcile.Result{}, err
		}
	}
	pvc.Status.Phase = corev1.ClaimBound
	pvc.Status.AccessModes = pvc.Spec.AccessModes
	pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: size}
	return reconcile.Result{}, b.c.Status().Update(ctx, pvc)
}
