package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// uidIndex indexes requests by metadata.uid, so objects labelled with a RequestUID map back
// to their request.
const uidIndex = "metadata.uid"

// AnnotationImmediateBinding asks CDI to bind a DataVolume's PVC at once instead of waiting
// for a consumer; every cloned DataVolume carries it with an empty value.
const AnnotationImmediateBinding = "cdi.kubevirt.io/storage.bind.immediate.requested"

// snapshotErrorReasons are Progressing=False reasons of a VirtualMachineSnapshot that mean it
// will never become ready.
var snapshotErrorReasons = []string{"In error state", "Source does not exist"}

// requestReconciler turns a VirtualMachineTemplateRequest into a VirtualMachineTemplate
// (virt-template.md §6.3): snapshot the source VM, clone its volumes into DataVolumes next to
// the request, build the template from the expanded VM, hand the DataVolumes to the
// template, drop the snapshot.
type requestReconciler struct {
	client client.Client
	// apiReader reads around the cache: snapshot contents (never cached, as upstream) and
	// objects whose absence from a lagging cache would make the controller create them twice.
	apiReader      client.Reader
	scheme         *runtime.Scheme
	expander       Expander
	clock          clock.PassiveClock
	contentRequeue time.Duration
	// faultKeepMAC is Options.FaultKeepSourceMAC.
	faultKeepMAC bool
	// faultKeepSnap is Options.FaultKeepSnapshotOnDelete.
	faultKeepSnap bool
	// faultAdopt is Options.FaultAdoptForeignTemplate.
	faultAdopt bool
	// faultCopy is Options.FaultCopySourceSecrets.
	faultCopy bool
	// release is the virt-template release played (Options.Release).
	release release.Release
}

func (r *requestReconciler) Reconcile(ctx context.Context, key ctrl.Request) (_ ctrl.Result, retErr error) {
	req := &v1beta1.VirtualMachineTemplateRequest{}
	if err := r.client.Get(ctx, key.NamespacedName, req); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !req.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, req)
	}
	if err := r.addFinalizer(ctx, req); err != nil {
		return ctrl.Result{}, err
	}
	if !reconcilable(req) {
		return r.expire(ctx, req)
	}

	orig := req.DeepCopy()
	defer func() {
		settleConditions(req, retErr)
		if equality.Semantic.DeepEqual(orig.Status, req.Status) {
			return
		}
		if err := r.client.Status().Patch(ctx, req, client.MergeFrom(orig)); err != nil {
			retErr = errors.Join(retErr, fmt.Errorf("patching the status of VirtualMachineTemplateRequest %s/%s: %w", req.Namespace, req.Name, err))
		}
	}()

	// Every reconcile decides Progressing afresh: steps set it for waits and permanent
	// failures, settleConditions otherwise.
	meta.RemoveStatusCondition(&req.Status.Conditions, v1beta1.ConditionProgressing)

	if err := validateRequest(req); err != nil {
		setReady(req, metav1.ConditionFalse, v1beta1.ReasonInvalidConfiguration, "%s", err.Error())
		failPermanently(req, v1beta1.ReasonInvalidConfiguration)
		return ctrl.Result{}, nil
	}

	tpl, err := r.existingTemplate(ctx, req)
	if err != nil {
		return ctrl.Result{}, err
	}
	if tpl == nil {
		var res ctrl.Result
		tpl, res, err = r.capture(ctx, req)
		if tpl == nil || err != nil {
			return res, err
		}
	}
	if err := r.handOverDataVolumes(ctx, req, tpl); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.deleteSnapshot(ctx, req); err != nil {
		return ctrl.Result{}, err
	}
	mirrorTemplateReadiness(req, tpl)
	return ctrl.Result{}, nil
}

func validateRequest(req *v1beta1.VirtualMachineTemplateRequest) error {
	if req.Spec.VirtualMachineRef.Namespace == "" {
		return errors.New("virtualMachineRef.namespace cannot be empty")
	}
	if req.Spec.VirtualMachineRef.Name == "" {
		return errors.New("virtualMachineRef.name cannot be empty")
	}
	return nil
}

