package local

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	kubevirtv1 "kubevirt.io/api/core/v1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/vmt-conformance/vmt-conformance/framework/client"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// envtest logs through controller-runtime; without a logger it complains into benchmark
// output, where `make bench` looks for the figures.
func init() { ctrllog.SetLogger(logr.Discard()) }

// Intervals of the provider tests.
const (
	providerTestTimeout = 5 * time.Minute
	convergePoll        = 100 * time.Millisecond
	convergeTimeout     = time.Minute
	// processAfterEnable is issue 5's bound: /process answers this soon after enabling.
	processAfterEnable = 10 * time.Second
)

// TestTemplateGate turns the Template gate off and on again while a template exists: off
// removes both Deployments, the APIServices and the template CRDs (the template is lost, as
// upstream's operator loses it); on brings /process back within ten seconds.
func TestTemplateGate(t *testing.T) {
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
	for _, tm := range p.ControlPlane().Timings {
		t.Logf("%-35s %v", tm.Phase, tm.Duration.Round(time.Millisecond))
	}
	c, err := ctrlclient.New(p.RESTConfig(), ctrlclient.Options{Scheme: client.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := client.New(p.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	process := func(ctx context.Context, name string) error {
		return cs.Kube.CoreV1().RESTClient().Post().AbsPath("/apis", subresourcesv1beta1.GroupVersion.Group, subresourcesv1beta1.GroupVersion.Version,
			"namespaces", "default", "virtualmachinetemplates", name, "process").Body([]byte(`{}`)).SetHeader("Content-Type", "application/json").Do(ctx).Error()
	}
	converge := func(what string, done func(ctx context.Context) (bool, string)) {
		t.Helper()
		var last string
		err := wait.PollUntilContextTimeout(ctx, convergePoll, convergeTimeout, true, func(ctx context.Context) (bool, error) {
			ok, seen := done(ctx)
			last = seen
			return ok, nil
		})
		if err != nil {
			t.Fatalf("waiting for %s: %v; last seen: %s", what, err, last)
		}
	}
	deployed := func(ctx context.Context) (bool, string) {
		for _, name := range []string{"virt-template-apiserver", "virt-template-controller"} {
			d := &appsv1.Deployment{}
			if err := c.Get(ctx, ctrlclient.ObjectKey{Namespace: KubeVirtNamespace, Name: name}, d); err != nil {
				return false, err.Error()
			}
			if d.Status.AvailableReplicas != 1 {
				return false, fmt.Sprintf("%s: %d available", name, d.Status.AvailableReplicas)
			}
		}
		return true, "both Deployments Available"
	}
	removed := func(ctx context.Context) (bool, string) {
		for _, obj := range []ctrlclient.Object{
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: KubeVirtNamespace, Name: "virt-template-apiserver"}},
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: KubeVirtNamespace, Name: "virt-template-controller"}},
			&apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "virtualmachinetemplates.template.kubevirt.io"}},
			&apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "virtualmachinetemplaterequests.template.kubevirt.io"}},
		} {
			if err := c.Get(ctx, ctrlclient.ObjectKeyFromObject(obj), obj); !apierrors.IsNotFound(err) {
				return false, fmt.Sprintf("%T %s still there (%v)", obj, obj.GetName(), err)
			}
		}
		groups, err := cs.Kube.Discovery().ServerGroups()
		if err != nil {
			return false, err.Error()
		}
		for _, g := range groups.Groups {
			if g.Name == subresourcesv1beta1.GroupVersion.Group {
				return false, "discovery still lists " + g.Name
			}
		}
		return true, "everything removed"
	}
	setGate := func(on bool) {
		t.Helper()
		kv := &kubevirtv1.KubeVirt{}
		if err := c.Get(ctx, ctrlclient.ObjectKey{Namespace: KubeVirtNamespace, Name: KubeVirtName}, kv); err != nil {
			t.Fatal(err)
		}
		dc := kv.Spec.Configuration.DeveloperConfiguration
		dc.FeatureGates = slices.DeleteFunc(dc.FeatureGates, func(g string) bool { return g == "Template" })
		dc.DisabledFeatureGates = slices.DeleteFunc(dc.DisabledFeatureGates, func(g string) bool { return g == "Template" })
		if on {
			dc.FeatureGates = append(dc.FeatureGates, "Template")
		} else {
			dc.DisabledFeatureGates = append(dc.DisabledFeatureGates, "Template")
		}
		if err := c.Update(ctx, kv); err != nil {
			t.Fatal(err)
		}
	}
	template := func() *templatev1beta1.VirtualMachineTemplate {
		tpl := &templatev1beta1.VirtualMachineTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "survivor"}}
		tpl.Spec.VirtualMachine = &runtime.RawExtension{Raw: []byte(`{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{"name":"vm"},"spec":{"runStrategy":"Halted","template":{"spec":{"domain":{"devices":{}}}}}}`)}
		return tpl
	}

	converge("the template components after Up", deployed)
	if err := process(ctx, "missing"); !apierrors.IsInternalError(err) {
		t.Fatalf("/process of a missing template: want upstream's 500, got %v", err)
	}
	if err := c.Create(ctx, template()); err != nil {
		t.Fatal(err)
	}
	converge("the template to be Ready", func(ctx context.Context) (bool, string) {
		tpl := &templatev1beta1.VirtualMachineTemplate{}
		if err := c.Get(ctx, ctrlclient.ObjectKey{Namespace: "default", Name: "survivor"}, tpl); err != nil {
			return false, err.Error()
		}
		for _, cond := range tpl.Status.Conditions {
			if cond.Type == "Ready" {
				return cond.Status == metav1.ConditionTrue, fmt.Sprintf("Ready=%s %s", cond.Status, cond.Reason)
			}
		}
		return false, "no Ready condition"
	})

	setGate(false)
	converge("the template feature to be removed", removed)

	setGate(true)
	enabled := time.Now()
	converge("/process to answer again", func(ctx context.Context) (bool, string) {
		if err := process(ctx, "survivor"); !apierrors.IsInternalError(err) {
			return false, fmt.Sprintf("/process of the lost template: %v", err)
		}
		return true, "500: the template was removed with its CRD"
	})
	if took := time.Since(enabled); took > processAfterEnable {
		t.Errorf("/process answered %v after enabling; want ≤ %v", took.Round(time.Millisecond), processAfterEnable)
	} else {
		t.Logf("/process answered %v after enabling", took.Round(time.Millisecond))
	}
	converge("the template components after re-enabling", deployed)
	converge("the KubeVirt CR to be Available again", func(ctx context.Context) (bool, string) {
		kv := &kubevirtv1.KubeVirt{}
		if err := c.Get(ctx, ctrlclient.ObjectKey{Namespace: KubeVirtNamespace, Name: KubeVirtName}, kv); err != nil {
			return false, err.Error()
		}
		i := slices.IndexFunc(kv.Status.Conditions, func(c kubevirtv1.KubeVirtCondition) bool { return c.Type == kubevirtv1.KubeVirtConditionAvailable })
		if i < 0 {
			return false, "no Available condition"
		}
		cond := kv.Status.Conditions[i]
		return cond.Status == corev1.ConditionTrue, fmt.Sprintf("Available=%s %s: %s", cond.Status, cond.Reason, cond.Message)
	})
}

// BenchmarkProviderUp measures issue 5's target (≤ 8 s warm): the whole local lane from
// nothing to the KubeVirt CR Available — control plane, every CRD fixture, the simulator and
// both virt-template components serving. Lane binaries come from VMT_BIN_DIR or the cache.
func BenchmarkProviderUp(b *testing.B) {
	if err := CheckAssets(DefaultAssetsDir()); err != nil {
		b.Fatal(err)
	}
	bins, err := ResolveBinaries(context.Background(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Setenv(BinDirEnv, bins) // building is not starting
	root := b.TempDir()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		p := NewProviderWithOptions(Options{StateRoot: root})
		if err := p.Up(context.Background()); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		for _, t := range p.ControlPlane().Timings {
			b.Logf("run %d: %-35s %v", i, t.Phase, t.Duration.Round(time.Millisecond))
		}
		if err := p.Down(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/start")
}
