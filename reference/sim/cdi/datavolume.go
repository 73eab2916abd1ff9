package cdi

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/vmt-conformance/vmt-conformance/reference/sim/kit"
)

// Messages and reasons of CDI's DataVolume controller (pkg/controller/datavolume).
const (
	reasonCloneWithoutSource  = "CloneWithoutSource"
	messageCloneWithoutSource = "The source %s %s doesn't exist"
	reasonBound               = "Bound"
	reasonPending             = "Pending"
	reasonCompleted           = "Completed"
	reasonTransferRunning     = "TransferRunning"
	reasonError               = "Error"
	messageFaultFailed        = "fault fail-vm-data-volumes: the import failed on purpose (VMT_REFERENCE_FAULTS)"
	progressDone              = cdiv1beta1.DataVolumeProgress("100.0%")
	progressNone              = cdiv1beta1.DataVolumeProgress("N/A")
	defaultSize               = "1Gi"
)

var volumeSnapshotGVK = metav1.GroupVersionKind{Group: "snapshot.storage.k8s.io", Version: "v1", Kind: "VolumeSnapshot"}

func newVolumeSnapshot() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("snapshot.storage.k8s.io/v1")
	u.SetKind(volumeSnapshotGVK.Kind)
	return u
}

type dataVolumes struct {
	c             client.Client
	faultFailVMDV bool // Options.FaultFailVMDataVolumes
}

func setupDataVolumes(mgr ctrl.Manager, faultFailVMDataVolumes bool) error {
	r := &dataVolumes{c: mgr.GetClient(), faultFailVMDV: faultFailVMDataVolumes}
	// A clone waiting for its source, and a DataVolume whose claim binds, look again when a
	// claim, snapshot or DataSource appears or changes.
	pending := kit.EnqueueListed(r.c, func() client.ObjectList { return &cdiv1beta1.DataVolumeList{} }, false, func(o client.Object) bool {
		return o.(*cdiv1beta1.DataVolume).Status.Phase != cdiv1beta1.Succeeded
	})
	return ctrl.NewControllerManagedBy(mgr).Named("cdi-datavolume").
		For(&cdiv1beta1.DataVolume{}).
		Watches(&corev1.PersistentVolumeClaim{}, pending).
		Watches(&cdiv1beta1.DataSource{}, pending).
		Watches(newVolumeSnapshot(), pending).
		Complete(r)
}