func (r *requestReconciler) addFinalizer(ctx context.Context, req *v1beta1.VirtualMachineTemplateRequest) error {
	if controllerutil.ContainsFinalizer(req, v1beta1.FinalizerSnapshotCleanup) {
		return nil
	}
	orig := req.DeepCopy()
	controllerutil.AddFinalizer(req, v1beta1.FinalizerSnapshotCleanup)
	if err := r.client.Patch(ctx, req, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("adding finalizer %s: %w", v1beta1.FinalizerSnapshotCleanup, err)
	}
	return nil
}

// finalize deletes the request's snapshot (when the request names a VM at all) and lets the
// request go. DataVolumes it still controls are garbage-collected; its template stays.
func (r *requestReconciler) finalize(ctx context.Context, req *v1beta1.VirtualMachineTemplateRequest) error {
	if !controllerutil.ContainsFinalizer(req, v1beta1.FinalizerSnapshotCleanup) {
		return nil
	}
	if validateRequest(req) == nil && !r.faultKeepSnap {
		if err := r.deleteSnapshot(ctx, req); err != nil {
			return err
		}
	}
	orig := req.DeepCopy()
	controllerutil.RemoveFinalizer(req, v1beta1.FinalizerSnapshotCleanup)
	if err := r.client.Patch(ctx, req, client.MergeFrom(orig)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("removing finalizer %s: %w", v1beta1.FinalizerSnapshotCleanup, err))
	}
	return nil
}

