// Package virtcontroller is the simulator's virt-controller role: VirtualMachines get their
// DataVolumes and, by run strategy, a VirtualMachineInstance that moves Pending → Scheduled →
// Running with KubeVirt's status on both objects; VirtualMachineSnapshots get their content
// and ready VolumeSnapshots. No guest ever runs: nothing guest-side (agent, IPs, console) is
// reported.
package virtcontroller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sfield "k8s.io/apimachinery/pkg/util/validation/field"
	kubevirtv1 "kubevirt.io/api/core/v1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/vmt-conformance/vmt-conformance/reference/sim/internal/instancetype"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/kit"
)

// Options configure the role.
type Options struct {
	// FaultSkipCloneAuthorization is a deliberate bug for the suite's self-tests (package
	// reference/faults): DataVolumeTemplates are created without the clone permission check.
	// Never set it otherwise.
	FaultSkipCloneAuthorization bool
}

// Setup registers the VM, VMI and snapshot controllers.
func Setup(mgr ctrl.Manager, opts Options) error {
	if err := setupVMs(mgr, opts); err != nil {
		return err
	}
	if err := setupVMIs(mgr); err != nil {
		return err
	}
	return setupSnapshots(mgr)
}

// Reasons and messages of KubeVirt's VM controller (pkg/virt-controller/watch/vm/vm.go and
// pkg/instancetype/controller/vm/controller.go).
const (
	reasonFailedCreate           = "FailedCreate"
	reasonFailedFindInstancetype = "FailedFindInstancetype"
	reasonFailedFindPreference   = "FailedFindPreference"
	createdByLabel               = "kubevirt.io/created-by"
)

type vms struct {
	c              client.Client
	faultSkipClone bool // Options.FaultSkipCloneAuthorization
}

func setupVMs(mgr ctrl.Manager, opts Options) error {
	r := &vms{c: mgr.GetClient(), faultSkipClone: opts.FaultSkipCloneAuthorization}
	// Instance types and preferences created after the VM let it start.
	allVMs := kit.EnqueueListed(r.c, func() client.ObjectList { return &kubevirtv1.VirtualMachineList{} }, false, nil)
	b := ctrl.NewControllerManagedBy(mgr).Named("virt-controller-vm").
		For(&kubevirtv1.VirtualMachine{}).
		Owns(&kubevirtv1.VirtualMachineInstance{}).
		Owns(&cdiv1beta1.DataVolume{})
	for _, obj := range instancetypeKinds() {
		b = b.Watches(obj, allVMs)
	}
	return b.Complete(r)
}

// syncError is a failure KubeVirt reports in the VM's Failure condition.
type syncError struct {
	reason string
	err    error
}

func (r *vms) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	vm := &kubevirtv1.VirtualMachine{}
	if err := r.c.Get(ctx, req.NamespacedName, vm); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	vmi := &kubevirtv1.VirtualMachineInstance{}
	if err := r.c.Get(ctx, req.NamespacedName, vmi); apierrors.IsNotFound(err) {
		vmi = nil
	} else if err != nil {
		return reconcile.Result{}, err
	}
	if vmi != nil && !metav1.IsControlledBy(vmi, vm) {
		vmi = nil // someone else's VMI of the same name is not ours to run or report
	}
	strategy, err := vm.RunStrategy()
	if err != nil {
		return reconcile.Result{}, r.updateStatus(ctx, vm, vmi, &syncError{reasonFailedCreate, err})
	}
	var syncErr *syncError
	if vm.DeletionTimestamp == nil {
		vmi, syncErr, err = r.sync(ctx, vm, vmi, strategy)
		if err != nil {
			return reconcile.Result{}, err
		}
	}
	res := reconcile.Result{}
	if syncErr != nil {
		res.RequeueAfter = kit.Intervals.Requeue
	}
	return res, r.updateStatus(ctx, vm, vmi, syncErr)
}

