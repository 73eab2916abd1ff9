package virtcontroller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kubevirtv1 "kubevirt.io/api/core/v1"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/vmt-conformance/vmt-conformance/reference/sim/kit"
)

// Reasons of KubeVirt's snapshot controller (pkg/storage/snapshot/snapshot.go).
const (
	reasonSourceMissing = "Source does not exist"
	reasonComplete      = "Operation complete"
	reasonReady         = "Ready"
	reasonNotReady      = "Not ready"
)

type snapshots struct{ c client.Client }

func setupSnapshots(mgr ctrl.Manager) error {
	r := &snapshots{c: mgr.GetClient()}
	// A snapshot waiting for its VM looks again when VMs of its namespace appear.
	sameNamespace := kit.EnqueueListed(r.c, func() client.ObjectList { return &snapshotv1beta1.VirtualMachineSnapshotList{} }, true, nil)
	return ctrl.NewControllerManagedBy(mgr).Named("virt-controller-snapshot").
		For(&snapshotv1beta1.VirtualMachineSnapshot{}).
		Owns(&snapshotv1beta1.VirtualMachineSnapshotContent{}).
		Watches(&kubevirtv1.VirtualMachine{}, sameNamespace).
		Complete(r)
}

func (r *snapshots) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	snap := &snapshotv1beta1.VirtualMachineSnapshot{}
	if err := r.c.Get(ctx, req.NamespacedName, snap); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if snap.DeletionTimestamp != nil || snap.Status != nil && snap.Status.Phase == snapshotv1beta1.Succeeded {
		return reconcile.Result{}, nil
	}
	orig := snap.Status.DeepCopy()
	if snap.Status == nil {
		snap.Status = &snapshotv1beta1.VirtualMachineSnapshotStatus{}
	}
	st := snap.Status
	vm := &kubevirtv1.VirtualMachine{}
	err := r.c.Get(ctx, client.ObjectKey{Namespace: snap.Namespace, Name: snap.Spec.Source.Name}, vm)
	if apierrors.IsNotFound(err) || snap.Spec.Source.Kind != "VirtualMachine" {
		st.Phase = snapshotv1beta1.InProgress
		setSnapshotCondition(st, snapshotv1beta1.ConditionProgressing, corev1.ConditionFalse, reasonSourceMissing)
		setSnapshotCondition(st, snapshotv1beta1.ConditionReady, corev1.ConditionFalse, reasonNotReady)
		return reconcile.Result{}, r.writeStatus(ctx, snap, orig)
	} else if err != nil {
		return reconcile.Result{}, err
	}
	content, err := r.ensureContent(ctx, snap, vm)
	if err != nil {
		return reconcile.Result{}, err
	}
	now := metav1.Now()
	name := content.Name
	st.SourceUID = &vm.UID
	st.VirtualMachineSnapshotContentName = &name
	st.CreationTime = &now
	st.ReadyToUse = ptr(true)
	st.Phase = snapshotv1beta1.Succeeded
	if vm.Status.Created {
		// The VM runs without a guest agent: KubeVirt says so rather than freezing a guest.
		st.Indications = []snapshotv1beta1.Indication{snapshotv1beta1.VMSnapshotOnlineSnapshotIndication, snapshotv1beta1.VMSnapshotNoGuestAgentIndication}
	}
	included := []string{}
	for _, b := range content.Spec.VolumeBackups {
		included = append(included, b.VolumeName)
	}
	st.SnapshotVolumes = &snapshotv1beta1.SnapshotVolumesLists{IncludedVolumes: included}
	setSnapshotCondition(st, snapshotv1beta1.ConditionProgressing, corev1.ConditionFalse, reasonComplete)
	setSnapshotCondition(st, snapshotv1beta1.ConditionReady, corev1.ConditionTrue, reasonReady)
	return reconcile.Result{}, r.writeStatus(ctx, snap, orig)
}