// expire deletes a successful request ttlSecondsAfterFinished after its Ready condition
// turned True. Failed requests and requests without a TTL stay, and so does every request
// before v0.2.0 (RequestTTL).
func (r *requestReconciler) expire(ctx context.Context, req *v1beta1.VirtualMachineTemplateRequest) (ctrl.Result, error) {
	if !r.release.Has(release.RequestTTL) || req.Spec.TTLSecondsAfterFinished == nil {
		return ctrl.Result{}, nil
	}
	ready := meta.FindStatusCondition(req.Status.Conditions, v1beta1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue {
		return ctrl.Result{}, nil
	}
	ttl := time.Duration(*req.Spec.TTLSecondsAfterFinished) * time.Second
	if remaining := ready.LastTransitionTime.Add(ttl).Sub(r.clock.Now()); remaining > 0 {
		return ctrl.Result{RequeueAfter: remaining}, nil
	}
	logf.FromContext(ctx).Info("TTL expired, deleting VirtualMachineTemplateRequest")
	return ctrl.Result{}, client.IgnoreNotFound(r.client.Delete(ctx, req))
}

// existingTemplate is the request's template if it exists and carries the request's UID; nil
// if it does not exist. A template of the same name made by someone else fails the request
// for good. It is read from the API server: a template missing from a lagging cache would be
// created a second time and fail the request with AlreadyExists.
func (r *requestReconciler) existingTemplate(ctx context.Context, req *v1beta1.VirtualMachineTemplateRequest) (*v1beta1.VirtualMachineTemplate, error) {
	tpl := &v1beta1.VirtualMachineTemplate{}
	if err := r.apiReader.Get(ctx, types.NamespacedName{Namespace: req.Namespace, Name: templateName(req)}, tpl); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	if tpl.Labels[v1beta1.LabelRequestUID] != string(req.UID) && !r.faultAdopt {
		failPermanently(req, v1beta1.ReasonFailed)
		return nil, fmt.Errorf("existing VirtualMachineTemplate %s/%s was not created by this request", tpl.Namespace, tpl.Name)
	}
	req.Status.TemplateRef = &corev1.LocalObjectReference{Name: tpl.Name}
	return tpl, nil
}

// capture runs the pipeline up to the template's creation. A nil template without error
// means "wait": the conditions say for what, and the result says when to look again (a zero
// result means a watch will trigger the next reconcile).
func (r *requestReconciler) capture(ctx context.Context, req *v1beta1.VirtualMachineTemplateRequest) (*v1beta1.VirtualMachineTemplate, ctrl.Result, error) {
	snap, err := r.snapshot(ctx, req)
	if err != nil {
		return nil, ctrl.Result{}, err
	}
	if !snapshotConditionTrue(snap, snapshotv1beta1.ConditionReady) {
		mirrorSnapshotState(req, snap)
		return nil, ctrl.Result{}, nil
	}

	content, err := r.snapshotContent(ctx, req, snap)
	if err != nil {
		return nil, ctrl.Result{}, err
	}
	ready, err := snapshotContentReady(content)
	if err != nil {
		setReady(req, metav1.ConditionFalse, v1beta1.ReasonFailed, "%s", err.Error())
		failPermanently(req, v1beta1.ReasonFailed)
		return nil, ctrl.Result{}, err
	}
	if !ready {
		setReady(req, metav1.ConditionFalse, v1beta1.ReasonWaiting,
			"Waiting for VirtualMachineSnapshotContent %s/%s to be ready", content.Namespace, content.Name)
		setProgressing(req, metav1.ConditionTrue, v1beta1.ReasonWaiting)
		return nil, ctrl.Result{RequeueAfter: r.contentRequeue}, nil
	}

	cloned := clonedVolumes(r.release, content.Spec.VolumeBackups)
	if err := r.cloneVolumes(ctx, req, content.Namespace, cloned); err != nil {
		return nil, ctrl.Result{}, err
	}
	if ready, err := r.clonesReady(ctx, req, cloned); !ready || err != nil {
		return nil, ctrl.Result{}, err
	}

	tpl, err := r.createTemplate(ctx, req, content, cloned)
	if err != nil {
		return nil, ctrl.Result{}, err
	}
	return tpl, ctrl.Result{}, nil
}

// snapshot gets or creates the request's VirtualMachineSnapshot in the source VM's
// namespace; one without the request's UID fails the request for good.
func (r *requestReconciler) snapshot(ctx context.Context, req *v1beta1.VirtualMachineTemplateRequest) (*snapshotv1beta1.VirtualMachineSnapshot, error) {
	key := types.NamespacedName{Namespace: req.Spec.VirtualMachineRef.Namespace, Name: snapshotName(req)}
	snap := &snapshotv1beta1.VirtualMachineSnapshot{}
	err := r.client.Get(ctx, key, snap)
	if apierrors.IsNotFound(err) {
		snap = newSnapshot(req, key)
		logf.FromContext(ctx).Info("Creating VirtualMachineSnapshot", "snapNS", key.Namespace, "snapName", key.Name)
		err = r.client.Create(ctx, snap)
		if apierrors.IsAlreadyExists(err) {
			// The cache had not seen it yet, or it is someone else's: look at it.
			err = r.apiReader.Get(ctx, key, snap)
		}
	}
	if err != nil {
		return nil, err
	}
	if snap.Labels[v1beta1.LabelRequestUID] != string(req.UID) {
		failPermanently(req, v1beta1.ReasonFailed)
		return nil, fmt.Errorf("virtualMachineSnapshot %s/%s does not belong to this request", snap.Namespace, snap.Name)
	}
	return snap, nil
}

func newSnapshot(req *v1beta1.VirtualMachineTemplateRequest, key types.NamespacedName) *snapshotv1beta1.VirtualMachineSnapshot {
	group := virtv1.VirtualMachineGroupVersionKind.Group
	return &snapshotv1beta1.VirtualMachineSnapshot{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: key.Namespace,
			Name:      key.Name,
			Labels:    map[string]string{v1beta1.LabelRequestUID: string(req.UID)},
		},
		Spec: snapshotv1beta1.VirtualMachineSnapshotSpec{
			Source: corev1.TypedLocalObjectReference{
				APIGroup: &group,
				Kind:     virtv1.VirtualMachineGroupVersionKind.Kind,
				Name:     req.Spec.VirtualMachineRef.Name,
			},
		},
	}
}

