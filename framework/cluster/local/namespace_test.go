package local

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	kubevirtv1 "kubevirt.io/api/core/v1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework/client"
	vmtwait "github.com/vmt-conformance/vmt-conformance/framework/wait"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/cdi"
)

// TestNamespaceDeletionFinishes leaves in a namespace what a capture spec leaves (a running VM
// with a DataVolume disk, a finished request, the captured template with its cloned
// DataVolumes, every PVC bound, one PVC of its own) and deletes it: the namespace must be gone
// within wait.Medium, as on a real cluster. Without the PVC-protection controller every claim
// keeps kubernetes.io/pvc-protection and the namespace stays Terminating for good.
func TestNamespaceDeletionFinishes(t *testing.T) {
	if err := CheckAssets(DefaultAssetsDir()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), providerTestTimeout)
	defer cancel()
	p := NewProviderWithOptions(Options{StateRoot: t.TempDir()})
	if err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Down(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	c, err := ctrlclient.New(p.RESTConfig(), ctrlclient.Options{Scheme: client.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	converge := func(what string, timeout time.Duration, done func(ctx context.Context) (bool, string)) {
		t.Helper()
		var last string
		err := wait.PollUntilContextTimeout(ctx, vmtwait.Poll, timeout, true, func(ctx context.Context) (bool, error) {
			ok, seen := done(ctx)
			last = seen
			return ok, nil
		})
		if err != nil {
			t.Fatalf("waiting for %s: %v; last seen: %s", what, err, last)
		}
	}
	create := func(obj ctrlclient.Object) {
		t.Helper()
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "vmt-nsdelete-"}}
	create(ns)
	vm := fixtures.VM("source", fixtures.WithVMNamespace(ns.Name), fixtures.WithRunStrategy(kubevirtv1.RunStrategyAlways),
		fixtures.WithBlankDataVolumeDisk("data", "source-data", "1Gi"))
	create(vm)
	create(&corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "plain"},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: ptr(cdi.StorageClassName),
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	})
	converge("the source VM to be ready", vmtwait.Medium, func(ctx context.Context) (bool, string) {
		got := &kubevirtv1.VirtualMachine{}
		if err := c.Get(ctx, ctrlclient.ObjectKeyFromObject(vm), got); err != nil {
			return false, err.Error()
		}
		return got.Status.Ready, fmt.Sprintf("ready=%v printableStatus=%s", got.Status.Ready, got.Status.PrintableStatus)
	})
	req := fixtures.Request(ns.Name, "source", fixtures.WithRequestNamespace(ns.Name), fixtures.WithTemplateName("captured"))
	create(req)
	converge("the request to finish", vmtwait.Medium, func(ctx context.Context) (bool, string) {
		got := &templatev1beta1.VirtualMachineTemplateRequest{}
		if err := c.Get(ctx, ctrlclient.ObjectKeyFromObject(req), got); err != nil {
			return false, err.Error()
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == templatev1beta1.ConditionReady {
				return cond.Status == metav1.ConditionTrue && got.Status.TemplateRef != nil, fmt.Sprintf("Ready=%s %s: %s", cond.Status, cond.Reason, cond.Message)
			}
		}
		return false, "no Ready condition"
	})
	converge("every PVC to be bound", vmtwait.Medium, func(ctx context.Context) (bool, string) {
		pvcs := &corev1.PersistentVolumeClaimList{}
		if err := c.List(ctx, pvcs, ctrlclient.InNamespace(ns.Name)); err != nil {
			return false, err.Error()
		}
		var pending []string
		for _, pvc := range pvcs.Items {
			if pvc.Status.Phase != corev1.ClaimBound {
				pending = append(pending, pvc.Name+" "+string(pvc.Status.Phase))
			}
		}
		// the plain claim, the source disk and the captured template's clone at least
		return len(pvcs.Items) >= 3 && len(pending) == 0, fmt.Sprintf("%d PVCs, not bound: %v", len(pvcs.Items), pending)
	})
	dvs := &cdiv1beta1.DataVolumeList{}
	if err := c.List(ctx, dvs, ctrlclient.InNamespace(ns.Name)); err != nil {
		t.Fatal(err)
	}
	t.Logf("namespace %s holds %d DataVolumes before deletion", ns.Name, len(dvs.Items))

	if err := c.Delete(ctx, ns); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	err = wait.PollUntilContextTimeout(ctx, vmtwait.Poll, vmtwait.Medium, true, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, ctrlclient.ObjectKeyFromObject(ns), &corev1.Namespace{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("namespace %s not gone %v after deletion (wait.Medium): %v; left: %s", ns.Name, vmtwait.Medium, err, leftovers(ctx, c, ns.Name))
	}
	t.Logf("namespace %s gone %v after deletion", ns.Name, time.Since(deleted).Round(time.Millisecond))

	// The claims' volumes (reclaim policy Delete) go with them, as a provisioner deletes them.
	var left []string
	err = wait.PollUntilContextTimeout(ctx, vmtwait.Poll, vmtwait.Medium, true, func(ctx context.Context) (bool, error) {
		pvs := &corev1.PersistentVolumeList{}
		if err := c.List(ctx, pvs); err != nil {
			return false, err
		}
		left = left[:0]
		for _, pv := range pvs.Items {
			if pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.Namespace == ns.Name {
				left = append(left, fmt.Sprintf("%s %s finalizers %v", pv.Name, pv.Status.Phase, pv.Finalizers))
			}
		}
		return len(left) == 0, nil
	})
	if err != nil {
		t.Fatalf("volumes of namespace %s not gone %v after it (wait.Medium): %v; left: %v", ns.Name, vmtwait.Medium, err, left)
	}
}

// leftovers names the claims still in ns with their finalizers, and the namespace's
// conditions: what a stuck deletion waits for.
func leftovers(ctx context.Context, c ctrlclient.Client, ns string) string {
	var parts []string
	got := &corev1.Namespace{}
	if err := c.Get(ctx, ctrlclient.ObjectKey{Name: ns}, got); err != nil {
		parts = append(parts, err.Error())
	}
	for _, cond := range got.Status.Conditions {
		if cond.Status == corev1.ConditionTrue {
			parts = append(parts, fmt.Sprintf("%s: %s", cond.Type, cond.Message))
		}
	}
	pvcs := &corev1.PersistentVolumeClaimList{}
	if err := c.List(ctx, pvcs, ctrlclient.InNamespace(ns)); err != nil {
		parts = append(parts, err.Error())
	}
	for _, pvc := range pvcs.Items {
		parts = append(parts, fmt.Sprintf("PVC %s finalizers %v", pvc.Name, pvc.Finalizers))
	}
	return strings.Join(parts, "; ")
}

func ptr[T any](v T) *T { return &v }
