// Package simtest runs every simulator role against one hermetic control plane and checks
// each role's main and failure paths through kube-apiserver; the operator role, which runs
// the template components, is started by its own test (operator_test.go).
package simtest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"
	instancetypev1beta1 "kubevirt.io/api/instancetype/v1beta1"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/vmt-conformance/vmt-conformance/fixtures/crds"
	cluster "github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/framework/inforce"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/cdi"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/kit"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/virtapi"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/virtcontroller"
)

// eventually bounds every wait of a test; the simulator itself moves in milliseconds.
var eventually = 20 * time.Second

const pollEvery = 20 * time.Millisecond

var admin *rest.Config

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(withCluster(m))
}

func withCluster(m *testing.M) int {
	if err := cluster.CheckAssets(cluster.DefaultAssetsDir()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defs, err := crds.Load(crds.KubeVirt, crds.CDI, crds.Snapshot)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cp, err := cluster.Start(ctx, cluster.Options{CRDs: defs})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the control plane:", err)
		return 1
	}
	defer func() { _ = cp.Stop() }()
	admin = cp.RESTConfig()
	began := time.Now()
	mgr, err := ctrl.NewManager(admin, ctrl.Options{Scheme: kit.NewScheme(), Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var ready sync.WaitGroup
	ready.Add(2)
	if err := virtcontroller.Setup(mgr, virtcontroller.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := virtapi.Setup(mgr, virtapi.Options{Ready: ready.Done}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := cdi.Setup(mgr, cdi.Options{Ready: ready.Done}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mgrCtx, stopMgr := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	ready.Wait()
	fmt.Fprintf(os.Stderr, "simulator ready after %v\n", time.Since(began).Round(time.Millisecond))
	code := m.Run()
	stopMgr()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "simulator:", err)
		code = 1
	}
	// Shutdown unregisters what points at the simulator's ports.
	c := newClient(nil)
	for _, name := range []string{virtapi.WebhookConfigurationName, cdi.WebhookConfigurationName} {
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, &admissionWebhookConfig{}); err == nil {
			fmt.Fprintf(os.Stderr, "webhook configuration %s still registered after shutdown\n", name)
			code = 1
		}
	}
	return code
}

func newClient(t testing.TB) client.Client {
	c, err := client.New(admin, client.Options{Scheme: kit.NewScheme()})
	if err != nil {
		if t != nil {
			t.Fatal(err)
		}
		panic(err)
	}
	return c
}

type env struct {
	t  *testing.T
	c  client.Client
	ns string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if admin == nil {
		t.Skip("needs the hermetic control plane (not under -short)")
	}
	e := &env{t: t, c: newClient(t)}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "vmt-sim-"}}
	e.must(e.c.Create(context.Background(), ns))
	e.ns = ns.Name
	t.Cleanup(func() { _ = e.c.Delete(context.Background(), ns) })
	return e
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// eventually polls check until it returns "" (done) and fails with its last answer.
func (e *env) eventually(what string, check func() string) {
	e.t.Helper()
	deadline := time.Now().Add(eventually)
	last := ""
	for time.Now().Before(deadline) {
		if last = check(); last == "" {
			return
		}
		time.Sleep(pollEvery)
	}
	e.t.Fatalf("%s: %s", what, last)
}

func (e *env) get(obj client.Object, name string) error {
	return e.c.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: name}, obj)
}

func vm(name string, strategy kubevirtv1.VirtualMachineRunStrategy, opts ...func(*kubevirtv1.VirtualMachine)) *kubevirtv1.VirtualMachine {
	v := &kubevirtv1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: kubevirtv1.VirtualMachineSpec{RunStrategy: &strategy, Template: &kubevirtv1.VirtualMachineInstanceTemplateSpec{
			Spec: kubevirtv1.VirtualMachineInstanceSpec{Domain: kubevirtv1.DomainSpec{}},
		}},
	}
	for _, o := range opts {
		o(v)
	}
	return v
}

func withDisk(disk, volume string, src kubevirtv1.VolumeSource) func(*kubevirtv1.VirtualMachine) {
	return func(v *kubevirtv1.VirtualMachine) {
		s := &v.Spec.Template.Spec
		s.Domain.Devices.Disks = append(s.Domain.Devices.Disks, kubevirtv1.Disk{Name: disk})
		if volume != "" {
			s.Volumes = append(s.Volumes, kubevirtv1.Volume{Name: volume, VolumeSource: src})
		}
	}
}

