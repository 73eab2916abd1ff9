package cdi

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/vmt-conformance/vmt-conformance/reference/sim/kit"
)

// Reasons and messages of CDI's DataSource controller (pkg/controller/datasource-controller.go).
const (
	dsReasonReady    = "Ready"
	dsReasonNoSource = "NoSource"
	dsReasonNotFound = "NotFound"
	dsMessageReady   = "DataSource is ready to be consumed"
)

type dataSources struct{ c client.Client }

func setupDataSources(mgr ctrl.Manager) error {
	r := &dataSources{c: mgr.GetClient()}
	// A source appearing, changing or going away re-evaluates the DataSources of its namespace.
	sameNamespace := kit.EnqueueListed(r.c, func() client.ObjectList { return &cdiv1beta1.DataSourceList{} }, true, nil)
	return ctrl.NewControllerManagedBy(mgr).Named("cdi-datasource").
		For(&cdiv1beta1.DataSource{}).
		Watches(&corev1.PersistentVolumeClaim{}, sameNamespace).
		Watches(&cdiv1beta1.DataVolume{}, sameNamespace).
		Watches(newVolumeSnapshot(), sameNamespace).
		Complete(r)
}

func (r *dataSources) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	ds := &cdiv1beta1.DataSource{}
	if err := r.c.Get(ctx, req.NamespacedName, ds); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	orig := ds.Status.DeepCopy()
	status, message, reason, err := r.readiness(ctx, ds)
	if err != nil {
		return reconcile.Result{}, err
	}
	ds.Status.Source = ds.Spec.Source
	setDataSourceCondition(ds, status, message, reason)
	if equality.Semantic.DeepEqual(orig, &ds.Status) {
		return reconcile.Result{}, nil
	}
	// The DataSource CRD has no status subresource: the whole object is written.
	return reconcile.Result{}, r.c.Update(ctx, ds)
}

func (r *dataSources) readiness(ctx context.Context, ds *cdiv1beta1.DataSource) (corev1.ConditionStatus, string, string, error) {
	src := ds.Spec.Source
	switch {
	case src.PVC != nil:
		key := types.NamespacedName{Namespace: orNamespace(src.PVC.Namespace, ds.Namespace), Name: src.PVC.Name}
		dv := &cdiv1beta1.DataVolume{}
		err := r.c.Get(ctx, key, dv)
		if err == nil && dv.Status.Phase != cdiv1beta1.Succeeded {
			return corev1.ConditionFalse, fmt.Sprintf("Import DataVolume phase %s", dv.Status.Phase), string(dv.Status.Phase), nil
		} else if err != nil && !apierrors.IsNotFound(err) {
			return "", "", "", err
		}
		if err := r.c.Get(ctx, key, &corev1.PersistentVolumeClaim{}); apierrors.IsNotFound(err) {
			return corev1.ConditionFalse, "PVC not found", dsReasonNotFound, nil
		} else if err != nil {
			return "", "", "", err
		}
		return corev1.ConditionTrue, dsMessageReady, dsReasonReady, nil
	case src.Snapshot != nil:
		vs := newVolumeSnapshot()
		key := types.NamespacedName{Namespace: orNamespace(src.Snapshot.Namespace, ds.Namespace), Name: src.Snapshot.Name}
		if err := r.c.Get(ctx, key, vs); apierrors.IsNotFound(err) {
			return corev1.ConditionFalse, "Snapshot not found", dsReasonNotFound, nil
		} else if err != nil {
			return "", "", "", err
		}
		if ready, _, _ := unstructured.NestedBool(vs.Object, "status", "readyToUse"); !ready {
			return corev1.ConditionFalse, "Snapshot phase is not ready", "SnapshotNotReady", nil
		}
		return corev1.ConditionTrue, dsMessageReady, dsReasonReady, nil
	}
	return corev1.ConditionFalse, "No source PVC set", dsReasonNoSource, nil
}

func orNamespace(ns, def string) string {
	if ns == "" {
		return def
	}
	return ns
}

func setDataSourceCondition(ds *cdiv1beta1.DataSource, status corev1.ConditionStatus, message, reason string) {
	now := metav1.Now()
	for i := range ds.Status.Conditions {
		c := &ds.Status.Conditions[i]
		if c.Type != cdiv1beta1.DataSourceReady {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = now
		}
		if c.Status != status || c.Message != message || c.Reason != reason {
			c.LastHeartbeatTime = now
		}
		c.Status, c.Message, c.Reason = status, message, reason
		return
	}
	ds.Status.Conditions = append(ds.Status.Conditions, cdiv1beta1.DataSourceCondition{
		Type:           cdiv1beta1.DataSourceReady,
		ConditionState: cdiv1beta1.ConditionState{Status: status, Message: message, Reason: reason, LastTransitionTime: now, LastHeartbeatTime: now},
	})
}
