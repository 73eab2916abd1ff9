package controller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/controller"
	"github.com/vmt-conformance/vmt-conformance/reference/engine"
)

func keyOf(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: name}
}

var bg = context.Background()

// condition is a condition's status, reason and message, for comparisons.
type condition struct {
	Status  metav1.ConditionStatus
	Reason  string
	Message string
}

func conditionOf(conds []metav1.Condition, t string) condition {
	c := meta.FindStatusCondition(conds, t)
	if c == nil {
		return condition{}
	}
	return condition{c.Status, c.Reason, c.Message}
}

// requestState fetches a request for Eventually: its Ready and Progressing conditions.
func requestState(ns, name string) func(Gomega) [2]condition {
	return func(g Gomega) [2]condition {
		req := &v1beta1.VirtualMachineTemplateRequest{}
		g.Expect(k8s.Get(bg, keyOf(ns, name), req)).To(Succeed())
		for _, c := range req.Status.Conditions {
			g.Expect(c.ObservedGeneration).To(Equal(req.Generation), "observedGeneration of %s", c.Type)
		}
		return [2]condition{
			conditionOf(req.Status.Conditions, v1beta1.ConditionReady),
			conditionOf(req.Status.Conditions, v1beta1.ConditionProgressing),
		}
	}
}

func ready(status metav1.ConditionStatus, reason, message string) condition {
	return condition{status, reason, message}
}

func progressing(status metav1.ConditionStatus, reason string) condition {
	return condition{Status: status, Reason: reason}
}

// sourceVM is a VM with two disks, a DataVolume (with its template) and a PVC, plus a
// containerDisk, an instance type, a MAC address and firmware serial and UUID.
func sourceVM(ns, name string) *virtv1.VirtualMachine {
	return &virtv1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
		Spec: virtv1.VirtualMachineSpec{
			RunStrategy:  ptr.To(virtv1.RunStrategyHalted),
			Instancetype: &virtv1.InstancetypeMatcher{Name: "u1.small"},
			DataVolumeTemplates: []virtv1.DataVolumeTemplateSpec{{
				ObjectMeta: metav1.ObjectMeta{Name: name + "-root"},
				Spec: cdiv1beta1.DataVolumeSpec{
					Source: &cdiv1beta1.DataVolumeSource{Blank: &cdiv1beta1.DataVolumeBlankImage{}},
					Storage: &cdiv1beta1.StorageSpec{Resources: corev1.VolumeResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
					}},
				},
			}},
			Template: &virtv1.VirtualMachineInstanceTemplateSpec{Spec: virtv1.VirtualMachineInstanceSpec{
				Domain: virtv1.DomainSpec{
					Devices: virtv1.Devices{Interfaces: []virtv1.Interface{{
						Name: "default", MacAddress: "02:00:00:00:00:01",
						InterfaceBindingMethod: virtv1.InterfaceBindingMethod{Masquerade: &virtv1.InterfaceMasquerade{}},
					}}},
					Firmware: &virtv1.Firmware{Serial: "serial-1", UUID: "0b0d2d1e-0000-0000-0000-000000000001"},
				},
				Networks: []virtv1.Network{{Name: "default", NetworkSource: virtv1.NetworkSource{Pod: &virtv1.PodNetwork{}}}},
				Volumes: []virtv1.Volume{
					{Name: "rootdisk", VolumeSource: virtv1.VolumeSource{DataVolume: &virtv1.DataVolumeSource{Name: name + "-root"}}},
					{Name: "datadisk", VolumeSource: virtv1.VolumeSource{PersistentVolumeClaim: &virtv1.PersistentVolumeClaimVolumeSource{
						PersistentVolumeClaimVolumeSource: corev1.PersistentVolumeClaimVolumeSource{ClaimName: name + "-data"},
					}}},
					{Name: "containerdisk", VolumeSource: virtv1.VolumeSource{ContainerDisk: &virtv1.ContainerDiskSource{Image: "quay.io/containerdisks/fedora"}}},
				},
			}},
		},
	}
}

