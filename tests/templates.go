package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/client"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// params are the values a spec passes to /process or /create.
type params map[string]string

// subresourceCall is the outcome of one POST to /process or /create: the decoded answer
// (on 200), the HTTP status, the API error (otherwise) and the warnings sent with it.
type subresourceCall struct {
	Processed *subresourcesv1beta1.ProcessedVirtualMachineTemplate
	Status    int
	Err       error
	Warnings  []string
}

func (c *subresourceCall) String() string {
	return fmt.Sprintf("HTTP %d, error %v, warnings %q", c.Status, c.Err, c.Warnings)
}

// warningCollector keeps the warnings of one request.
type warningCollector struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningCollector) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

// timedOut reports whether a call ended because no answer came in time: the client's
// request timeout, the context's deadline, or kube-apiserver's 504 for a proxied request
// that got none.
func timedOut(err error) bool {
	var netErr net.Error
	return apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &netErr) && netErr.Timeout())
}

// callSubresource POSTs ProcessOptions{parameters} to
// /apis/subresources.template.kubevirt.io/<version>/namespaces/<ns>/virtualmachinetemplates/<name>/<sub>
// as the identity of cs, in the version the suite speaks (framework.SubresourceVersion:
// v1beta1, or v1alpha1 on a cluster that serves only that). It never fails the spec: the
// caller asserts on the outcome.
func callSubresource(ctx context.Context, cs *client.Clients, ns, name, sub string, p params) *subresourceCall {
	GinkgoHelper()
	return callSubresourceVersion(ctx, cs, framework.SubresourceVersion(), ns, name, sub, p)
}

// callSubresourceVersion is callSubresource in an explicit version, for the specs about
// the versions themselves (VMT-025).
func callSubresourceVersion(ctx context.Context, cs *client.Clients, version, ns, name, sub string, p params) *subresourceCall {
	GinkgoHelper()
	body, err := json.Marshal(map[string]any{
		"apiVersion": core.SubresourceGroupName + "/" + version, "kind": "ProcessOptions", "parameters": p,
	})
	Expect(err).NotTo(HaveOccurred())
	return postSubresource(ctx, cs, version, ns, name, sub, body)
}

// postSubresource POSTs body as is (application/json) to /process or /create in version, for
// the specs about bodies that are not well-formed ProcessOptions.
func postSubresource(ctx context.Context, cs *client.Clients, version, ns, name, sub string, body []byte) *subresourceCall {
	GinkgoHelper()
	warnings := &warningCollector{}
	cfg := rest.CopyConfig(cs.Config)
	cfg.GroupVersion = &schema.GroupVersion{Group: core.SubresourceGroupName, Version: version}
	cfg.APIPath = "/apis"
	// Answers are decoded below; the codecs only need to understand metav1.Status errors.
	cfg.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion()
	cfg.WarningHandler = warnings
	cfg.WarningHandlerWithContext = nil
	rc, err := rest.RESTClientFor(cfg)
	Expect(err).NotTo(HaveOccurred(), "building a REST client for %s", cfg.GroupVersion)

	req := rc.Post().Namespace(ns).Resource(core.PluralResourceName).Name(name).SubResource(sub).
		SetHeader("Content-Type", "application/json").Body(body)
	res := req.Do(ctx)
	call := &subresourceCall{}
	res.StatusCode(&call.Status)
	raw, _ := res.Raw()
	call.Warnings = warnings.msgs
	// Error (not Raw) decodes the metav1.Status of a failed call into an API status error.
	if err := res.Error(); err != nil {
		call.Err = err
		if timedOut(err) {
			// Bounded by the clients' request interval (framework/client): say what was
			// awaited and for how long.
			call.Err = fmt.Errorf("timed out: no answer to POST %s within %v (request interval, -vmt.interval.request): %w",
				req.URL().Path, cfg.Timeout, err)
		}
		// client-go leaves the code unset for some answers it turns into errors itself
		// (e.g. 404 for a group that is not served); the error still carries it.
		var status apierrors.APIStatus
		if call.Status == 0 && errors.As(err, &status) {
			call.Status = int(status.Status().Code)
		}
		return call
	}
	call.Processed = &subresourcesv1beta1.ProcessedVirtualMachineTemplate{}
	Expect(json.Unmarshal(raw, call.Processed)).To(Succeed(), "decoding the %s answer: %s", sub, raw)
	return call
}

// process calls /process (the spoken version, framework.SubresourceVersion) as admin and expects 200.
func process(ctx context.Context, ns, name string, p params) *subresourcesv1beta1.ProcessedVirtualMachineTemplate {
	GinkgoHelper()
	call := callSubresource(ctx, framework.Admin(), ns, name, core.ProcessSubresource, p)
	Expect(call.Err).NotTo(HaveOccurred(), "processing %s/%s: %s", ns, name, call)
	Expect(call.Status).To(Equal(http.StatusOK), "processing %s/%s", ns, name)
	return call.Processed
}

