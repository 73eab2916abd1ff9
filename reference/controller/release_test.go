package controller

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/emulation"
	"github.com/vmt-conformance/vmt-conformance/reference/engine"
)

// defaultRelease is what the controller plays without Options.Release.
var defaultRelease = release.For(emulation.Default)

var (
	v017 = release.MustParse("v0.1.7")
	v018 = release.MustParse("v0.1.8")
	v022 = release.MustParse("v0.2.2")
)

// StripsMACSerialUUID and SkipsPersistentState (v0.1.8+): v0.1.7 keeps the MAC, serial and
// UUID and clones the persistent-state volume like a disk.
func TestReleaseCapture(t *testing.T) {
	backups := []snapshotv1beta1.VolumeBackup{backup("rootdisk"), backup("persistent-state-for-fedora")}
	for _, tc := range []struct {
		v      release.Version
		strip  bool
		cloned int
	}{{v017, false, 2}, {v018, true, 1}, {v022, true, 1}} {
		rel := release.For(tc.v)
		if got := len(clonedVolumes(rel, backups)); got != tc.cloned {
			t.Errorf("%s: %d volumes cloned, want %d", tc.v, got, tc.cloned)
		}
		spec, err := templateSpec(rel, sourceVM(), clonedVolumes(rel, backups)[:1], "target", func(v string) string { return "clone-" + v })
		if err != nil {
			t.Fatal(err)
		}
		domain := spec.Template.Spec.Domain
		mac := domain.Devices.Interfaces[0].MacAddress
		stripped := mac == "" && domain.Firmware.Serial == "" && domain.Firmware.UUID == ""
		kept := mac == "02:00:00:00:00:01" && domain.Firmware.Serial == "serial-1" && domain.Firmware.UUID != ""
		if (tc.strip && !stripped) || (!tc.strip && !kept) {
			t.Errorf("%s: MAC %q serial %q UUID %q, strip=%v", tc.v, mac, domain.Firmware.Serial, domain.Firmware.UUID, tc.strip)
		}
	}
}

// CapturedNameGenerated (v0.2.0+) and RequestTemplateLabels (v0.2.0+).
func TestReleaseCapturedTemplate(t *testing.T) {
	req := &v1beta1.VirtualMachineTemplateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "req", UID: "uid-1"},
		Spec: v1beta1.VirtualMachineTemplateRequestSpec{
			TemplateLabels: map[string]string{"team": "qe"},
		},
	}
	for _, tc := range []struct {
		v      release.Version
		name   v1beta1.Parameter
		labels map[string]string
	}{
		{v018, v1beta1.Parameter{Name: "NAME", Required: true}, map[string]string{v1beta1.LabelRequestUID: "uid-1"}},
		{v022, v1beta1.Parameter{Name: "NAME", Required: true, Generate: engine.GeneratorExpression, From: "vm-[a-z0-9]{5}"},
			map[string]string{v1beta1.LabelRequestUID: "uid-1", "team": "qe"}},
	} {
		rel := release.For(tc.v)
		spec, err := templateSpec(rel, sourceVM(), nil, "ns", func(v string) string { return v })
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := newTemplate(rel, req, spec)
		if err != nil {
			t.Fatal(err)
		}
		if len(tpl.Spec.Parameters) != 1 || tpl.Spec.Parameters[0] != tc.name {
			t.Errorf("%s: parameters %+v, want %+v", tc.v, tpl.Spec.Parameters, tc.name)
		}
		if len(tpl.Labels) != len(tc.labels) || tpl.Labels["team"] != tc.labels["team"] || tpl.Labels[v1beta1.LabelRequestUID] != "uid-1" {
			t.Errorf("%s: labels %v, want %v", tc.v, tpl.Labels, tc.labels)
		}
	}
}