func newRequest(ns, name, vmNS, vmName string, mutate ...func(*v1beta1.VirtualMachineTemplateRequest)) *v1beta1.VirtualMachineTemplateRequest {
	req := &v1beta1.VirtualMachineTemplateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1beta1.VirtualMachineTemplateRequestSpec{
			VirtualMachineRef: v1beta1.VirtualMachineReference{Namespace: vmNS, Name: vmName},
		},
	}
	for _, m := range mutate {
		m(req)
	}
	return req
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(bg, obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// kubevirt plays KubeVirt's and CDI's part for one request.
type kubevirt struct {
	t   *testing.T
	g   *WithT
	req *v1beta1.VirtualMachineTemplateRequest
	vm  *virtv1.VirtualMachine
}

func (k *kubevirt) snapshotKey() types.NamespacedName {
	return keyOf(k.req.Spec.VirtualMachineRef.Namespace, controller.StableName(k.req.Name, string(k.req.UID)))
}

// awaitSnapshot waits for the request's VirtualMachineSnapshot and checks it.
func (k *kubevirt) awaitSnapshot() *snapshotv1beta1.VirtualMachineSnapshot {
	k.t.Helper()
	snap := &snapshotv1beta1.VirtualMachineSnapshot{}
	k.g.Eventually(func() error { return k8s.Get(bg, k.snapshotKey(), snap) }).WithTimeout(settle).WithPolling(poll).Should(Succeed())
	k.g.Expect(snap.Labels).To(HaveKeyWithValue(v1beta1.LabelRequestUID, string(k.req.UID)))
	k.g.Expect(snap.Spec.Source.Kind).To(Equal("VirtualMachine"))
	k.g.Expect(ptr.Deref(snap.Spec.Source.APIGroup, "")).To(Equal("kubevirt.io"))
	k.g.Expect(snap.Spec.Source.Name).To(Equal(k.req.Spec.VirtualMachineRef.Name))
	return snap
}

// setSnapshotStatus replaces the snapshot's status.
func (k *kubevirt) setSnapshotStatus(status snapshotv1beta1.VirtualMachineSnapshotStatus) {
	k.t.Helper()
	snap := k.awaitSnapshot()
	snap.Status = &status
	k.g.Expect(k8s.Status().Update(bg, snap)).To(Succeed())
}

// completeSnapshot stores the VM in a ready snapshot content with one backup per volume
// (each with a VolumeSnapshot) and marks the snapshot Ready.
func (k *kubevirt) completeSnapshot(volumes ...string) {
	k.t.Helper()
	k.completeSnapshotWithContent(true, volumes...)
}

func (k *kubevirt) contentName() string { return "vmsnapshot-content-" + string(k.req.UID) }

// setContentReady sets readyToUse of the snapshot content.
func (k *kubevirt) setContentReady(readyToUse bool) {
	k.t.Helper()
	content := &snapshotv1beta1.VirtualMachineSnapshotContent{}
	k.g.Expect(k8s.Get(bg, keyOf(k.req.Spec.VirtualMachineRef.Namespace, k.contentName()), content)).To(Succeed())
	content.Status = &snapshotv1beta1.VirtualMachineSnapshotContentStatus{ReadyToUse: ptr.To(readyToUse)}
	k.g.Expect(k8s.Status().Update(bg, content)).To(Succeed())
}

// completeSnapshotWithContent is completeSnapshot with the content's readyToUse given.
func (k *kubevirt) completeSnapshotWithContent(contentReady bool, volumes ...string) {
	k.t.Helper()
	snapKey := k.snapshotKey()
	content := &snapshotv1beta1.VirtualMachineSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Namespace: snapKey.Namespace, Name: k.contentName()},
		Spec: snapshotv1beta1.VirtualMachineSnapshotContentSpec{
			VirtualMachineSnapshotName: ptr.To(snapKey.Name),
			Source: snapshotv1beta1.SourceSpec{VirtualMachine: &snapshotv1beta1.VirtualMachine{
				ObjectMeta: metav1.ObjectMeta{Namespace: k.vm.Namespace, Name: k.vm.Name, Labels: k.vm.Labels},
				Spec:       k.vm.Spec,
			}},
		},
	}
	for _, v := range volumes {
		content.Spec.VolumeBackups = append(content.Spec.VolumeBackups, snapshotv1beta1.VolumeBackup{
			VolumeName:            v,
			PersistentVolumeClaim: snapshotv1beta1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "pvc-" + v}},
			VolumeSnapshotName:    ptr.To("vmsnapshot-" + string(k.req.UID) + "-volume-" + v),
		})
	}
	k.g.Expect(k8s.Create(bg, content)).To(Succeed())
	k.setContentReady(contentReady)

	k.setSnapshotStatus(snapshotv1beta1.VirtualMachineSnapshotStatus{
		VirtualMachineSnapshotContentName: ptr.To(content.Name),
		Phase:                             snapshotv1beta1.Succeeded,
		ReadyToUse:                        ptr.To(true),
		Conditions: []snapshotv1beta1.Condition{
			{Type: snapshotv1beta1.ConditionReady, Status: corev1.ConditionTrue},
			{Type: snapshotv1beta1.ConditionProgressing, Status: corev1.ConditionFalse},
		},
	})
}