func (r *requestReconciler) deleteSnapshot(ctx context.Context, req *v1beta1.VirtualMachineTemplateRequest) error {
	snap := &snapshotv1beta1.VirtualMachineSnapshot{ObjectMeta: metav1.ObjectMeta{
		Namespace: req.Spec.VirtualMachineRef.Namespace,
		Name:      snapshotName(req),
	}}
	if err := client.IgnoreNotFound(r.client.Delete(ctx, snap)); err != nil {
		return fmt.Errorf("deleting VirtualMachineSnapshot %s/%s: %w", snap.Namespace, snap.Name, err)
	}
	return nil
}

func snapshotCondition(snap *snapshotv1beta1.VirtualMachineSnapshot, t snapshotv1beta1.ConditionType) *snapshotv1beta1.Condition {
	if snap.Status == nil {
		return nil
	}
	for i := range snap.Status.Conditions {
		if snap.Status.Conditions[i].Type == t {
			return &snap.Status.Conditions[i]
		}
	}
	return nil
}

func snapshotConditionTrue(snap *snapshotv1beta1.VirtualMachineSnapshot, t snapshotv1beta1.ConditionType) bool {
	c := snapshotCondition(snap, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

// snapshotProgressing: Progressing absent or True, or False while the phase is still unset
// or InProgress and the reason is not a known error.
func snapshotProgressing(snap *snapshotv1beta1.VirtualMachineSnapshot) bool {
	c := snapshotCondition(snap, snapshotv1beta1.ConditionProgressing)
	if c == nil || c.Status == corev1.ConditionTrue {
		return true
	}
	phase := snap.Status.Phase
	return (phase == snapshotv1beta1.PhaseUnset || phase == snapshotv1beta1.InProgress) &&
		!slices.Contains(snapshotErrorReasons, c.Reason)
}

// mirrorSnapshotState reports a snapshot that is not ready yet: waiting while it progresses,
// failed for good otherwise.
func mirrorSnapshotState(req *v1beta1.VirtualMachineTemplateRequest, snap *snapshotv1beta1.VirtualMachineSnapshot) {
	if !snapshotConditionTrue(snap, snapshotv1beta1.ConditionFailure) && snapshotProgressing(snap) {
		setReady(req, metav1.ConditionFalse, v1beta1.ReasonWaiting,
			"Waiting for VirtualMachineSnapshot %s/%s to be ready", snap.Namespace, snap.Name)
		return
	}
	setReady(req, metav1.ConditionFalse, v1beta1.ReasonFailed, "VirtualMachineSnapshot %s/%s failed", snap.Namespace, snap.Name)
	failPermanently(req, v1beta1.ReasonFailed)
}

// snapshotContent reads the snapshot's content from the API server (contents are not
// cached: they embed whole VMs and are read once per request).
func (r *requestReconciler) snapshotContent(ctx context.Context, req *v1beta1.VirtualMachineTemplateRequest,
	snap *snapshotv1beta1.VirtualMachineSnapshot,
) (*snapshotv1beta1.VirtualMachineSnapshotContent, error) {
	if snap.Status == nil || snap.Status.VirtualMachineSnapshotContentName == nil || *snap.Status.VirtualMachineSnapshotContentName == "" {
		failPermanently(req, v1beta1.ReasonFailed)
		return nil, fmt.Errorf("virtualMachineSnapshot %s/%s does not have a VirtualMachineSnapshotContentName", snap.Namespace, snap.Name)
	}
	content := &snapshotv1beta1.VirtualMachineSnapshotContent{}
	key := types.NamespacedName{Namespace: snap.Namespace, Name: *snap.Status.VirtualMachineSnapshotContentName}
	if err := r.apiReader.Get(ctx, key, content); err != nil {
		return nil, err
	}
	return content, nil
}

// snapshotContentReady: readyToUse, and every volume backup names its VolumeSnapshot (an
// error otherwise, which fails the request for good).
func snapshotContentReady(content *snapshotv1beta1.VirtualMachineSnapshotContent) (bool, error) {
	if content.Status == nil || content.Status.ReadyToUse == nil || !*content.Status.ReadyToUse {
		return false, nil
	}
	for _, b := range content.Spec.VolumeBackups {
		if b.VolumeSnapshotName == nil || *b.VolumeSnapshotName == "" {
			return false, fmt.Errorf("virtualMachineSnapshotContent %s/%s is missing a VolumeSnapshotName for volume %s",
				content.Namespace, content.Name, b.VolumeName)
		}
	}
	return true, nil
}

// cloneVolumes creates, in the request's namespace, one DataVolume per cloned volume backup,
// cloning its VolumeSnapshot from snapshotNamespace and controlled by the request. An
// existing DataVolume of that name without the request's UID fails the request for good.
func (r *requestReconciler) cloneVolumes(ctx context.Context, req *v1beta1.VirtualMachineTemplateRequest,
	snapshotNamespace string, cloned []snapshotv1beta1.VolumeBackup,
) error {
	for _, b := range cloned {
		key := types.NamespacedName{Namespace: req.Namespace, Name: clonedDataVolumeName(req, b.VolumeName)}
		dv := &cdiv1beta1.DataVolume{}
		err := r.client.Get(ctx, key, dv)
		if apierrors.IsNotFound(err) {
			dv = newDataVolume(req, key, snapshotNamespace, *b.VolumeSnapshotName)
			if err := controllerutil.SetControllerReference(req, dv, r.scheme); err != nil {
				return err
			}
			logf.FromContext(ctx).Info("Creating DataVolume", "dvNS", key.Namespace, "dvName", key.Name)
			err = r.client.Create(ctx, dv)
			if err == nil {
				continue
			}
			if apierrors.IsAlreadyExists(err) {
				err = r.apiReader.Get(ctx, key, dv)
			}
		}
		if err != nil {
			return err
		}
		if dv.Labels[v1beta1.LabelRequestUID] != string(req.UID) {
			failPermanently(req, v1beta1.ReasonFailed)
			return fmt.Errorf("dataVolume %s/%s does not belong to this request", dv.Namespace, dv.Name)
		}
	}
	return nil
}

func newDataVolume(req *v1beta1.VirtualMachineTemplateRequest, key types.NamespacedName, snapshotNamespace, volumeSnapshot string) *cdiv1beta1.DataVolume {
	return &cdiv1beta1.DataVolume{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   key.Namespace,
			Name:        key.Name,
			Labels:      map[string]string{v1beta1.LabelRequestUID: string(req.UID)},
			Annotations: map[string]string{AnnotationImmediateBinding: ""},
		},
		Spec: cdiv1beta1.DataVolumeSpec{
			Source: &cdiv1beta1.DataVolumeSource{
				Snapshot: &cdiv1beta1.DataVolumeSourceSnapshot{Namespace: snapshotNamespace, Name: volumeSnapshot},
			},
			Storage: &cdiv1beta1.StorageSpec{},
		},
	}
}

// clonesReady reports whether every cloned DataVolume is Ready. At the first that is not,
// the request waits for it, or fails for good if it failed. A DataVolume the cache has not
// seen yet means waiting for its watch event.
func (r *requestReconciler) clonesReady(ctx context.Context, req *v1beta1.VirtualMachineTemplateRequest,
	cloned []snapshotv1beta1.VolumeBackup,
) (bool, error) {
	for _, b := range cloned {
		dv := &cdiv1beta1.DataVolume{}
		if err := r.client.Get(ctx, types.NamespacedName{Namespace: req.Namespace, Name: clonedDataVolumeName(req, b.VolumeName)}, dv); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		if ready, _ := dataVolumeCondition(dv, cdiv1beta1.DataVolumeReady); !ready {
			mirrorDataVolumeState(req, dv)
			return false, nil
		}
	}
	return true, nil
}

func dataVolumeCondition(dv *cdiv1beta1.DataVolume, t cdiv1beta1.DataVolumeConditionType) (isTrue, present bool) {
	for _, c := range dv.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue, true
		}
	}
	return false, false
}