// createTemplate creates the template as admin in ns and registers its deletion.
func createTemplate(ctx context.Context, ns string, t *templatev1beta1.VirtualMachineTemplate) *templatev1beta1.VirtualMachineTemplate {
	GinkgoHelper()
	t = t.DeepCopy()
	t.Namespace = ns
	Expect(framework.Admin().Client.Create(ctx, t)).To(Succeed(), "creating VirtualMachineTemplate %s/%s", ns, t.Name)
	DeferCleanup(deleteIgnoringNotFound, ctrlclient.Object(t))
	return t
}

// createObject creates any object as admin and registers its deletion. A cluster-scoped one
// (no namespace) gets the run's labels, so the cleanup check finds it.
func createObject[T ctrlclient.Object](ctx context.Context, obj T) T {
	GinkgoHelper()
	if obj.GetNamespace() == "" {
		namespace.AddRunLabels(obj)
	}
	Expect(framework.Admin().Client.Create(ctx, obj)).To(Succeed(), "creating %T %s/%s", obj, obj.GetNamespace(), obj.GetName())
	DeferCleanup(deleteIgnoringNotFound, ctrlclient.Object(obj))
	return obj
}

func deleteIgnoringNotFound(ctx context.Context, obj ctrlclient.Object) {
	err := framework.Admin().Client.Delete(ctx, obj)
	Expect(ctrlclient.IgnoreNotFound(err)).To(Succeed(), "deleting %T %s/%s", obj, obj.GetNamespace(), obj.GetName())
}

// vmsIn is a getter for Eventually/Consistently: the names of the VMs in ns.
func vmsIn(ns string) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		list, err := framework.Admin().KubeVirt.KubevirtV1().VirtualMachines(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(list.Items))
		for _, vm := range list.Items {
			names = append(names, vm.Name)
		}
		return names, nil
	}
}

// getVM reads a VM as admin.
func getVM(ctx context.Context, ns, name string) (*kubevirtv1.VirtualMachine, error) {
	return framework.Admin().KubeVirt.KubevirtV1().VirtualMachines(ns).Get(ctx, name, metav1.GetOptions{})
}

// beForbidden matches an API error with status 403.
func beForbidden() OmegaMatcher {
	return WithTransform(apierrors.IsForbidden, BeTrue())
}

// haveStatus matches a subresourceCall with the given HTTP status.
func haveStatus(code int) OmegaMatcher {
	return WithTransform(func(c *subresourceCall) int { return c.Status }, Equal(code))
}

// kubectl runs kubectl with the session's admin kubeconfig (the "standard tooling" the STP
// pipes rendered VMs into) and returns its combined output.
func kubectl(ctx context.Context, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, wait.Medium)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+framework.CurrentSession().KubeconfigPath)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ctrlInNamespace is the controller-runtime list option for one namespace.
func ctrlInNamespace(ns string) ctrlclient.ListOption { return ctrlclient.InNamespace(ns) }

// createOpts are the options of every create the suite makes through typed clients.
var createOpts = metav1.CreateOptions{}

// ctrlObject is obj as a controller-runtime object, for DeferCleanup(deleteIgnoringNotFound, ...).
func ctrlObject(obj ctrlclient.Object) ctrlclient.Object { return obj }

// resourceNames lists the names of discovered resources.
func resourceNames(rs []metav1.APIResource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

// decodeCapturedVM decodes the VM of a captured template strictly: a field the
// kubevirt.io/v1 VirtualMachine does not know fails the spec, as upstream's functional tests
// decode it (decodeFunctestVM, tests/template_request_test.go@v0.1.8, @v0.2.2:
// FromUnstructuredWithValidation with returnUnknownFields).
func decodeCapturedVM(tpl *templatev1beta1.VirtualMachineTemplate) *kubevirtv1.VirtualMachine {
	GinkgoHelper()
	Expect(tpl.Spec.VirtualMachine).NotTo(BeNil(), "template %s/%s has spec.virtualMachine", tpl.Namespace, tpl.Name)
	obj := map[string]any{}
	Expect(json.Unmarshal(tpl.Spec.VirtualMachine.Raw, &obj)).To(Succeed(), "the VM of template %s/%s is a JSON object", tpl.Namespace, tpl.Name)
	vm := &kubevirtv1.VirtualMachine{}
	Expect(runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, vm, true)).To(Succeed(),
		"the VM of template %s/%s decodes strictly as a kubevirt.io/v1 VirtualMachine (no unknown fields)", tpl.Namespace, tpl.Name)
	return vm
}