// Reconcile moves a DataVolume one step: source check, claim, claim bound, transfer, done.
func (r *dataVolumes) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	dv := &cdiv1beta1.DataVolume{}
	if err := r.c.Get(ctx, req.NamespacedName, dv); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	// Succeeded and Failed are final: CDI does not move a DataVolume out of them.
	if dv.DeletionTimestamp != nil || dv.Status.Phase == cdiv1beta1.Succeeded || dv.Status.Phase == cdiv1beta1.Failed {
		return reconcile.Result{}, nil
	}
	orig := dv.Status.DeepCopy()
	if r.faultFailVMDV {
		if owner := metav1.GetControllerOf(dv); owner != nil && owner.Kind == "VirtualMachine" {
			// As CDI reports an importer pod that failed (import-controller.go updateStatusPhase).
			dv.Status.Phase, dv.Status.Progress = cdiv1beta1.Failed, progressNone
			setCondition(dv, cdiv1beta1.DataVolumeReady, corev1.ConditionFalse, "", "")
			setCondition(dv, cdiv1beta1.DataVolumeRunning, corev1.ConditionFalse, messageFaultFailed, reasonError)
			return reconcile.Result{}, r.writeStatus(ctx, dv, orig)
		}
	}
	src, size, missing, err := r.source(ctx, dv)
	if err != nil {
		return reconcile.Result{}, err
	}
	scheduled, inProgress := cdiv1beta1.ImportScheduled, cdiv1beta1.ImportInProgress
	if src.Kind != kit.SourceNone {
		scheduled, inProgress = cdiv1beta1.CloneScheduled, cdiv1beta1.CloneInProgress
	}
	if dv.Spec.Source != nil && dv.Spec.Source.Upload != nil {
		scheduled, inProgress = cdiv1beta1.UploadScheduled, cdiv1beta1.UploadReady
	}

	pvc := &corev1.PersistentVolumeClaim{}
	err = r.c.Get(ctx, req.NamespacedName, pvc)
	switch {
	case apierrors.IsNotFound(err) && missing != "":
		// CDI accepts a clone whose source does not exist yet and waits for it.
		if dv.Status.Phase == "" {
			dv.Status.Phase = cdiv1beta1.Pending
		}
		dv.Status.Progress = progressNone
		setCondition(dv, cdiv1beta1.DataVolumeBound, corev1.ConditionFalse, missing, reasonCloneWithoutSource)
		setCondition(dv, cdiv1beta1.DataVolumeReady, corev1.ConditionFalse, missing, reasonCloneWithoutSource)
		setCondition(dv, cdiv1beta1.DataVolumeRunning, corev1.ConditionFalse, "", "")
		return reconcile.Result{}, r.writeStatus(ctx, dv, orig)
	case apierrors.IsNotFound(err):
		pvc, err = r.createClaim(ctx, dv, size)
		if err != nil {
			return reconcile.Result{}, err
		}
	case err != nil:
		return reconcile.Result{}, err
	}
	dv.Status.ClaimName = pvc.Name
	if pvc.Status.Phase != corev1.ClaimBound {
		dv.Status.Phase, dv.Status.Progress = scheduled, progressNone
		setCondition(dv, cdiv1beta1.DataVolumeBound, corev1.ConditionFalse, fmt.Sprintf("PVC %s Pending", pvc.Name), reasonPending)
		setCondition(dv, cdiv1beta1.DataVolumeReady, corev1.ConditionFalse, "", "")
		setCondition(dv, cdiv1beta1.DataVolumeRunning, corev1.ConditionFalse, "", "")
		return reconcile.Result{}, r.writeStatus(ctx, dv, orig)
	}
	setCondition(dv, cdiv1beta1.DataVolumeBound, corev1.ConditionTrue, fmt.Sprintf("PVC %s Bound", pvc.Name), reasonBound)
	switch dv.Status.Phase {
	case "", cdiv1beta1.Pending, scheduled:
		if scheduled == cdiv1beta1.UploadScheduled {
			dv.Status.Phase = cdiv1beta1.UploadReady
			setCondition(dv, cdiv1beta1.DataVolumeReady, corev1.ConditionFalse, "", "")
			setCondition(dv, cdiv1beta1.DataVolumeRunning, corev1.ConditionTrue, "", "Pod is running")
			break
		}
		dv.Status.Phase, dv.Status.Progress = inProgress, "0.00%"
		setCondition(dv, cdiv1beta1.DataVolumeReady, corev1.ConditionFalse, "", reasonTransferRunning)
		setCondition(dv, cdiv1beta1.DataVolumeRunning, corev1.ConditionTrue, "", "")
	case inProgress:
		if inProgress == cdiv1beta1.UploadReady {
			break // nothing uploads here
		}
		dv.Status.Phase, dv.Status.Progress = cdiv1beta1.Succeeded, progressDone
		setCondition(dv, cdiv1beta1.DataVolumeReady, corev1.ConditionTrue, "", "")
		setCondition(dv, cdiv1beta1.DataVolumeRunning, corev1.ConditionFalse, "", reasonCompleted)
	}
	return reconcile.Result{}, r.writeStatus(ctx, dv, orig)
}

func (r *dataVolumes) writeStatus(ctx context.Context, dv *cdiv1beta1.DataVolume, orig *cdiv1beta1.DataVolumeStatus) error {
	if equality.Semantic.DeepEqual(orig, &dv.Status) {
		return nil
	}
	return r.c.Status().Update(ctx, dv)
}