// mirrorDataVolumeState reports a DataVolume that is not Ready: failed for good when its
// Running condition is False and its phase Failed, waiting otherwise.
func mirrorDataVolumeState(req *v1beta1.VirtualMachineTemplateRequest, dv *cdiv1beta1.DataVolume) {
	running, present := dataVolumeCondition(dv, cdiv1beta1.DataVolumeRunning)
	if present && !running && dv.Status.Phase == cdiv1beta1.Failed {
		setReady(req, metav1.ConditionFalse, v1beta1.ReasonFailed, "DataVolume %s/%s failed", dv.Namespace, dv.Name)
		failPermanently(req, v1beta1.ReasonFailed)
		return
	}
	setReady(req, metav1.ConditionFalse, v1beta1.ReasonWaiting, "Waiting for DataVolume %s/%s to be ready", dv.Namespace, dv.Name)
	setProgressing(req, metav1.ConditionTrue, v1beta1.ReasonWaiting)
}

// createTemplate builds the template from the VM stored in the snapshot content, expanded
// by the Expander, and creates it.
func (r *requestReconciler) createTemplate(ctx context.Context, req *v1beta1.VirtualMachineTemplateRequest,
	content *snapshotv1beta1.VirtualMachineSnapshotContent, cloned []snapshotv1beta1.VolumeBackup,
) (*v1beta1.VirtualMachineTemplate, error) {
	src := content.Spec.Source.VirtualMachine
	if src == nil {
		failPermanently(req, v1beta1.ReasonFailed)
		return nil, fmt.Errorf("virtualMachineSnapshotContent %s/%s has no source VirtualMachine", content.Namespace, content.Name)
	}
	vm, err := r.expander.ExpandVirtualMachine(ctx, content.Namespace, &virtv1.VirtualMachine{
		ObjectMeta: *src.ObjectMeta.DeepCopy(),
		Spec:       *src.Spec.DeepCopy(),
		Status:     *src.Status.DeepCopy(),
	})
	if err != nil {
		return nil, err
	}
	if vm == nil {
		return nil, fmt.Errorf("expanding VirtualMachine %s/%s returned nothing", src.Namespace, src.Name)
	}
	spec, err := templateSpec(r.release, vm, cloned, req.Namespace, func(volume string) string { return clonedDataVolumeName(req, volume) })
	if err == nil && r.faultKeepMAC {
		keepSourceMACs(vm, &spec)
	}
	if err != nil {
		failPermanently(req, v1beta1.ReasonFailed)
		return nil, err
	}
	tpl, err := newTemplate(r.release, req, spec)
	if err != nil {
		failPermanently(req, v1beta1.ReasonFailed)
		return nil, err
	}
	if r.faultCopy {
		if err := r.copySourceSecrets(ctx, vm, tpl.Namespace); err != nil {
			return nil, err
		}
	}
	logf.FromContext(ctx).Info("Creating VirtualMachineTemplate", "tplNS", tpl.Namespace, "tplName", tpl.Name)
	if err := r.client.Create(ctx, tpl); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
		// Ours after all (created by an earlier reconcile whose result we did not see)?
		existing := &v1beta1.VirtualMachineTemplate{}
		if getErr := r.apiReader.Get(ctx, client.ObjectKeyFromObject(tpl), existing); getErr != nil ||
			existing.Labels[v1beta1.LabelRequestUID] != string(req.UID) {
			setReady(req, metav1.ConditionFalse, v1beta1.ReasonFailed, "%s", err.Error())
			failPermanently(req, v1beta1.ReasonFailed)
			return nil, err
		}
		tpl = existing
	}
	req.Status.TemplateRef = &corev1.LocalObjectReference{Name: tpl.Name}
	return tpl, nil
}