func (k *kubevirt) dataVolumeKey(volume string) types.NamespacedName {
	return keyOf(k.req.Namespace, controller.StableName(templateNameOf(k.req), string(k.req.UID), volume))
}

func templateNameOf(req *v1beta1.VirtualMachineTemplateRequest) string {
	if req.Spec.TemplateName != "" {
		return req.Spec.TemplateName
	}
	return req.Name
}

// awaitDataVolume waits for the clone of volume and checks how it was made.
func (k *kubevirt) awaitDataVolume(volume string) *cdiv1beta1.DataVolume {
	k.t.Helper()
	dv := &cdiv1beta1.DataVolume{}
	k.g.Eventually(func() error { return k8s.Get(bg, k.dataVolumeKey(volume), dv) }).WithTimeout(settle).WithPolling(poll).Should(Succeed())
	k.g.Expect(dv.Labels).To(HaveKeyWithValue(v1beta1.LabelRequestUID, string(k.req.UID)))
	k.g.Expect(dv.Annotations).To(HaveKeyWithValue(controller.AnnotationImmediateBinding, ""))
	k.g.Expect(dv.Spec.Source).NotTo(BeNil())
	k.g.Expect(dv.Spec.Source.Snapshot).To(Equal(&cdiv1beta1.DataVolumeSourceSnapshot{
		Namespace: k.req.Spec.VirtualMachineRef.Namespace,
		Name:      "vmsnapshot-" + string(k.req.UID) + "-volume-" + volume,
	}))
	k.g.Expect(dv.Spec.Storage).To(Equal(&cdiv1beta1.StorageSpec{}))
	return dv
}

// setDataVolume sets the clone's phase and Ready/Running conditions.
func (k *kubevirt) setDataVolume(volume string, phase cdiv1beta1.DataVolumePhase, readyStatus, runningStatus corev1.ConditionStatus) {
	k.t.Helper()
	dv := k.awaitDataVolume(volume)
	dv.Status.Phase = phase
	dv.Status.Conditions = []cdiv1beta1.DataVolumeCondition{
		{Type: cdiv1beta1.DataVolumeReady, Status: readyStatus},
		{Type: cdiv1beta1.DataVolumeRunning, Status: runningStatus},
		{Type: cdiv1beta1.DataVolumeBound, Status: corev1.ConditionTrue},
	}
	k.g.Expect(k8s.Status().Update(bg, dv)).To(Succeed())
}

// startRequest creates the source VM (when given) and the request, and waits until the
// controller has seen the request (finalizer set).
func startRequest(t *testing.T, vm *virtv1.VirtualMachine, req *v1beta1.VirtualMachineTemplateRequest) *kubevirt {
	t.Helper()
	g := NewWithT(t)
	if vm != nil {
		create(t, vm)
	}
	create(t, req)
	g.Eventually(func(g Gomega) []string {
		g.Expect(k8s.Get(bg, client.ObjectKeyFromObject(req), req)).To(Succeed())
		return req.Finalizers
	}).WithTimeout(settle).WithPolling(poll).Should(ContainElement(v1beta1.FinalizerSnapshotCleanup))
	return &kubevirt{t: t, g: g, req: req, vm: vm}
}

