package apiserver

import (
	"context"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apiserver/pkg/warning"
	clientrest "k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	kubevirtv1 "kubevirt.io/api/core/v1"
	kubevirt "kubevirt.io/client-go/kubevirt"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/engine"
)

// TemplateGetter reads a template with the server's own identity.
type TemplateGetter interface {
	Get(ctx context.Context, namespace, name string) (*v1beta1.VirtualMachineTemplate, error)
}

// VirtualMachineCreator creates a VM with the server's own identity.
type VirtualMachineCreator interface {
	Create(ctx context.Context, namespace string, vm *kubevirtv1.VirtualMachine) (*kubevirtv1.VirtualMachine, error)
}

// handler is the logic both versions share (upstream's ProcessTemplate and the create step).
type handler struct {
	templates TemplateGetter
	vms       VirtualMachineCreator
	// processor is the engine as upstream's server uses it: crypto/rand for generated
	// values (and, only in self-tests, Options.FaultIgnoreParameterDefaults).
	processor engine.Processor
	// faultCreateOnProcess is Options.FaultCreateWithoutPermission.
	faultCreateOnProcess bool
	// faultNeverAnswer is Options.FaultNeverAnswer.
	faultNeverAnswer bool
	// faultCreateDropsMetadata is Options.FaultCreateDropsMetadata.
	faultCreateDropsMetadata bool
	// faultV1alpha1DropsMessage is Options.FaultV1alpha1DropsMessage (applied in storage).
	faultV1alpha1DropsMessage bool
}

// newHandler reads templates in version templates of template.kubevirt.io (templateGroupVersion).
func newHandler(cfg *clientrest.Config, templates schema.GroupVersion) (*handler, error) {
	templateClient, err := newTemplateClient(cfg, templates)
	if err != nil {
		return nil, err
	}
	vms, err := kubevirt.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the KubeVirt client: %w", err)
	}
	return &handler{templates: templateClient, vms: vmClient{vms}}, nil
}

// jsonLookahead is how far the YAML-or-JSON decoder looks for a leading '{', as upstream.
const jsonLookahead = 1024

// process is upstream's order of operations (virt-template.md §3.2): decode the body (400),
// read the template (500), merge values (409), check references (422, warnings), render
// (422).
func (h *handler) process(ctx context.Context, body io.Reader, namespace, name string) (*subresourcesv1beta1.ProcessedVirtualMachineTemplate, error) {
	opts := &subresourcesv1beta1.ProcessOptions{}
	if err := yaml.NewYAMLOrJSONDecoder(body, jsonLookahead).Decode(opts); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error parsing ProcessOptions: %v", err))
	}
	tpl, err := h.templates.Get(ctx, namespace, name)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("error getting VirtualMachineTemplate: %w", err))
	}
	if h.faultNeverAnswer {
		return nil, neverAnswer(ctx, namespace, name)
	}
	res, err := h.processor.Process(tpl, opts.Parameters)
	// Upstream sends the warnings as soon as the reference check ran, also when it or
	// rendering then fails.
	if res != nil {
		for _, w := range res.Warnings {
			warning.AddWarning(ctx, "", w)
		}
	}
	if err != nil {
		return nil, engine.StatusError(name, err)
	}
	return &subresourcesv1beta1.ProcessedVirtualMachineTemplate{
		TemplateRef:    &corev1.ObjectReference{Namespace: namespace, Name: name},
		VirtualMachine: res.VirtualMachine,
		Message:        res.Message,
	}, nil
}

// neverAnswer is the deliberate never-answer fault: the request was accepted (its body
// read, its template found) and gets no answer; it holds until its context ends (the caller
// went away, or a request timeout ended it), then gives up with a timeout error nobody waits
// for anymore. Errors before it (a bad body, a missing template) are still answered, so
// the server looks healthy: the simulator's readiness probe (/process of a template that
// does not exist) passes.
func neverAnswer(ctx context.Context, namespace, name string) error {
	klog.InfoS("fault never-answer: holding the request unanswered until it ends", "namespace", namespace, "template", name)
	<-ctx.Done()
	klog.InfoS("fault never-answer: the request ended unanswered", "namespace", namespace, "template", name, "cause", context.Cause(ctx))
	return apierrors.NewTimeoutError("fault never-answer: the request was never answered", 0)
}

// processOnly is /process: process and create nothing, unless the deliberate
// create-without-permission fault is injected, which also creates the VM with the server's
// identity (a failed create is only logged; the answer stays that of /process).
func (h *handler) processOnly(ctx context.Context, body io.Reader, namespace, name string) (*subresourcesv1beta1.ProcessedVirtualMachineTemplate, error) {
	out, err := h.process(ctx, body, namespace, name)
	if err != nil || !h.faultCreateOnProcess {
		return out, err
	}
	if _, err := h.vms.Create(ctx, namespace, out.VirtualMachine.DeepCopy()); err != nil {
		klog.InfoS("fault create-without-permission: creating the VM on /process failed", "namespace", namespace, "template", name, "err", err)
	} else {
		klog.InfoS("fault create-without-permission: created the VM on /process", "namespace", namespace, "template", name, "vm", out.VirtualMachine.Name)
	}
	return out, nil
}