// handOverDataVolumes makes the template the controller of every DataVolume labelled with
// the request's UID, so deleting the template garbage-collects the cloned disks while
// deleting the request does not.
func (r *requestReconciler) handOverDataVolumes(ctx context.Context, req *v1beta1.VirtualMachineTemplateRequest, tpl *v1beta1.VirtualMachineTemplate) error {
	dvs := &cdiv1beta1.DataVolumeList{}
	if err := r.client.List(ctx, dvs, client.MatchingLabels{v1beta1.LabelRequestUID: string(req.UID)}); err != nil {
		return fmt.Errorf("listing the request's DataVolumes: %w", err)
	}
	for i := range dvs.Items {
		dv := &dvs.Items[i]
		if metav1.IsControlledBy(dv, tpl) {
			continue
		}
		orig := dv.DeepCopy()
		dv.OwnerReferences = slices.DeleteFunc(dv.OwnerReferences, func(ref metav1.OwnerReference) bool {
			return ref.UID == req.UID
		})
		if err := controllerutil.SetControllerReference(tpl, dv, r.scheme); err != nil {
			return fmt.Errorf("handing DataVolume %s/%s to VirtualMachineTemplate %s: %w", dv.Namespace, dv.Name, tpl.Name, err)
		}
		logf.FromContext(ctx).V(1).Info("Handing DataVolume to VirtualMachineTemplate", "dvNS", dv.Namespace, "dvName", dv.Name)
		if err := r.client.Patch(ctx, dv, client.MergeFrom(orig)); err != nil {
			return fmt.Errorf("handing DataVolume %s/%s to VirtualMachineTemplate %s: %w", dv.Namespace, dv.Name, tpl.Name, err)
		}
	}
	return nil
}