// capture plays a whole successful capture of the VM's volumes and waits for Ready.
func (k *kubevirt) capture(volumes, cloned []string) {
	k.t.Helper()
	snap := k.awaitSnapshot()
	k.g.Eventually(requestState(k.req.Namespace, k.req.Name)).WithTimeout(settle).WithPolling(poll).Should(Equal([2]condition{
		ready(metav1.ConditionFalse, v1beta1.ReasonWaiting, fmt.Sprintf("Waiting for VirtualMachineSnapshot %s/%s to be ready", snap.Namespace, snap.Name)),
		progressing(metav1.ConditionTrue, v1beta1.ReasonReconciling),
	}))

	k.completeSnapshot(volumes...)
	for _, v := range cloned {
		dv := k.awaitDataVolume(v)
		k.g.Expect(metav1.IsControlledBy(dv, k.req)).To(BeTrue(), "DataVolume %s is controlled by the request", dv.Name)
	}
	first := k.dataVolumeKey(cloned[0])
	k.g.Eventually(requestState(k.req.Namespace, k.req.Name)).WithTimeout(settle).WithPolling(poll).Should(Equal([2]condition{
		ready(metav1.ConditionFalse, v1beta1.ReasonWaiting, fmt.Sprintf("Waiting for DataVolume %s/%s to be ready", first.Namespace, first.Name)),
		progressing(metav1.ConditionTrue, v1beta1.ReasonWaiting),
	}))
	for _, v := range cloned {
		k.setDataVolume(v, cdiv1beta1.Succeeded, corev1.ConditionTrue, corev1.ConditionFalse)
	}
}

// awaitSuccess waits for the request to be Ready and returns its template.
func (k *kubevirt) awaitSuccess() *v1beta1.VirtualMachineTemplate {
	k.t.Helper()
	k.g.Eventually(requestState(k.req.Namespace, k.req.Name)).WithTimeout(settle).WithPolling(poll).Should(Equal([2]condition{
		ready(metav1.ConditionTrue, v1beta1.ReasonReconciled, controller.TemplateReadyMessage),
		progressing(metav1.ConditionFalse, v1beta1.ReasonReconciled),
	}))
	k.g.Expect(k8s.Get(bg, client.ObjectKeyFromObject(k.req), k.req)).To(Succeed())
	k.g.Expect(k.req.Status.TemplateRef).To(Equal(&corev1.LocalObjectReference{Name: templateNameOf(k.req)}))
	tpl := &v1beta1.VirtualMachineTemplate{}
	k.g.Expect(k8s.Get(bg, keyOf(k.req.Namespace, templateNameOf(k.req)), tpl)).To(Succeed())
	return tpl
}