// create processes, then creates the VM in the URL's namespace and answers with the VM as
// created. Any create failure (AlreadyExists, admission, a parameterised namespace that
// differs) is 500 with the cause, as upstream.
func (h *handler) create(ctx context.Context, body io.Reader, namespace, name string) (*subresourcesv1beta1.ProcessedVirtualMachineTemplate, error) {
	out, err := h.process(ctx, body, namespace, name)
	if err != nil {
		return nil, err
	}
	if h.faultCreateDropsMetadata {
		klog.InfoS("fault create-drops-metadata: creating the VM without its rendered labels and annotations", "namespace", namespace, "template", name)
		out.VirtualMachine.Labels, out.VirtualMachine.Annotations = nil, nil
	}
	vm, err := h.vms.Create(ctx, namespace, out.VirtualMachine)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("error creating VirtualMachine: %w", err))
	}
	out.VirtualMachine = vm
	return out, nil
}

// templateClient is a typed client for templates, like upstream's generated one: decoding
// drops apiVersion/kind, which is why 409 and 422 carry an empty group and kind. It reads
// version gv (v1beta1, or v1alpha1 for a release that serves no v1beta1) into the v1beta1
// Go types: both versions have the same fields.
type templateClient struct {
	rest clientrest.Interface
}

func newTemplateClient(cfg *clientrest.Config, gv schema.GroupVersion) (*templateClient, error) {
	scheme := runtime.NewScheme()
	scheme.AddKnownTypes(gv, &v1beta1.VirtualMachineTemplate{}, &v1beta1.VirtualMachineTemplateList{})
	metav1.AddToGroupVersion(scheme, gv)
	cfg = clientrest.CopyConfig(cfg)
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if cfg.UserAgent == "" {
		cfg.UserAgent = clientrest.DefaultKubernetesUserAgent()
	}
	rc, err := clientrest.RESTClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the template client: %w", err)
	}
	return &templateClient{rest: rc}, nil
}

// Get reads the template from kube-apiserver's watch cache (resourceVersion=0) and, when the
// cache does not have it yet, from etcd. The quorum read upstream makes on every call was
// half of a /process call's latency on the hermetic lane (issue 8: p50 3.9 → 2.2 ms, 214 →
// 411 sequential calls/s); the cache lags etcd by the watch delay (milliseconds), and the
// fallback keeps what a caller can observe: a template created just before /process is
// found. What the cache can still show is the version before an update or deletion made in
// that same instant, as any kube-apiserver read at resourceVersion=0 can.
func (c *templateClient) Get(ctx context.Context, namespace, name string) (*v1beta1.VirtualMachineTemplate, error) {
	tpl, err := c.get(ctx, namespace, name, "0")
	if apierrors.IsNotFound(err) {
		tpl, err = c.get(ctx, namespace, name, "")
	}
	return tpl, err
}

func (c *templateClient) get(ctx context.Context, namespace, name, resourceVersion string) (*v1beta1.VirtualMachineTemplate, error) {
	tpl := &v1beta1.VirtualMachineTemplate{}
	req := c.rest.Get().Namespace(namespace).Resource(core.PluralResourceName).Name(name)
	if resourceVersion != "" {
		req = req.Param("resourceVersion", resourceVersion)
	}
	if err := req.Do(ctx).Into(tpl); err != nil {
		return nil, err
	}
	return tpl, nil
}

type vmClient struct {
	kubevirt.Interface
}

func (c vmClient) Create(ctx context.Context, namespace string, vm *kubevirtv1.VirtualMachine) (*kubevirtv1.VirtualMachine, error) {
	created, err := c.KubevirtV1().VirtualMachines(namespace).Create(ctx, vm, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	// The typed client drops apiVersion/kind; upstream's kubecli restores them, so the
	// answer carries them.
	created.SetGroupVersionKind(kubevirtv1.VirtualMachineGroupVersionKind)
	return created, nil
}

// dropMessage is the deliberate v1alpha1-drops-message fault: serve answers as before, less
// the rendered message (errors are unchanged).
func dropMessage(serve func(context.Context, io.Reader, string, string) (*subresourcesv1beta1.ProcessedVirtualMachineTemplate, error)) func(context.Context, io.Reader, string, string) (*subresourcesv1beta1.ProcessedVirtualMachineTemplate, error) {
	return func(ctx context.Context, body io.Reader, namespace, name string) (*subresourcesv1beta1.ProcessedVirtualMachineTemplate, error) {
		out, err := serve(ctx, body, namespace, name)
		if out != nil {
			out.Message = ""
		}
		return out, err
	}
}