// sync creates the DataVolumes, then starts or stops the VMI the run strategy asks for.
func (r *vms) sync(ctx context.Context, vm *kubevirtv1.VirtualMachine, vmi *kubevirtv1.VirtualMachineInstance, strategy kubevirtv1.VirtualMachineRunStrategy) (*kubevirtv1.VirtualMachineInstance, *syncError, error) {
	if vm.Spec.Instancetype != nil || vm.Spec.Preference != nil {
		if _, err := instancetype.FindInstancetype(ctx, r.c, vm); err != nil {
			return vmi, &syncError{reasonFailedFindInstancetype, err}, nil
		}
		if _, err := instancetype.FindPreference(ctx, r.c, vm); err != nil {
			return vmi, &syncError{reasonFailedFindPreference, err}, nil
		}
	}
	ready, err := r.dataVolumes(ctx, vm)
	if err != nil {
		return vmi, &syncError{reasonFailedCreate, fmt.Errorf("Error encountered while creating DataVolumes: %v", err)}, nil //nolint:staticcheck // KubeVirt's message
	}
	run := false
	switch strategy {
	case kubevirtv1.RunStrategyAlways, kubevirtv1.RunStrategyRerunOnFailure:
		run = true
	case kubevirtv1.RunStrategyOnce:
		run = vmi == nil && !vm.Status.Created || vmi != nil
	case kubevirtv1.RunStrategyManual:
		return vmi, nil, nil
	}
	switch {
	case run && vmi == nil:
		if !ready {
			return nil, nil, nil // Provisioning: KubeVirt waits for its DataVolumes
		}
		created, serr := r.createVMI(ctx, vm)
		return created, serr, nil
	case !run && vmi != nil && vmi.DeletionTimestamp == nil:
		if err := r.c.Delete(ctx, vmi); err != nil && !apierrors.IsNotFound(err) {
			return vmi, &syncError{"FailedDelete", fmt.Errorf("Failure attempting to delete VMI: %v", err)}, nil //nolint:staticcheck // KubeVirt's message
		}
		return nil, nil, nil
	}
	return vmi, nil, nil
}

// dataVolumes creates each missing DataVolume of spec.dataVolumeTemplates (named as the
// template, owned by the VM, labelled kubevirt.io/created-by) and reports whether all are
// populated. A clone is first authorized for the namespace's "default" service account,
// as virt-controller does (CDI's AuthorizeSA).
func (r *vms) dataVolumes(ctx context.Context, vm *kubevirtv1.VirtualMachine) (bool, error) {
	ready := true
	for _, t := range vm.Spec.DataVolumeTemplates {
		dv := &cdiv1beta1.DataVolume{}
		err := r.c.Get(ctx, client.ObjectKey{Namespace: vm.Namespace, Name: t.Name}, dv)
		if err == nil {
			switch dv.Status.Phase {
			case cdiv1beta1.Succeeded, cdiv1beta1.WaitForFirstConsumer, cdiv1beta1.PendingPopulation:
			default:
				ready = false
			}
			continue
		}
		if !apierrors.IsNotFound(err) {
			return false, err
		}
		ready = false
		dv = &cdiv1beta1.DataVolume{
			ObjectMeta: metav1.ObjectMeta{Name: t.Name, Namespace: vm.Namespace, Labels: map[string]string{}, Annotations: map[string]string{}},
			Spec:       *t.Spec.DeepCopy(),
		}
		for k, v := range t.Labels {
			dv.Labels[k] = v
		}
		for k, v := range t.Annotations {
			dv.Annotations[k] = v
		}
		dv.Labels[createdByLabel] = string(vm.UID)
		if err := r.authorizeClone(ctx, vm, dv); err != nil {
			return false, err
		}
		if err := controllerutil.SetControllerReference(vm, dv, r.c.Scheme()); err != nil {
			return false, err
		}
		if err := r.c.Create(ctx, dv); err != nil && !apierrors.IsAlreadyExists(err) {
			return false, fmt.Errorf("failed to create DataVolume: %v", err)
		}
	}
	return ready, nil
}

func (r *vms) authorizeClone(ctx context.Context, vm *kubevirtv1.VirtualMachine, dv *cdiv1beta1.DataVolume) error {
	src, err := kit.ResolveCloneSource(ctx, r.c, dv)
	if err != nil || src.Kind == kit.SourceNone || r.faultSkipClone {
		return nil // a missing DataSource is CDI's to report on the DataVolume
	}
	sa := "default"
	for _, v := range vm.Spec.Template.Spec.Volumes {
		if v.ServiceAccount != nil {
			sa = v.ServiceAccount.ServiceAccountName
		}
	}
	ok, reason, err := kit.AuthorizeClone(ctx, r.c, kit.ServiceAccountRequester(vm.Namespace, sa), src, vm.Namespace)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("not authorized to create DataVolume: %s", reason)
	}
	return nil
}