func withBlankDataVolume(name string) func(*kubevirtv1.VirtualMachine) {
	return func(v *kubevirtv1.VirtualMachine) {
		v.Spec.DataVolumeTemplates = append(v.Spec.DataVolumeTemplates, kubevirtv1.DataVolumeTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: cdiv1beta1.DataVolumeSpec{Source: &cdiv1beta1.DataVolumeSource{Blank: &cdiv1beta1.DataVolumeBlankImage{}},
				Storage: &cdiv1beta1.StorageSpec{Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}},
		})
		withDisk(name, name, kubevirtv1.VolumeSource{DataVolume: &kubevirtv1.DataVolumeSource{Name: name}})(v)
	}
}

func TestVMRunsWithItsDataVolumeAndStops(t *testing.T) {
	e := newEnv(t)
	v := vm("vm-a", kubevirtv1.RunStrategyAlways, withBlankDataVolume("rootdisk"))
	v.Namespace = e.ns
	e.must(e.c.Create(context.Background(), v))

	e.eventually("DataVolume rootdisk Succeeded with a Bound claim", func() string {
		dv := &cdiv1beta1.DataVolume{}
		if err := e.get(dv, "rootdisk"); err != nil {
			return err.Error()
		}
		if !metav1.IsControlledBy(dv, v) && len(dv.OwnerReferences) == 0 {
			return "not owned by the VM"
		}
		pvc := &corev1.PersistentVolumeClaim{}
		if err := e.get(pvc, "rootdisk"); err != nil || pvc.Status.Phase != corev1.ClaimBound {
			return fmt.Sprintf("claim: %v %v", pvc.Status.Phase, err)
		}
		if dv.Status.Phase != cdiv1beta1.Succeeded || dv.Status.Progress != "100.0%" {
			return fmt.Sprintf("phase %s progress %s", dv.Status.Phase, dv.Status.Progress)
		}
		return ""
	})
	e.eventually("VM Running and ready with a Running VMI", func() string {
		got := &kubevirtv1.VirtualMachine{}
		if err := e.get(got, "vm-a"); err != nil {
			return err.Error()
		}
		vmi := &kubevirtv1.VirtualMachineInstance{}
		if err := e.get(vmi, "vm-a"); err != nil {
			return err.Error()
		}
		if got.Status.PrintableStatus != kubevirtv1.VirtualMachineStatusRunning || !got.Status.Ready || !got.Status.Created || vmi.Status.Phase != kubevirtv1.Running {
			return fmt.Sprintf("printable %s ready %v created %v vmi %s", got.Status.PrintableStatus, got.Status.Ready, got.Status.Created, vmi.Status.Phase)
		}
		return ""
	})

	got := &kubevirtv1.VirtualMachine{}
	e.must(e.get(got, "vm-a"))
	halted := kubevirtv1.RunStrategyHalted
	got.Spec.RunStrategy = &halted
	e.must(e.c.Update(context.Background(), got))
	e.eventually("VM Stopped without a VMI", func() string {
		got := &kubevirtv1.VirtualMachine{}
		if err := e.get(got, "vm-a"); err != nil {
			return err.Error()
		}
		vmi := &kubevirtv1.VirtualMachineInstance{}
		err := e.get(vmi, "vm-a")
		if got.Status.PrintableStatus != kubevirtv1.VirtualMachineStatusStopped || got.Status.Ready || err == nil && vmi.DeletionTimestamp == nil {
			return fmt.Sprintf("printable %s ready %v vmi err %v", got.Status.PrintableStatus, got.Status.Ready, err)
		}
		return ""
	})
}