func (r *snapshots) writeStatus(ctx context.Context, snap *snapshotv1beta1.VirtualMachineSnapshot, orig *snapshotv1beta1.VirtualMachineSnapshotStatus) error {
	if equality.Semantic.DeepEqual(orig, snap.Status) {
		return nil
	}
	return r.c.Status().Update(ctx, snap)
}

// ensureContent makes vmsnapshot-content-<snapshot uid> with the VM and one volume backup per
// PVC or DataVolume volume and for the backend storage (persistent-state-for-<vm>, see
// backendstorage.go), and a ready VolumeSnapshot vmsnapshot-<uid>-volume-<volume> for
// each, the names KubeVirt uses.
func (r *snapshots) ensureContent(ctx context.Context, snap *snapshotv1beta1.VirtualMachineSnapshot, vm *kubevirtv1.VirtualMachine) (*snapshotv1beta1.VirtualMachineSnapshotContent, error) {
	name := fmt.Sprintf("vmsnapshot-content-%s", snap.UID)
	content := &snapshotv1beta1.VirtualMachineSnapshotContent{}
	if err := r.c.Get(ctx, client.ObjectKey{Namespace: snap.Namespace, Name: name}, content); err == nil {
		return content, nil
	} else if !apierrors.IsNotFound(err) {
		return nil, err
	}
	source := &snapshotv1beta1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: vm.Name, Namespace: vm.Namespace, UID: vm.UID, Generation: vm.Generation,
			Labels: vm.Labels, Annotations: vm.Annotations},
		Spec:   *vm.Spec.DeepCopy(),
		Status: *vm.Status.DeepCopy(),
	}
	var backups []snapshotv1beta1.VolumeBackup
	var statuses []snapshotv1beta1.VolumeSnapshotStatus
	now := metav1.Now()
	if vm.Spec.Template != nil {
		volumes := vm.Spec.Template.Spec.Volumes
		backend, err := backendStorageBackup(ctx, r.c, vm)
		if err != nil {
			return nil, err
		}
		if backend != nil {
			volumes = append(append([]kubevirtv1.Volume{}, volumes...), *backend)
		}
		for _, v := range volumes {
			claim := ""
			switch {
			case v.PersistentVolumeClaim != nil:
				claim = v.PersistentVolumeClaim.ClaimName
			case v.DataVolume != nil:
				claim = v.DataVolume.Name
			default:
				continue
			}
			pvc := &corev1.PersistentVolumeClaim{}
			if err := r.c.Get(ctx, client.ObjectKey{Namespace: vm.Namespace, Name: claim}, pvc); err != nil {
				return nil, fmt.Errorf("reading claim %s of volume %s: %w", claim, v.Name, err)
			}
			vsName := fmt.Sprintf("vmsnapshot-%s-volume-%s", snap.UID, v.Name)
			backups = append(backups, snapshotv1beta1.VolumeBackup{
				VolumeName: v.Name,
				PersistentVolumeClaim: snapshotv1beta1.PersistentVolumeClaim{
					ObjectMeta: metav1.ObjectMeta{Name: pvc.Name, Namespace: pvc.Namespace, Labels: pvc.Labels, Annotations: pvc.Annotations},
					Spec:       *pvc.Spec.DeepCopy(),
				},
				VolumeSnapshotName: &vsName,
			})
			statuses = append(statuses, snapshotv1beta1.VolumeSnapshotStatus{VolumeSnapshotName: vsName, CreationTime: &now, ReadyToUse: ptr(true)})
		}
	}
	content = &snapshotv1beta1.VirtualMachineSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: snap.Namespace},
		Spec: snapshotv1beta1.VirtualMachineSnapshotContentSpec{
			VirtualMachineSnapshotName: &snap.Name,
			Source:                     snapshotv1beta1.SourceSpec{VirtualMachine: source},
			VolumeBackups:              backups,
		},
	}
	if err := controllerutil.SetControllerReference(snap, content, r.c.Scheme()); err != nil {
		return nil, err
	}
	if err := r.c.Create(ctx, content); err != nil {
		return nil, fmt.Errorf("creating %s: %w", name, err)
	}
	for _, b := range backups {
		if err := r.ensureVolumeSnapshot(ctx, content, b); err != nil {
			return nil, err
		}
	}
	content.Status = &snapshotv1beta1.VirtualMachineSnapshotContentStatus{CreationTime: &now, ReadyToUse: ptr(true), VolumeSnapshotStatus: statuses}
	if err := r.c.Status().Update(ctx, content); err != nil {
		return nil, fmt.Errorf("marking %s ready: %w", name, err)
	}
	return content, nil
}