// createVMI makes the VMI named as the VM, owned by it, from the template with the instance
// type and preference applied.
func (r *vms) createVMI(ctx context.Context, vm *kubevirtv1.VirtualMachine) (*kubevirtv1.VirtualMachineInstance, *syncError) {
	if vm.Spec.Template == nil {
		return nil, &syncError{reasonFailedCreate, fmt.Errorf("missing virtual machine template")}
	}
	vmi := &kubevirtv1.VirtualMachineInstance{
		ObjectMeta: metav1.ObjectMeta{
			Name: vm.Name, Namespace: vm.Namespace,
			Labels: copyMap(vm.Spec.Template.ObjectMeta.Labels), Annotations: copyMap(vm.Spec.Template.ObjectMeta.Annotations),
		},
		Spec: *vm.Spec.Template.Spec.DeepCopy(),
	}
	it, pref, err := instancetype.Find(ctx, r.c, vm)
	if err != nil {
		return nil, &syncError{reasonFailedCreate, err}
	}
	if conflicts := instancetype.Apply(k8sfield.NewPath("spec", "template", "spec"), it, pref, &vmi.Spec); len(conflicts) > 0 {
		return nil, &syncError{reasonFailedCreate, fmt.Errorf("Error creating virtual machine instance: Failed to apply instancetype: %v", conflicts)} //nolint:staticcheck // KubeVirt's message
	}
	if err := controllerutil.SetControllerReference(vm, vmi, r.c.Scheme()); err != nil {
		return nil, &syncError{reasonFailedCreate, err}
	}
	if err := r.c.Create(ctx, vmi); err != nil {
		return nil, &syncError{reasonFailedCreate, fmt.Errorf("Failure while starting VMI: %v", err)} //nolint:staticcheck // KubeVirt's message
	}
	return vmi, nil
}

// updateStatus follows KubeVirt's updateStatus: created, ready, runStrategy, the Ready and
// Failure conditions, the VMI's other conditions, and printableStatus by its precedence.
func (r *vms) updateStatus(ctx context.Context, vm *kubevirtv1.VirtualMachine, vmi *kubevirtv1.VirtualMachineInstance, syncErr *syncError) error {
	orig := vm.Status.DeepCopy()
	st := &vm.Status
	st.Created = vmi != nil
	st.Ready = vmi != nil && vmiCondition(vmi, kubevirtv1.VirtualMachineInstanceReady) == corev1.ConditionTrue
	strategy, _ := vm.RunStrategy()
	if st.RunStrategy != "" || st.Created {
		st.RunStrategy = strategy
	}
	now := metav1.Now()
	ready := kubevirtv1.VirtualMachineCondition{Type: kubevirtv1.VirtualMachineReady, Status: corev1.ConditionFalse,
		Reason: "VMINotExists", Message: "VMI does not exist", LastProbeTime: now, LastTransitionTime: now}
	if vmi != nil {
		ready.Reason, ready.Message = "VMIConditionMissing", "VMI is missing the Ready condition"
		for _, c := range vmi.Status.Conditions {
			if c.Type == kubevirtv1.VirtualMachineInstanceReady {
				ready = kubevirtv1.VirtualMachineCondition{Type: kubevirtv1.VirtualMachineReady, Status: c.Status, Reason: c.Reason,
					Message: c.Message, LastProbeTime: c.LastProbeTime, LastTransitionTime: c.LastTransitionTime}
			}
		}
	}
	conditions := []kubevirtv1.VirtualMachineCondition{keepTimes(st.Conditions, ready)}
	if syncErr != nil {
		conditions = append(conditions, keepTimes(st.Conditions, kubevirtv1.VirtualMachineCondition{Type: kubevirtv1.VirtualMachineFailure,
			Status: corev1.ConditionTrue, Reason: syncErr.reason, Message: syncErr.err.Error(), LastTransitionTime: now}))
	}
	if vmi != nil {
		for _, c := range vmi.Status.Conditions {
			if c.Type == kubevirtv1.VirtualMachineInstanceReady {
				continue
			}
			conditions = append(conditions, kubevirtv1.VirtualMachineCondition{Type: kubevirtv1.VirtualMachineConditionType(c.Type),
				Status: c.Status, Reason: c.Reason, Message: c.Message, LastProbeTime: c.LastProbeTime, LastTransitionTime: c.LastTransitionTime})
		}
	}
	st.Conditions = conditions
	volumes, err := r.dataVolumeState(ctx, vm)
	if err != nil {
		return err
	}
	st.PrintableStatus = printableStatus(vm, vmi, strategy, volumes)
	if equality.Semantic.DeepEqual(orig, st) {
		return nil
	}
	return r.c.Status().Update(ctx, vm)
}