func TestVMWithMissingInstancetypeReportsFailure(t *testing.T) {
	e := newEnv(t)
	v := vm("vm-b", kubevirtv1.RunStrategyAlways)
	v.Namespace = e.ns
	v.Spec.Instancetype = &kubevirtv1.InstancetypeMatcher{Name: "nope"}
	e.must(e.c.Create(context.Background(), v))
	e.eventually("Failure condition FailedFindInstancetype", func() string {
		got := &kubevirtv1.VirtualMachine{}
		if err := e.get(got, "vm-b"); err != nil {
			return err.Error()
		}
		for _, c := range got.Status.Conditions {
			if c.Type == kubevirtv1.VirtualMachineFailure && c.Reason == "FailedFindInstancetype" &&
				c.Message == `virtualmachineclusterinstancetypes.instancetype.kubevirt.io "nope" not found` {
				return ""
			}
		}
		return fmt.Sprintf("conditions %+v", got.Status.Conditions)
	})
}

func TestWebhookRejectsDiskWithoutVolumeAndConflicts(t *testing.T) {
	e := newEnv(t)
	v := vm("vm-c", kubevirtv1.RunStrategyHalted, withDisk("rootdisk", "", kubevirtv1.VolumeSource{}))
	v.Namespace = e.ns
	err := e.c.Create(context.Background(), v)
	want := `admission webhook "virtualmachine-validator.kubevirt.io" denied the request: spec.template.spec.domain.devices.disks[0].Name 'rootdisk' not found.`
	if err == nil || err.Error() != want {
		t.Fatalf("want %q, got %v", want, err)
	}

	it := &instancetypev1beta1.VirtualMachineClusterInstancetype{ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-small"},
		Spec: instancetypev1beta1.VirtualMachineInstancetypeSpec{CPU: instancetypev1beta1.CPUInstancetype{Guest: 2},
			Memory: instancetypev1beta1.MemoryInstancetype{Guest: resource.MustParse("1Gi")}}}
	e.must(e.c.Create(context.Background(), it))
	t.Cleanup(func() { _ = e.c.Delete(context.Background(), it) })
	v = vm("vm-d", kubevirtv1.RunStrategyHalted)
	v.Namespace = e.ns
	v.Spec.Instancetype = &kubevirtv1.InstancetypeMatcher{Name: it.Name}
	v.Spec.Template.Spec.Domain.CPU = &kubevirtv1.CPU{Cores: 4}
	err = e.c.Create(context.Background(), v)
	if err == nil || !strings.HasSuffix(err.Error(), "VM field(s) spec.template.spec.domain.cpu.cores conflicts with selected instance type") {
		t.Fatalf("want the instance type conflict, got %v", err)
	}
}

func TestExpandSpecAppliesTheInstancetype(t *testing.T) {
	e := newEnv(t)
	it := &instancetypev1beta1.VirtualMachineInstancetype{ObjectMeta: metav1.ObjectMeta{Name: "small", Namespace: e.ns},
		Spec: instancetypev1beta1.VirtualMachineInstancetypeSpec{CPU: instancetypev1beta1.CPUInstancetype{Guest: 2},
			Memory: instancetypev1beta1.MemoryInstancetype{Guest: resource.MustParse("2Gi")}}}
	e.must(e.c.Create(context.Background(), it))
	v := vm("vm-e", kubevirtv1.RunStrategyHalted)
	v.Spec.Instancetype = &kubevirtv1.InstancetypeMatcher{Name: "small", Kind: "VirtualMachineInstancetype"}
	out := &kubevirtv1.VirtualMachine{}
	e.eventually("expand-vm-spec answers through the aggregator", func() string {
		err := restFor(e.t).Put().AbsPath("/apis/subresources.kubevirt.io/v1/namespaces", e.ns, "expand-vm-spec").
			Body(mustJSON(e.t, v)).SetHeader("Content-Type", "application/json").Do(context.Background()).Into(out)
		if err != nil {
			return err.Error()
		}
		return ""
	})
	if out.Spec.Instancetype != nil || out.Spec.Template.Spec.Domain.CPU == nil || out.Spec.Template.Spec.Domain.CPU.Sockets != 2 ||
		out.Spec.Template.Spec.Domain.Memory == nil || out.Spec.Template.Spec.Domain.Memory.Guest.String() != "2Gi" {
		t.Fatalf("not expanded: %+v", out.Spec)
	}
	err := restFor(e.t).Get().AbsPath("/apis/subresources.kubevirt.io/v1/namespaces", e.ns, "virtualmachines", "missing", "expand-spec").Do(context.Background()).Error()
	if err == nil || !strings.Contains(err.Error(), `virtualmachine.kubevirt.io "missing" not found`) {
		t.Fatalf("want NotFound, got %v", err)
	}
}