// source resolves the clone source; missing is CDI's message when it does not exist (or, for
// a snapshot, is not ready yet), size the source's size when the DataVolume gives none.
func (r *dataVolumes) source(ctx context.Context, dv *cdiv1beta1.DataVolume) (src kit.CloneSource, size *resource.Quantity, missing string, err error) {
	src, err = kit.ResolveCloneSource(ctx, r.c, dv)
	if apierrors.IsNotFound(err) && dv.Spec.SourceRef != nil {
		return src, nil, fmt.Sprintf("DataSource %s not found", dv.Spec.SourceRef.Name), nil
	}
	if err != nil {
		return src, nil, "", err
	}
	key := types.NamespacedName{Namespace: src.Namespace, Name: src.Name}
	switch src.Kind {
	case kit.SourcePVC:
		pvc := &corev1.PersistentVolumeClaim{}
		if err := r.c.Get(ctx, key, pvc); apierrors.IsNotFound(err) {
			return src, nil, fmt.Sprintf(messageCloneWithoutSource, "pvc", src.Name), nil
		} else if err != nil {
			return src, nil, "", err
		}
		if q, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
			size = &q
		}
	case kit.SourceSnapshot:
		vs := newVolumeSnapshot()
		if err := r.c.Get(ctx, key, vs); apierrors.IsNotFound(err) {
			return src, nil, fmt.Sprintf(messageCloneWithoutSource, "snapshot", src.Name), nil
		} else if err != nil {
			return src, nil, "", err
		}
		if ready, _, _ := unstructured.NestedBool(vs.Object, "status", "readyToUse"); !ready {
			return src, nil, fmt.Sprintf(messageCloneWithoutSource, "snapshot", src.Name), nil
		}
		if s, ok, _ := unstructured.NestedString(vs.Object, "status", "restoreSize"); ok {
			if q, err := resource.ParseQuantity(s); err == nil {
				size = &q
			}
		}
	}
	return src, size, "", nil
}

// createClaim makes the DataVolume's claim, named as the DataVolume and owned by it, from
// spec.pvc or from spec.storage with CDI's defaults filled in (the storage class, ReadWriteOnce,
// the source's size).
func (r *dataVolumes) createClaim(ctx context.Context, dv *cdiv1beta1.DataVolume, sourceSize *resource.Quantity) (*corev1.PersistentVolumeClaim, error) {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{
		Name: dv.Name, Namespace: dv.Namespace,
		Labels:      map[string]string{"app": "containerized-data-importer", "app.kubernetes.io/component": "storage"},
		Annotations: map[string]string{"cdi.kubevirt.io/createdForDataVolume": string(dv.UID)},
	}}
	switch {
	case dv.Spec.PVC != nil:
		pvc.Spec = *dv.Spec.PVC.DeepCopy()
	case dv.Spec.Storage != nil:
		s := dv.Spec.Storage
		pvc.Spec = corev1.PersistentVolumeClaimSpec{
			AccessModes: s.AccessModes, Selector: s.Selector, Resources: *s.Resources.DeepCopy(),
			VolumeName: s.VolumeName, StorageClassName: s.StorageClassName, VolumeMode: s.VolumeMode,
			DataSource: s.DataSource, DataSourceRef: s.DataSourceRef,
		}
	}
	if len(pvc.Spec.AccessModes) == 0 {
		pvc.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	if pvc.Spec.VolumeMode == nil {
		fs := corev1.PersistentVolumeFilesystem
		pvc.Spec.VolumeMode = &fs
	}
	if _, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		q := resource.MustParse(defaultSize)
		if sourceSize != nil {
			q = *sourceSize
		}
		if pvc.Spec.Resources.Requests == nil {
			pvc.Spec.Resources.Requests = corev1.ResourceList{}
		}
		pvc.Spec.Resources.Requests[corev1.ResourceStorage] = q
	}
	if err := controllerutil.SetControllerReference(dv, pvc, r.c.Scheme()); err != nil {
		return nil, err
	}
	if err := r.c.Create(ctx, pvc); err != nil {
		return nil, fmt.Errorf("creating the claim of DataVolume %s/%s: %w", dv.Namespace, dv.Name, err)
	}
	return pvc, nil
}

// setCondition is CDI's updateCondition: times move only when the status changes.
func setCondition(dv *cdiv1beta1.DataVolume, t cdiv1beta1.DataVolumeConditionType, status corev1.ConditionStatus, message, reason string) {
	now := metav1.Now()
	for i := range dv.Status.Conditions {
		c := &dv.Status.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime, c.LastHeartbeatTime = now, now
		}
		c.Status, c.Message, c.Reason = status, message, reason
		return
	}
	dv.Status.Conditions = append(dv.Status.Conditions, cdiv1beta1.DataVolumeCondition{
		Type: t, Status: status, Message: message, Reason: reason, LastTransitionTime: now, LastHeartbeatTime: now,
	})
}
