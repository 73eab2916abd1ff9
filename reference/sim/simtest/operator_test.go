package simtest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	kubevirtv1 "kubevirt.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cluster "github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/kit"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/operator"
)

// deployTimeout bounds the operator role's deployment of both components (processes that
// start and become ready through the aggregator) on a loaded machine.
const deployTimeout = 2 * time.Minute

// TestOperatorPlaysKubeVirt18 runs the operator role as the local lane's kubevirt-1.8
// profile does (KubeVirt v1.8.4, which deploys virt-template v0.1.8 behind an Alpha gate):
// without Template in featureGates nothing is deployed, though the CR reports its version;
// with it, both components become Available serving template.kubevirt.io and
// subresources.template.kubevirt.io v1alpha1 only, and each Deployment names its binary and
// carries the release as image tag. Deleting the CR removes everything again.
func TestOperatorPlaysKubeVirt18(t *testing.T) {
	e := newEnv(t)
	profile, err := cluster.LookupProfile("kubevirt-1.8")
	e.must(err)
	ctx, cancel := context.WithTimeout(context.Background(), 4*deployTimeout)
	defer cancel()
	bins, err := cluster.ResolveBinaries(ctx, nil)
	e.must(err)

	if testing.Verbose() {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	}
	cfg := rest.CopyConfig(admin)
	cfg.QPS, cfg.Burst = -1, 0 // as vmt-sim: the readiness wait polls several APIs at once
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: kit.NewScheme(), Metrics: metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)}})
	e.must(err)
	dir := os.Getenv("VMT_SIMTEST_OPERATOR_DIR") // keep the components' logs there
	if dir == "" {
		dir = t.TempDir()
	}
	e.must(operator.Setup(mgr, operator.Options{Dir: dir, BinDir: bins, Namespace: e.ns, KubeVirtVersion: profile.KubeVirtVersion}))
	mgrCtx, stopMgr := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	defer func() {
		stopMgr()
		if err := <-done; err != nil {
			t.Errorf("operator role: %v", err)
		}
	}()

	kv := &kubevirtv1.KubeVirt{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "kubevirt"}}
	kv.Spec.Configuration.DeveloperConfiguration = &kubevirtv1.DeveloperConfiguration{FeatureGates: []string{"Snapshot"}}
	e.must(e.c.Create(ctx, kv))
	dyn, err := dynamic.NewForConfig(admin)
	e.must(err)
	crdGone := func() string {
		_, err := dyn.Resource(apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")).Get(ctx, "virtualmachinetemplates.template.kubevirt.io", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return fmt.Sprintf("CRD virtualmachinetemplates.template.kubevirt.io is there (%v)", err)
		}
		return ""
	}
	defer func() { // the CR deleted: everything goes, CRDs included
		_ = e.c.Delete(context.Background(), kv)
		waitFor(e, "virt-template to be removed", deployTimeout, func() string {
			if why := crdGone(); why != "" {
				return why
			}
			for gvr, name := range map[schema.GroupVersionResource]string{
				{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}:                           "v1alpha1.subresources.template.kubevirt.io",
				{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}: "virt-template-validating-webhook-configuration",
			} {
				if _, err := dyn.Resource(gvr).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					return fmt.Sprintf("%s %s is there (%v)", gvr.Resource, name, err)
				}
			}
			return ""
		})
	}()

	available := func(wantMessage string) func() string {
		return func() string {
			got := &kubevirtv1.KubeVirt{}
			if err := e.c.Get(ctx, client.ObjectKeyFromObject(kv), got); err != nil {
				return err.Error()
			}
			if got.Status.ObservedKubeVirtVersion != "v1.8.4" || got.Status.TargetKubeVirtVersion != "v1.8.4" || got.Status.OperatorVersion != "v1.8.4" {
				return fmt.Sprintf("versions observed %q, target %q, operator %q; want v1.8.4", got.Status.ObservedKubeVirtVersion, got.Status.TargetKubeVirtVersion, got.Status.OperatorVersion)
			}
			i := slices.IndexFunc(got.Status.Conditions, func(c kubevirtv1.KubeVirtCondition) bool { return c.Type == kubevirtv1.KubeVirtConditionAvailable })
			if i < 0 {
				return "no Available condition"
			}
			c := got.Status.Conditions[i]
			if c.Status != corev1.ConditionTrue || c.Message != wantMessage {
				return fmt.Sprintf("Available=%s %s: %s", c.Status, c.Reason, c.Message)
			}
			return ""
		}
	}

	// Alpha and not listed: nothing is deployed, the CR still says what it is.
	waitFor(e, "the KubeVirt CR to report v1.8.4 without virt-template", eventually,
		available("virt-template is not deployed: the Template gate is Alpha and not listed in featureGates"))
	for _, name := range []string{operator.APIServerDeployment, operator.ControllerDeployment} {
		if err := e.c.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: name}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
			t.Errorf("Deployment %s with the Template gate unlisted: %v", name, err)
		}
	}
	if why := crdGone(); why != "" {
		t.Errorf("Template gate unlisted: %s", why)
	}

	// Listed: v0.1.8 is deployed and serves v1alpha1 only.
	got := &kubevirtv1.KubeVirt{}
	e.must(e.c.Get(ctx, client.ObjectKeyFromObject(kv), got))
	got.Spec.Configuration.DeveloperConfiguration.FeatureGates = profile.FeatureGates
	e.must(e.c.Update(ctx, got))
	waitFor(e, "virt-template v0.1.8 to be deployed", deployTimeout, available("All components are ready."))

	for name, bin := range map[string]string{operator.APIServerDeployment: "vmt-template-apiserver", operator.ControllerDeployment: "vmt-template-controller"} {
		d := &appsv1.Deployment{}
		e.must(e.c.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: name}, d))
		if d.Status.AvailableReplicas != 1 {
			t.Errorf("%s: %d available replicas", name, d.Status.AvailableReplicas)
		}
		if ann := d.Annotations[operator.BinaryAnnotation]; !strings.HasPrefix(ann, bins+"/"+bin+" sha256:") || len(ann) != len(bins+"/"+bin+" sha256:")+12 {
			t.Errorf("%s: %s=%q, want %q and 12 hex digits", name, operator.BinaryAnnotation, ann, bins+"/"+bin+" sha256:")
		}
		if ann := d.Annotations[release.VersionAnnotation]; ann != "v0.1.8" {
			t.Errorf("%s: %s=%q, want v0.1.8", name, release.VersionAnnotation, ann)
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if v, err := release.FromImage(c.Image); err != nil || v.String() != "v0.1.8" {
				t.Errorf("%s: container %s image %s: release %v (%v), want the tag v0.1.8", name, c.Name, c.Image, v, err)
			}
		}
	}
	kube, err := kubernetes.NewForConfig(admin)
	e.must(err)
	groups, err := kube.Discovery().ServerGroups()
	e.must(err)
	for _, g := range groups.Groups {
		if g.Name != "template.kubevirt.io" && g.Name != "subresources.template.kubevirt.io" {
			continue
		}
		var versions []string
		for _, v := range g.Versions {
			versions = append(versions, v.Version)
		}
		if !slices.Equal(versions, []string{"v1alpha1"}) {
			t.Errorf("discovery: %s serves %v, want only v1alpha1", g.Name, versions)
		}
	}

	// And it answers: a v1alpha1 template processes through the v1alpha1 subresource.
	tpl := map[string]any{
		"apiVersion": "template.kubevirt.io/v1alpha1", "kind": "VirtualMachineTemplate",
		"metadata": map[string]any{"name": "fedora"},
		"spec": map[string]any{
			"parameters": []any{map[string]any{"name": "NAME", "required": true}},
			"virtualMachine": map[string]any{
				"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
				"metadata": map[string]any{"name": "${NAME}"},
				"spec":     map[string]any{"runStrategy": "Halted", "template": map[string]any{"spec": map[string]any{"domain": map[string]any{"devices": map[string]any{}}}}},
			},
		},
	}
	templates := schema.GroupVersionResource{Group: "template.kubevirt.io", Version: "v1alpha1", Resource: "virtualmachinetemplates"}
	_, err = dyn.Resource(templates).Namespace(e.ns).Create(ctx, &unstructured.Unstructured{Object: tpl}, metav1.CreateOptions{})
	e.must(err)
	var answer string
	waitFor(e, "/process of subresources v1alpha1 to answer", eventually, func() string {
		raw, err := kube.CoreV1().RESTClient().Post().AbsPath("/apis/subresources.template.kubevirt.io/v1alpha1/namespaces", e.ns, "virtualmachinetemplates/fedora/process").
			Body([]byte(`{"apiVersion":"subresources.template.kubevirt.io/v1alpha1","kind":"ProcessOptions","parameters":{"NAME":"vm-a"}}`)).
			SetHeader("Content-Type", "application/json").Do(ctx).Raw()
		if err != nil {
			return err.Error()
		}
		answer = string(raw)
		return ""
	})
	if !strings.Contains(answer, `"name":"vm-a"`) || !strings.Contains(answer, `"apiVersion":"subresources.template.kubevirt.io/v1alpha1"`) {
		t.Errorf("/process answered %s", answer)
	}
}

// waitFor is env.eventually with its own bound.
func waitFor(e *env, what string, within time.Duration, check func() string) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		if last = check(); last == "" {
			return
		}
		time.Sleep(pollEvery)
	}
	e.t.Fatalf("%s (within %v): %s", what, within, last)
}