func TestSnapshotOfVMAndOfMissingVM(t *testing.T) {
	e := newEnv(t)
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: e.ns},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	e.must(e.c.Create(context.Background(), pvc))
	v := vm("vm-f", kubevirtv1.RunStrategyHalted, withDisk("data", "data", kubevirtv1.VolumeSource{PersistentVolumeClaim: &kubevirtv1.PersistentVolumeClaimVolumeSource{
		PersistentVolumeClaimVolumeSource: corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}))
	v.Namespace = e.ns
	e.must(e.c.Create(context.Background(), v))
	apiGroup := "kubevirt.io"
	for _, name := range []string{"vm-f", "ghost"} {
		e.must(e.c.Create(context.Background(), &snapshotv1beta1.VirtualMachineSnapshot{ObjectMeta: metav1.ObjectMeta{Name: "snap-" + name, Namespace: e.ns},
			Spec: snapshotv1beta1.VirtualMachineSnapshotSpec{Source: corev1.TypedLocalObjectReference{APIGroup: &apiGroup, Kind: "VirtualMachine", Name: name}}}))
	}
	e.eventually("snapshot of vm-f Succeeded with its content", func() string {
		s := &snapshotv1beta1.VirtualMachineSnapshot{}
		if err := e.get(s, "snap-vm-f"); err != nil {
			return err.Error()
		}
		if s.Status == nil || s.Status.Phase != snapshotv1beta1.Succeeded || s.Status.ReadyToUse == nil || !*s.Status.ReadyToUse || s.Status.VirtualMachineSnapshotContentName == nil {
			return fmt.Sprintf("status %+v", s.Status)
		}
		content := &snapshotv1beta1.VirtualMachineSnapshotContent{}
		if err := e.get(content, *s.Status.VirtualMachineSnapshotContentName); err != nil {
			return err.Error()
		}
		if len(content.Spec.VolumeBackups) != 1 || content.Spec.VolumeBackups[0].VolumeSnapshotName == nil ||
			content.Spec.Source.VirtualMachine == nil || content.Spec.Source.VirtualMachine.Name != "vm-f" {
			return fmt.Sprintf("content %+v", content.Spec)
		}
		return ""
	})
	e.eventually("snapshot of a missing VM reports its source missing", func() string {
		s := &snapshotv1beta1.VirtualMachineSnapshot{}
		if err := e.get(s, "snap-ghost"); err != nil {
			return err.Error()
		}
		if s.Status != nil {
			for _, c := range s.Status.Conditions {
				if c.Type == snapshotv1beta1.ConditionProgressing && c.Status == corev1.ConditionFalse && c.Reason == "Source does not exist" {
					return ""
				}
			}
		}
		return fmt.Sprintf("status %+v", s.Status)
	})
}