// checkTemplate checks the captured template: labels, the NAME parameter, the VM stripped
// of identifiers and expanded, one DataVolumeTemplate per cloned disk.
func (k *kubevirt) checkTemplate(tpl *v1beta1.VirtualMachineTemplate, wantLabels map[string]string, cloned map[string]string) {
	k.t.Helper()
	g := k.g
	g.Expect(tpl.Labels).To(Equal(wantLabels))
	g.Expect(tpl.Spec.Parameters).To(Equal([]v1beta1.Parameter{{Name: "NAME", Required: true, Generate: "expression", From: "vm-[a-z0-9]{5}"}}))
	g.Expect(expander.called(k.vm.Namespace+"/"+k.vm.Name)).To(BeTrue(), "the VM was expanded in its namespace")

	res, err := engine.Processor{}.Process(tpl, map[string]string{"NAME": "copy"})
	g.Expect(err).NotTo(HaveOccurred())
	vm := res.VirtualMachine
	g.Expect(vm.Name).To(Equal("copy"))
	g.Expect(vm.Labels).To(BeEmpty())
	g.Expect(vm.Spec.Instancetype).To(BeNil())
	domain := vm.Spec.Template.Spec.Domain
	g.Expect(domain.CPU).NotTo(BeNil(), "instance type inlined")
	g.Expect(domain.Devices.Interfaces).To(HaveLen(1))
	g.Expect(domain.Devices.Interfaces[0].MacAddress).To(BeEmpty())
	g.Expect(domain.Firmware.Serial).To(BeEmpty())
	g.Expect(domain.Firmware.UUID).To(BeEmpty())

	// cloned: disk (volume's DataVolume name, or volume name) → volume.
	g.Expect(vm.Spec.DataVolumeTemplates).To(HaveLen(len(cloned)))
	for disk, volume := range cloned {
		var dvt *virtv1.DataVolumeTemplateSpec
		for i := range vm.Spec.DataVolumeTemplates {
			if vm.Spec.DataVolumeTemplates[i].Name == disk+"-copy" {
				dvt = &vm.Spec.DataVolumeTemplates[i]
			}
		}
		g.Expect(dvt).NotTo(BeNil(), "DataVolumeTemplate %s-copy", disk)
		g.Expect(dvt.Spec.Source.PVC).To(Equal(&cdiv1beta1.DataVolumeSourcePVC{Namespace: k.req.Namespace, Name: k.dataVolumeKey(volume).Name}))
		g.Expect(vm.Spec.Template.Spec.Volumes).To(ContainElement(virtv1.Volume{
			Name: volume, VolumeSource: virtv1.VolumeSource{DataVolume: &virtv1.DataVolumeSource{Name: disk + "-copy"}},
		}))
		dv := &cdiv1beta1.DataVolume{}
		g.Expect(k8s.Get(bg, k.dataVolumeKey(volume), dv)).To(Succeed())
		g.Expect(metav1.IsControlledBy(dv, tpl)).To(BeTrue(), "DataVolume %s is controlled by the template", dv.Name)
		g.Expect(dv.OwnerReferences).To(HaveLen(1))
	}
	g.Expect(vm.Spec.Template.Spec.Volumes).To(ContainElement(HaveField("Name", "containerdisk")))

	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(bg, k.snapshotKey(), &snapshotv1beta1.VirtualMachineSnapshot{}))
	}).WithTimeout(settle).WithPolling(poll).Should(BeTrue(), "snapshot deleted")
}

func TestTemplateReady(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := newNamespace(t, "vmt-ready")
	tpl := validTemplate("ready")
	tpl.Namespace = ns
	create(t, tpl)

	state := func(g Gomega) [2]any {
		got := &v1beta1.VirtualMachineTemplate{}
		g.Expect(k8s.Get(bg, keyOf(ns, "ready"), got)).To(Succeed())
		c := meta.FindStatusCondition(got.Status.Conditions, v1beta1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		return [2]any{condition{c.Status, c.Reason, c.Message}, c.ObservedGeneration == got.Generation}
	}
	want := [2]any{condition{metav1.ConditionTrue, v1beta1.ReasonReconciled, "VirtualMachineTemplate is ready to be processed"}, true}
	g.Eventually(state).WithTimeout(settle).WithPolling(poll).Should(Equal(want))

	// Changing the spec: observedGeneration follows.
	g.Expect(k8s.Get(bg, keyOf(ns, "ready"), tpl)).To(Succeed())
	tpl.Spec.Message = "changed"
	g.Expect(k8s.Update(bg, tpl)).To(Succeed())
	g.Expect(tpl.Generation).To(BeNumerically(">", 1))
	g.Eventually(state).WithTimeout(settle).WithPolling(poll).Should(Equal(want))
}

func TestCaptureSameNamespace(t *testing.T) {
	needCluster(t)
	ns := newNamespace(t, "vmt-capture")
	vm := sourceVM(ns, "fedora")
	req := newRequest(ns, "fedora-golden", ns, "fedora", func(r *v1beta1.VirtualMachineTemplateRequest) {
		r.Spec.TemplateLabels = map[string]string{"team": "blue"}
		r.Spec.TTLSecondsAfterFinished = ptr.To[int32](3600)
	})
	k := startRequest(t, vm, req)
	k.capture([]string{"rootdisk", "datadisk"}, []string{"rootdisk", "datadisk"})
	tpl := k.awaitSuccess()
	k.checkTemplate(tpl, map[string]string{"team": "blue", v1beta1.LabelRequestUID: string(req.UID)},
		map[string]string{"fedora-root": "rootdisk", "datadisk": "datadisk"})

	// A TTL that has not expired keeps the request.
	k.g.Consistently(func() error { return k8s.Get(bg, client.ObjectKeyFromObject(req), req) }).
		WithTimeout(hold).WithPolling(poll).Should(Succeed())
}

func TestCaptureAcrossNamespacesSkipsBackendStorageAndExpires(t *testing.T) {
	needCluster(t)
	source := newNamespace(t, "vmt-source")
	target := newNamespace(t, "vmt-target")
	vm := sourceVM(source, "rhel")
	req := newRequest(target, "rhel-req", source, "rhel", func(r *v1beta1.VirtualMachineTemplateRequest) {
		r.Spec.TemplateName = "rhel-golden"
		r.Spec.TTLSecondsAfterFinished = ptr.To[int32](0)
	})
	k := startRequest(t, vm, req)
	k.capture([]string{"rootdisk", "persistent-state-for-rhel", "datadisk"}, []string{"rootdisk", "datadisk"})

	// TTL 0: the request goes as soon as it succeeded; the template and its disks stay.
	k.g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(bg, client.ObjectKeyFromObject(req), &v1beta1.VirtualMachineTemplateRequest{}))
	}).WithTimeout(settle).WithPolling(poll).Should(BeTrue(), "request deleted after success")
	tpl := &v1beta1.VirtualMachineTemplate{}
	k.g.Expect(k8s.Get(bg, keyOf(target, "rhel-golden"), tpl)).To(Succeed())
	k.checkTemplate(tpl, map[string]string{v1beta1.LabelRequestUID: string(req.UID)},
		map[string]string{"rhel-root": "rootdisk", "datadisk": "datadisk"})
	err := k8s.Get(bg, k.dataVolumeKey("persistent-state-for-rhel"), &cdiv1beta1.DataVolume{})
	k.g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "backend storage is not cloned: %v", err)
}