// mirrorTemplateReadiness makes the request Ready when its template is.
func mirrorTemplateReadiness(req *v1beta1.VirtualMachineTemplateRequest, tpl *v1beta1.VirtualMachineTemplate) {
	c := meta.FindStatusCondition(tpl.Status.Conditions, v1beta1.ConditionReady)
	if c == nil || c.Status != metav1.ConditionTrue {
		setReady(req, metav1.ConditionFalse, v1beta1.ReasonWaiting,
			"Waiting for VirtualMachineTemplate %s/%s to be ready", tpl.Namespace, tpl.Name)
		return
	}
	setReady(req, metav1.ConditionTrue, v1beta1.ReasonReconciled, "%s", c.Message)
}

func (r *requestReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1beta1.VirtualMachineTemplateRequest{}).
		Named(core.SingularRequestResourceName).
		// Several managers may run in one process (tests); names only label metrics.
		WithOptions(crcontroller.Options{SkipNameValidation: ptr.To(true)}).
		Watches(&v1beta1.VirtualMachineTemplate{}, handler.EnqueueRequestsFromMapFunc(r.requestOf)).
		Watches(&snapshotv1beta1.VirtualMachineSnapshot{}, handler.EnqueueRequestsFromMapFunc(r.requestOf)).
		Owns(&cdiv1beta1.DataVolume{}).
		Complete(r)
}

// requestOf maps an object labelled with a RequestUID to that request.
func (r *requestReconciler) requestOf(ctx context.Context, obj client.Object) []reconcile.Request {
	uid, ok := obj.GetLabels()[v1beta1.LabelRequestUID]
	if !ok {
		return nil
	}
	list := &v1beta1.VirtualMachineTemplateRequestList{}
	if err := r.client.List(ctx, list, client.MatchingFields{uidIndex: uid}); err != nil {
		logf.FromContext(ctx).Error(err, "Unable to list VirtualMachineTemplateRequests")
		return nil
	}
	if len(list.Items) != 1 {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKeyFromObject(&list.Items[0])}}
}

// indexRequestsByUID registers uidIndex; it must happen before the manager starts.
func indexRequestsByUID(ctx context.Context, mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(ctx, &v1beta1.VirtualMachineTemplateRequest{}, uidIndex,
		func(obj client.Object) []string { return []string{string(obj.GetUID())} })
}