func TestCrossNamespaceCloneNeedsDataVolumesSource(t *testing.T) {
	src, dst := newEnv(t), newEnv(t)
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "golden", Namespace: src.ns},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}}}}
	src.must(src.c.Create(context.Background(), pvc))
	ds := &cdiv1beta1.DataSource{ObjectMeta: metav1.ObjectMeta{Name: "fedora", Namespace: src.ns},
		Spec: cdiv1beta1.DataSourceSpec{Source: cdiv1beta1.DataSourceSource{PVC: &cdiv1beta1.DataVolumeSourcePVC{Name: "golden", Namespace: src.ns}}}}
	src.must(src.c.Create(context.Background(), ds))
	src.eventually("DataSource Ready", func() string {
		got := &cdiv1beta1.DataSource{}
		if err := src.get(got, "fedora"); err != nil {
			return err.Error()
		}
		for _, c := range got.Status.Conditions {
			if c.Type == cdiv1beta1.DataSourceReady && c.Status == corev1.ConditionTrue {
				return ""
			}
		}
		return fmt.Sprintf("conditions %+v", got.Status.Conditions)
	})

	// alice may create DataVolumes in dst but not clone from src.
	user := "alice-" + dst.ns
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "dv", Namespace: dst.ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"cdi.kubevirt.io"}, Resources: []string{"datavolumes"}, Verbs: []string{"create"}}}}
	dst.must(dst.c.Create(context.Background(), role))
	dst.must(dst.c.Create(context.Background(), &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "dv", Namespace: dst.ns},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "dv"}, Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: user}}}))
	groups := []string{"system:authenticated"}
	kube := kubernetes.NewForConfigOrDie(admin)
	dst.must(inforce.Allowed(context.Background(), kube, wait.Short, inforce.Accesses(user, groups, dst.ns, role.Rules...)...))
	cfg := rest.CopyConfig(admin)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	alice, err := client.New(cfg, client.Options{Scheme: kit.NewScheme()})
	dst.must(err)
	srcNS := src.ns
	dv := &cdiv1beta1.DataVolume{ObjectMeta: metav1.ObjectMeta{Name: "clone", Namespace: dst.ns},
		Spec: cdiv1beta1.DataVolumeSpec{SourceRef: &cdiv1beta1.DataVolumeSourceRef{Kind: "DataSource", Namespace: &srcNS, Name: "fedora"}, Storage: &cdiv1beta1.StorageSpec{}}}
	want := fmt.Sprintf("User %s has insufficient permissions in clone source namespace %s", user, src.ns)
	dst.eventually("denied while alice lacks datavolumes/source", func() string {
		err := alice.Create(context.Background(), dv.DeepCopy())
		if err == nil || !strings.Contains(err.Error(), want) {
			return fmt.Sprintf("want %q, got %v", want, err)
		}
		return ""
	})
	clone := rbacv1.PolicyRule{APIGroups: []string{"cdi.kubevirt.io"}, Resources: []string{"datavolumes/source"}, Verbs: []string{"create"}}
	src.must(src.c.Create(context.Background(), &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "clone", Namespace: src.ns},
		Rules: []rbacv1.PolicyRule{clone}}))
	src.must(src.c.Create(context.Background(), &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "clone", Namespace: src.ns},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "clone"}, Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: user}}}))
	src.must(inforce.Allowed(context.Background(), kube, wait.Short, inforce.Accesses(user, groups, src.ns, clone)...))
	dst.eventually("clone allowed and Succeeded with the source's size", func() string {
		got := &cdiv1beta1.DataVolume{}
		if err := dst.get(got, "clone"); err != nil {
			if err := alice.Create(context.Background(), dv.DeepCopy()); err != nil {
				return err.Error()
			}
			return "created"
		}
		claim := &corev1.PersistentVolumeClaim{}
		if err := dst.get(claim, "clone"); err != nil {
			return err.Error()
		}
		if got.Status.Phase != cdiv1beta1.Succeeded || claim.Spec.Resources.Requests.Storage().String() != "2Gi" {
			return fmt.Sprintf("phase %s size %s", got.Status.Phase, claim.Spec.Resources.Requests.Storage())
		}
		return ""
	})
}

func TestCloneOfMissingSourceWaits(t *testing.T) {
	e := newEnv(t)
	dv := &cdiv1beta1.DataVolume{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: e.ns},
		Spec: cdiv1beta1.DataVolumeSpec{Source: &cdiv1beta1.DataVolumeSource{PVC: &cdiv1beta1.DataVolumeSourcePVC{Name: "absent", Namespace: e.ns}}, Storage: &cdiv1beta1.StorageSpec{}}}
	e.must(e.c.Create(context.Background(), dv))
	e.eventually("Bound=False CloneWithoutSource", func() string {
		got := &cdiv1beta1.DataVolume{}
		if err := e.get(got, "orphan"); err != nil {
			return err.Error()
		}
		for _, c := range got.Status.Conditions {
			if c.Type == cdiv1beta1.DataVolumeBound && c.Reason == "CloneWithoutSource" && c.Message == "The source pvc absent doesn't exist" {
				return ""
			}
		}
		return fmt.Sprintf("status %+v", got.Status)
	})
}

type admissionWebhookConfig = admissionregistrationv1.ValidatingWebhookConfiguration

func restFor(t *testing.T) rest.Interface {
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	return cs.CoreV1().RESTClient()
}

func mustJSON(t *testing.T, v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