// RequestTTL (v0.2.0+): a finished request past its TTL is deleted by v0.2.2 and kept by
// v0.1.8.
func TestReleaseTTL(t *testing.T) {
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v       release.Version
		deleted bool
	}{{v018, false}, {v022, true}} {
		req := &v1beta1.VirtualMachineTemplateRequest{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "done", UID: "uid-1", Finalizers: []string{v1beta1.FinalizerSnapshotCleanup}},
			Spec: v1beta1.VirtualMachineTemplateRequestSpec{
				VirtualMachineRef:       v1beta1.VirtualMachineReference{Namespace: "src", Name: "vm"},
				TTLSecondsAfterFinished: ptr.To[int32](10),
			},
			Status: v1beta1.VirtualMachineTemplateRequestStatus{Conditions: []metav1.Condition{
				{Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonReconciled, LastTransitionTime: metav1.NewTime(now.Add(-time.Minute))},
				{Type: v1beta1.ConditionProgressing, Status: metav1.ConditionFalse, Reason: v1beta1.ReasonReconciled, LastTransitionTime: metav1.NewTime(now.Add(-time.Minute))},
			}},
		}
		scheme := NewSchemeFor(tc.v)
		c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(req).WithStatusSubresource(req).Build()
		r := &requestReconciler{client: c, apiReader: c, scheme: scheme, clock: clocktesting.NewFakePassiveClock(now), release: release.For(tc.v)}
		key := types.NamespacedName{Namespace: "ns", Name: "done"}
		if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key}); err != nil {
			t.Fatalf("%s: %v", tc.v, err)
		}
		got := &v1beta1.VirtualMachineTemplateRequest{}
		if err := c.Get(context.Background(), key, got); err != nil {
			t.Fatal(err)
		}
		if deleted := !got.DeletionTimestamp.IsZero(); deleted != tc.deleted {
			t.Errorf("%s: deleted %v, want %v", tc.v, deleted, tc.deleted)
		}
	}
}

// ServesV1beta1: before v0.2.0 the controller's Go types are template.kubevirt.io/v1alpha1
// kinds; Setup refuses a manager whose scheme is another release's.
func TestReleaseScheme(t *testing.T) {
	for _, tc := range []struct {
		v    release.Version
		want string
	}{{v017, "template.kubevirt.io/v1alpha1"}, {v018, "template.kubevirt.io/v1alpha1"}, {v022, "template.kubevirt.io/v1beta1"}, {release.Version{}, "template.kubevirt.io/v1beta1"}} {
		for _, obj := range []client.Object{&v1beta1.VirtualMachineTemplate{}, &v1beta1.VirtualMachineTemplateRequest{}} {
			gvk, err := apiutil.GVKForObject(obj, NewSchemeFor(tc.v))
			if err != nil || gvk.GroupVersion().String() != tc.want {
				t.Errorf("%s: %T is %v (%v), want %s", tc.v, obj, gvk, err, tc.want)
			}
		}
	}
	err := checkScheme(NewScheme(), release.For(v018))
	if err == nil || !strings.Contains(err.Error(), "maps templates to template.kubevirt.io/v1beta1, virt-template v0.1.8 serves template.kubevirt.io/v1alpha1") {
		t.Errorf("mismatched scheme: %v", err)
	}
	old := release.MustParse("v0.1.4")
	if _, err := resolveRelease(&old); err == nil || !strings.Contains(err.Error(), "oldest release the reference implementation plays is v0.1.7") {
		t.Errorf("v0.1.4: %v", err)
	}
}

// AdmissionCoversV1beta1: the webhook server of v0.1.8 serves only the v1alpha1 path, v0.2.2
// both. (A manager is built without contacting the API server.)
func TestReleaseWebhookPaths(t *testing.T) {
	for _, tc := range []struct {
		v       release.Version
		v1beta1 bool
	}{{v018, false}, {v022, true}} {
		opts := ctrl.Options{Scheme: NewSchemeFor(tc.v), Metrics: metricsserver.Options{BindAddress: "0"}}
		mgr, err := ctrl.NewManager(&rest.Config{Host: "https://127.0.0.1:1"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := setupWebhooks(mgr, release.For(tc.v)); err != nil {
			t.Fatal(err)
		}
		mux := mgr.GetWebhookServer().WebhookMux()
		for path, want := range map[string]bool{WebhookPathV1alpha1: true, WebhookPathV1beta1: tc.v1beta1} {
			_, pattern := mux.Handler(httptest.NewRequest(http.MethodPost, path, nil))
			if (pattern == path) != want {
				t.Errorf("%s: %s registered %v, want %v", tc.v, path, pattern == path, want)
			}
		}
	}
}
