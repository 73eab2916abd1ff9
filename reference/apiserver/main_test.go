package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"
	kubevirt "kubevirt.io/client-go/kubevirt"

	"github.com/vmt-conformance/vmt-conformance/fixtures/crds"
	cluster "github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/internal/testcluster"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	templateapi "github.com/vmt-conformance/vmt-conformance/reference/apiserver/local"
)

// admin is the cluster admin of the control plane TestMain starts; nil under -short.
var admin *rest.Config

// TestMain starts one hermetic control plane with the template and KubeVirt CRDs and the
// template API server registered behind its aggregator; every test and benchmark of the
// package talks to it through kube-apiserver.
func TestMain(m *testing.M) {
	testcluster.Main(m, testcluster.Options{Templates: true, Sets: []crds.Set{crds.KubeVirt},
		Started: func(ctx context.Context, cp *cluster.ControlPlane) (func(), error) {
			began := time.Now()
			stop, err := templateapi.StartWithOptions(ctx, cp.RESTConfig(), templateapi.Options{FrontProxyCA: cp.FrontProxyCA, Dir: cp.Dir()})
			if err != nil {
				return nil, fmt.Errorf("starting the template API server: %w", err)
			}
			fmt.Fprintf(os.Stderr, "template API server Available after %v\n", time.Since(began).Round(time.Millisecond))
			admin = cp.RESTConfig()
			return func() {
				if err := stop(); err != nil {
					fmt.Fprintln(os.Stderr, "stopping the template API server:", err)
				}
			}, nil
		}})
}

// env is one test's view of the cluster: a namespace of its own and the admin's clients.
type env struct {
	t        testing.TB
	ns       string
	kube     kubernetes.Interface
	kubevirt kubevirt.Interface
	rest     rest.Interface
}

func newEnv(t testing.TB) *env {
	t.Helper()
	if admin == nil {
		t.Skip("needs the hermetic control plane (not under -short)")
	}
	e := &env{t: t}
	e.kube = kubernetes.NewForConfigOrDie(admin)
	e.kubevirt = kubevirt.NewForConfigOrDie(admin)
	e.rest = restClient(t, admin)
	ns, err := e.kube.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "vmt-apiserver-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.ns = ns.Name
	t.Cleanup(func() {
		_ = e.kube.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	return e
}

// restClient talks raw HTTP to kube-apiserver so tests see status codes, messages and
// Warning headers exactly as clients do.
func restClient(t testing.TB, cfg *rest.Config) rest.Interface {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.APIPath = "/apis"
	cfg.GroupVersion = &v1beta1.GroupVersion
	cfg.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion() // knows metav1.Status
	cfg.QPS, cfg.Burst = -1, 0
	// Warnings are read from each result; the default handler would only log them.
	cfg.WarningHandler = rest.NoWarnings{}
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// createTemplate stores tpl in the env's namespace with the admin identity.
func (e *env) createTemplate(tpl *v1beta1.VirtualMachineTemplate) {
	e.t.Helper()
	tpl.Namespace = e.ns
	tpl.APIVersion, tpl.Kind = v1beta1.GroupVersion.String(), "VirtualMachineTemplate"
	body, err := json.Marshal(tpl)
	if err != nil {
		e.t.Fatal(err)
	}
	err = e.rest.Post().AbsPath("/apis", v1beta1.GroupVersion.Group, v1beta1.GroupVersion.Version,
		"namespaces", e.ns, core.PluralResourceName).SetHeader("Content-Type", "application/json").
		Body(body).Do(context.Background()).Error()
	if err != nil {
		e.t.Fatalf("creating template %s: %v", tpl.Name, err)
	}
}

// answer is one subresource response as seen by a client.
type answer struct {
	code     int
	body     []byte
	warnings []string
	err      error
}

// status is the answer's error as the API status it carries.
func (a answer) status() metav1.Status {
	if se, ok := a.err.(apierrors.APIStatus); ok {
		return se.Status()
	}
	return metav1.Status{}
}

// call POSTs body to /apis/subresources.template.kubevirt.io/<version>/namespaces/<ns>/
// virtualmachinetemplates/<name>/<subresource> with client c (the admin's when nil).
func (e *env) call(c rest.Interface, version, name, subresource, body string) answer {
	e.t.Helper()
	if c == nil {
		c = e.rest
	}
	res := c.Post().AbsPath(subresourcePath(version, e.ns, name, subresource)).
		SetHeader("Content-Type", "application/json").Body([]byte(body)).Do(context.Background())
	a := answer{err: res.Error()}
	res.StatusCode(&a.code)
	a.body, _ = res.Raw()
	for _, w := range res.Warnings() {
		a.warnings = append(a.warnings, w.Text)
	}
	return a
}

func subresourcePath(version, ns, name, subresource string) string {
	return path.Join("/apis", core.SubresourceGroupName, version, "namespaces", ns, core.PluralResourceName, name, subresource)
}

// fedora is a small template: NAME is required, CPU is typed into the cores, the message
// uses both; extra parameters are appended as given.
func fedora(name string, extra ...v1beta1.Parameter) *v1beta1.VirtualMachineTemplate {
	vm := map[string]any{
		"apiVersion": "kubevirt.io/v1",
		"kind":       "VirtualMachine",
		"metadata":   map[string]any{"name": "${NAME}", "labels": map[string]any{"app": "${NAME}"}},
		"spec": map[string]any{
			"runStrategy": "Halted",
			"template": map[string]any{
				"spec": map[string]any{
					"domain": map[string]any{
						"cpu":    map[string]any{"cores": "${{CPU}}"},
						"memory": map[string]any{"guest": "1Gi"},
					},
				},
			},
		},
	}
	raw, err := json.Marshal(vm)
	if err != nil {
		panic(err)
	}
	return &v1beta1.VirtualMachineTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1beta1.VirtualMachineTemplateSpec{
			VirtualMachine: &runtime.RawExtension{Raw: raw},
			Parameters: append([]v1beta1.Parameter{
				{Name: "NAME", Required: true},
				{Name: "CPU", Value: "2"},
			}, extra...),
			Message: "VirtualMachine ${NAME} has ${CPU} cores.",
		},
	}
}

// processed decodes an answer's body; apiVersion and kind are kept for assertions.
type processed struct {
	metav1.TypeMeta `json:",inline"`
	TemplateRef     *corev1.ObjectReference    `json:"templateRef"`
	VirtualMachine  *kubevirtv1.VirtualMachine `json:"virtualMachine"`
	Message         string                     `json:"message"`
}

func (e *env) decode(a answer) processed {
	e.t.Helper()
	if a.err != nil {
		e.t.Fatalf("want 200, got %d: %v", a.code, a.err)
	}
	var p processed
	if err := json.Unmarshal(a.body, &p); err != nil {
		e.t.Fatalf("decoding %s: %v", a.body, err)
	}
	return p
}