// keepTimes keeps an unchanged condition's times so status updates stay idempotent.
func keepTimes(old []kubevirtv1.VirtualMachineCondition, c kubevirtv1.VirtualMachineCondition) kubevirtv1.VirtualMachineCondition {
	for _, o := range old {
		if o.Type == c.Type && o.Status == c.Status && o.Reason == c.Reason && o.Message == c.Message {
			c.LastProbeTime, c.LastTransitionTime = o.LastProbeTime, o.LastTransitionTime
		}
	}
	return c
}

// dataVolumeState is what the VM's DataVolume volumes add to its printableStatus.
type dataVolumeState int

const (
	dataVolumesPopulated    dataVolumeState = iota
	dataVolumesProvisioning                 // KubeVirt's HasDataVolumeProvisioning
	dataVolumesError                        // KubeVirt's HasDataVolumeErrors
)

// dataVolumeState reads the VM's DataVolume volumes: an error when one is in phase Failed
// or its Running condition is False with reason Error or ImagePullFailed (KubeVirt's
// HasDataVolumeErrors, pkg/storage/types/dv.go), else provisioning when one is not yet
// populated (HasDataVolumeProvisioning).
func (r *vms) dataVolumeState(ctx context.Context, vm *kubevirtv1.VirtualMachine) (dataVolumeState, error) {
	if vm.Spec.Template == nil {
		return dataVolumesPopulated, nil
	}
	state := dataVolumesPopulated
	for _, v := range vm.Spec.Template.Spec.Volumes {
		if v.DataVolume == nil {
			continue
		}
		dv := &cdiv1beta1.DataVolume{}
		if err := r.c.Get(ctx, client.ObjectKey{Namespace: vm.Namespace, Name: v.DataVolume.Name}, dv); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return state, err
		}
		if dv.Status.Phase == cdiv1beta1.Failed {
			return dataVolumesError, nil
		}
		for _, c := range dv.Status.Conditions {
			if c.Type == cdiv1beta1.DataVolumeRunning && c.Status == corev1.ConditionFalse && (c.Reason == "Error" || c.Reason == "ImagePullFailed") {
				return dataVolumesError, nil
			}
		}
		switch dv.Status.Phase {
		case cdiv1beta1.Succeeded, cdiv1beta1.PendingPopulation, cdiv1beta1.WaitForFirstConsumer:
		default:
			state = dataVolumesProvisioning
		}
	}
	return state, nil
}

// printableStatus evaluates KubeVirt's statuses in its order; the ones that need a node,
// a migration or a pod (Migrating, Paused, ErrImagePull, …) never apply here.
func printableStatus(vm *kubevirtv1.VirtualMachine, vmi *kubevirtv1.VirtualMachineInstance, strategy kubevirtv1.VirtualMachineRunStrategy, volumes dataVolumeState) kubevirtv1.VirtualMachinePrintableStatus {
	startExpected := strategy == kubevirtv1.RunStrategyAlways || strategy == kubevirtv1.RunStrategyRerunOnFailure ||
		strategy == kubevirtv1.RunStrategyOnce && !vm.Status.Created
	final := vmi != nil && (vmi.Status.Phase == kubevirtv1.Succeeded || vmi.Status.Phase == kubevirtv1.Failed)
	switch {
	case vm.DeletionTimestamp != nil:
		return kubevirtv1.VirtualMachineStatusTerminating
	case vmi != nil && !final && (vmi.DeletionTimestamp != nil || strategy == kubevirtv1.RunStrategyHalted):
		return kubevirtv1.VirtualMachineStatusStopping
	case vmi != nil && vmi.Status.Phase == kubevirtv1.Running:
		return kubevirtv1.VirtualMachineStatusRunning
	case volumes == dataVolumesError:
		return kubevirtv1.VirtualMachineStatusDataVolumeError
	case volumes == dataVolumesProvisioning:
		return kubevirtv1.VirtualMachineStatusProvisioning
	case vmi == nil && startExpected,
		vmi != nil && (vmi.Status.Phase == "" || vmi.Status.Phase == kubevirtv1.Pending ||
			vmi.Status.Phase == kubevirtv1.Scheduling || vmi.Status.Phase == kubevirtv1.Scheduled):
		return kubevirtv1.VirtualMachineStatusStarting
	case vmi == nil || final:
		return kubevirtv1.VirtualMachineStatusStopped
	}
	return kubevirtv1.VirtualMachineStatusUnknown
}

func vmiCondition(vmi *kubevirtv1.VirtualMachineInstance, t kubevirtv1.VirtualMachineInstanceConditionType) corev1.ConditionStatus {
	for _, c := range vmi.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