// ensureVolumeSnapshot makes the CSI snapshot of one backup, owned by the content, ready at once.
func (r *snapshots) ensureVolumeSnapshot(ctx context.Context, content *snapshotv1beta1.VirtualMachineSnapshotContent, b snapshotv1beta1.VolumeBackup) error {
	class, err := r.snapshotClass(ctx, b.PersistentVolumeClaim.Spec.StorageClassName)
	if err != nil {
		return err
	}
	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
		"metadata": map[string]any{"name": *b.VolumeSnapshotName, "namespace": content.Namespace},
		"spec": map[string]any{
			"source":                  map[string]any{"persistentVolumeClaimName": b.PersistentVolumeClaim.Name},
			"volumeSnapshotClassName": class,
		},
	}}
	if err := controllerutil.SetControllerReference(content, vs, r.c.Scheme()); err != nil {
		return err
	}
	if err := r.c.Create(ctx, vs); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating VolumeSnapshot %s: %w", *b.VolumeSnapshotName, err)
	}
	if err := r.c.Get(ctx, client.ObjectKeyFromObject(vs), vs); err != nil {
		return err
	}
	size := b.PersistentVolumeClaim.Spec.Resources.Requests[corev1.ResourceStorage]
	vs.Object["status"] = map[string]any{
		"readyToUse":                     true,
		"restoreSize":                    size.String(),
		"creationTime":                   metav1.Now().UTC().Format("2006-01-02T15:04:05Z"),
		"boundVolumeSnapshotContentName": "snapcontent-" + string(vs.GetUID()),
	}
	return r.c.Status().Update(ctx, vs)
}

// snapshotClass is the VolumeSnapshotClass whose driver provisions the claim's storage class,
// else the default one.
func (r *snapshots) snapshotClass(ctx context.Context, storageClass *string) (string, error) {
	driver := ""
	if storageClass != nil {
		sc := &storagev1.StorageClass{}
		if err := r.c.Get(ctx, client.ObjectKey{Name: *storageClass}, sc); err == nil {
			driver = sc.Provisioner
		}
	}
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion("snapshot.storage.k8s.io/v1")
	list.SetKind("VolumeSnapshotClassList")
	if err := r.c.List(ctx, list); err != nil {
		return "", fmt.Errorf("listing volume snapshot classes: %w", err)
	}
	fallback := ""
	for _, c := range list.Items {
		if d, _, _ := unstructured.NestedString(c.Object, "driver"); d == driver && driver != "" {
			return c.GetName(), nil
		}
		if c.GetAnnotations()["snapshot.storage.kubernetes.io/is-default-class"] == "true" {
			fallback = c.GetName()
		}
	}
	if fallback == "" {
		return "", fmt.Errorf("no VolumeSnapshotClass for driver %q and no default one", driver)
	}
	return fallback, nil
}

func setSnapshotCondition(st *snapshotv1beta1.VirtualMachineSnapshotStatus, t snapshotv1beta1.ConditionType, status corev1.ConditionStatus, reason string) {
	now := metav1.Now()
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Status != status || c.Reason != reason {
			c.Status, c.Reason, c.LastTransitionTime = status, reason, now
		}
		return
	}
	st.Conditions = append(st.Conditions, snapshotv1beta1.Condition{Type: t, Status: status, Reason: reason, LastTransitionTime: now})
}

func ptr[T any](v T) *T { return &v }