func TestSnapshotOfMissingVMFails(t *testing.T) {
	needCluster(t)
	ns := newNamespace(t, "vmt-nosource")
	k := startRequest(t, nil, newRequest(ns, "ghost", ns, "does-not-exist"))
	snap := k.awaitSnapshot()
	// What KubeVirt reports for a snapshot whose source is missing.
	k.setSnapshotStatus(snapshotv1beta1.VirtualMachineSnapshotStatus{
		Conditions: []snapshotv1beta1.Condition{
			{Type: snapshotv1beta1.ConditionProgressing, Status: corev1.ConditionFalse, Reason: "Source does not exist"},
			{Type: snapshotv1beta1.ConditionReady, Status: corev1.ConditionFalse, Reason: "Source does not exist"},
		},
	})
	k.g.Eventually(requestState(ns, "ghost")).WithTimeout(settle).WithPolling(poll).Should(Equal([2]condition{
		ready(metav1.ConditionFalse, v1beta1.ReasonFailed, fmt.Sprintf("VirtualMachineSnapshot %s/%s failed", snap.Namespace, snap.Name)),
		progressing(metav1.ConditionFalse, v1beta1.ReasonFailed),
	}))
}

func TestTemplateNameConflictFailsForGoodAndIsKeptDespiteTTL(t *testing.T) {
	needCluster(t)
	ns := newNamespace(t, "vmt-conflict")
	taken := validTemplate("taken")
	taken.Namespace = ns
	create(t, taken)
	k := startRequest(t, sourceVM(ns, "fedora"), newRequest(ns, "req", ns, "fedora", func(r *v1beta1.VirtualMachineTemplateRequest) {
		r.Spec.TemplateName = "taken"
		r.Spec.TTLSecondsAfterFinished = ptr.To[int32](0)
	}))
	k.g.Eventually(requestState(ns, "req")).WithTimeout(settle).WithPolling(poll).Should(Equal([2]condition{
		ready(metav1.ConditionFalse, v1beta1.ReasonFailed, fmt.Sprintf("existing VirtualMachineTemplate %s/taken was not created by this request", ns)),
		progressing(metav1.ConditionFalse, v1beta1.ReasonFailed),
	}))
	k.g.Consistently(func() error { return k8s.Get(bg, keyOf(ns, "req"), &v1beta1.VirtualMachineTemplateRequest{}) }).
		WithTimeout(hold).WithPolling(poll).Should(Succeed(), "failed requests are never TTL-deleted")
	err := k8s.Get(bg, k.snapshotKey(), &snapshotv1beta1.VirtualMachineSnapshot{})
	k.g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no snapshot is taken: %v", err)
}

func TestContentWaitThenDataVolumeFailure(t *testing.T) {
	needCluster(t)
	ns := newNamespace(t, "vmt-dvfail")
	k := startRequest(t, sourceVM(ns, "fedora"), newRequest(ns, "req", ns, "fedora"))
	k.awaitSnapshot()
	// A content that is not readyToUse yet is looked at again after a while (not watched).
	k.completeSnapshotWithContent(false, "rootdisk", "datadisk")
	k.g.Eventually(requestState(ns, "req")).WithTimeout(settle).WithPolling(poll).Should(Equal([2]condition{
		ready(metav1.ConditionFalse, v1beta1.ReasonWaiting, fmt.Sprintf("Waiting for VirtualMachineSnapshotContent %s/%s to be ready", ns, k.contentName())),
		progressing(metav1.ConditionTrue, v1beta1.ReasonWaiting),
	}))
	k.setContentReady(true)
	k.setDataVolume("rootdisk", cdiv1beta1.Failed, corev1.ConditionFalse, corev1.ConditionFalse)
	failed := k.dataVolumeKey("rootdisk")
	k.g.Eventually(requestState(ns, "req")).WithTimeout(settle).WithPolling(poll).Should(Equal([2]condition{
		ready(metav1.ConditionFalse, v1beta1.ReasonFailed, fmt.Sprintf("DataVolume %s/%s failed", failed.Namespace, failed.Name)),
		progressing(metav1.ConditionFalse, v1beta1.ReasonFailed),
	}))
}

func TestInvalidConfiguration(t *testing.T) {
	needCluster(t)
	ns := newNamespace(t, "vmt-invalid")
	// Typed clients drop empty strings (omitempty); an explicit "" passes the CRD.
	body, err := json.Marshal(map[string]any{
		"apiVersion": v1beta1.GroupVersion.String(), "kind": "VirtualMachineTemplateRequest",
		"metadata": map[string]any{"name": "empty-ns"},
		"spec":     map[string]any{"virtualMachineRef": map[string]any{"namespace": "", "name": "fedora"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := send(rawClient().Post().AbsPath("/apis", v1beta1.GroupVersion.Group, v1beta1.GroupVersion.Version,
		"namespaces", ns, "virtualmachinetemplaterequests").Body(body))
	if a.err != nil {
		t.Fatal(a.err)
	}
	NewWithT(t).Eventually(requestState(ns, "empty-ns")).WithTimeout(settle).WithPolling(poll).Should(Equal([2]condition{
		ready(metav1.ConditionFalse, v1beta1.ReasonInvalidConfiguration, "virtualMachineRef.namespace cannot be empty"),
		progressing(metav1.ConditionFalse, v1beta1.ReasonInvalidConfiguration),
	}))
}

func TestDeletionRemovesSnapshot(t *testing.T) {
	needCluster(t)
	ns := newNamespace(t, "vmt-delete")
	k := startRequest(t, sourceVM(ns, "fedora"), newRequest(ns, "req", ns, "fedora"))
	k.awaitSnapshot()
	k.g.Expect(k8s.Delete(bg, k.req)).To(Succeed())
	k.g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(bg, k.snapshotKey(), &snapshotv1beta1.VirtualMachineSnapshot{}))
	}).WithTimeout(settle).WithPolling(poll).Should(BeTrue(), "snapshot deleted")
	k.g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(bg, client.ObjectKeyFromObject(k.req), &v1beta1.VirtualMachineTemplateRequest{}))
	}).WithTimeout(settle).WithPolling(poll).Should(BeTrue(), "request gone once the finalizer is removed")
}
