package virtctl

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

var (
	scheme = runtime.NewScheme()
	codecs = serializer.NewCodecFactory(scheme)
)

func init() {
	utilruntime.Must(v1beta1.AddToScheme(scheme))
	utilruntime.Must(subresourcesv1beta1.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	utilruntime.Must(subresourcesv1alpha1.AddToScheme(scheme))
}

// openShiftTemplates is the resource `convert` reads from the cluster.
var openShiftTemplates = schema.GroupVersionResource{Group: "template.openshift.io", Version: "v1", Resource: "templates"}

// templateClient speaks to the two template APIs the way upstream's typed client does:
// template.kubevirt.io/v1beta1 for templates and requests, and plain POSTs to the aggregated
// subresources.template.kubevirt.io/v1beta1 for /process and /create (v1alpha1 for both when
// playing KubeVirt v1.8's virtctl; see release.go). Only client-go is used, so it works
// against any cluster that serves these paths. The commands work on the v1beta1 Go types
// whichever version goes over the wire.
type templateClient struct {
	namespace    string
	versions     apiVersions
	templates    rest.Interface
	subresources rest.Interface
}

func newRESTClient(cfg *rest.Config, gv schema.GroupVersion) (*rest.RESTClient, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	cfg.ContentType = runtime.ContentTypeJSON
	cfg.AcceptContentTypes = runtime.ContentTypeJSON
	cfg.NegotiatedSerializer = codecs.WithoutConversion()
	return rest.RESTClientFor(cfg)
}

func (c *connection) templateClient(namespace string) (*templateClient, error) {
	cfg, err := c.restConfig()
	if err != nil {
		return nil, err
	}
	versions, err := c.apiVersions()
	if err != nil {
		return nil, err
	}
	templates, err := newRESTClient(cfg, versions.templates)
	if err != nil {
		return nil, err
	}
	subresources, err := newRESTClient(cfg, versions.subresources)
	if err != nil {
		return nil, err
	}
	return &templateClient{namespace: namespace, versions: versions, templates: templates, subresources: subresources}, nil
}

// wire returns what goes over the wire for obj (a v1beta1 Go object) and for the answer
// into: themselves, or their v1alpha1 twins (alpha, alphaInto) when the client speaks
// v1alpha1; done copies the answer back into into.
func (t *templateClient) wire(obj, into, alpha, alphaInto runtime.Object) (body, answer runtime.Object, done func() error, err error) {
	if !t.versions.v1alpha1() {
		return obj, into, func() error { return nil }, nil
	}
	if obj != nil {
		if err := convertVersion(obj, alpha); err != nil {
			return nil, nil, nil, err
		}
	}
	return alpha, alphaInto, func() error { return convertVersion(alphaInto, into) }, nil
}

// subresource POSTs opts to /process or /create of the template name. The body is never
// empty: the encoder adds apiVersion and kind, and upstream's server refuses an empty body.
func (t *templateClient) subresource(ctx context.Context, name, subresource string,
	opts *subresourcesv1beta1.ProcessOptions,
) (*subresourcesv1beta1.ProcessedVirtualMachineTemplate, error) {
	out := &subresourcesv1beta1.ProcessedVirtualMachineTemplate{}
	body, answer, done, err := t.wire(opts, out, &subresourcesv1alpha1.ProcessOptions{}, &subresourcesv1alpha1.ProcessedVirtualMachineTemplate{})
	if err != nil {
		return nil, err
	}
	err = t.subresources.Post().
		Namespace(t.namespace).
		Resource(core.PluralResourceName).
		Name(name).
		SubResource(subresource).
		Body(body).
		Do(ctx).
		Into(answer)
	if err != nil {
		return out, err
	}
	return out, done()
}

func (t *templateClient) getTemplate(ctx context.Context, name string) (*v1beta1.VirtualMachineTemplate, error) {
	out := &v1beta1.VirtualMachineTemplate{}
	_, answer, done, err := t.wire(nil, out, nil, &v1alpha1.VirtualMachineTemplate{})
	if err != nil {
		return nil, err
	}
	err = t.templates.Get().
		Namespace(t.namespace).
		Resource(core.PluralResourceName).
		Name(name).
		Do(ctx).
		Into(answer)
	if err != nil {
		return out, err
	}
	return out, done()
}

func (t *templateClient) createRequest(ctx context.Context,
	req *v1beta1.VirtualMachineTemplateRequest,
) (*v1beta1.VirtualMachineTemplateRequest, error) {
	out := &v1beta1.VirtualMachineTemplateRequest{}
	body, answer, done, err := t.wire(req, out, &v1alpha1.VirtualMachineTemplateRequest{}, &v1alpha1.VirtualMachineTemplateRequest{})
	if err != nil {
		return nil, err
	}
	err = t.templates.Post().
		Namespace(t.namespace).
		Resource(core.PluralRequestResourceName).
		Body(body).
		Do(ctx).
		Into(answer)
	if err != nil {
		return out, err
	}
	return out, done()
}

// getOpenShiftTemplate reads a template.openshift.io/v1 Template with the dynamic client,
// so no OpenShift client library is needed.
func (c *connection) getOpenShiftTemplate(ctx context.Context, namespace, name string) (*openShiftTemplate, error) {
	cfg, err := c.restConfig()
	if err != nil {
		return nil, err
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	u, err := client.Resource(openShiftTemplates).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return openShiftTemplateFromUnstructured(u)
}

func openShiftTemplateFromUnstructured(u *unstructured.Unstructured) (*openShiftTemplate, error) {
	data, err := u.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("error encoding Template: %w", err)
	}
	tpl := &openShiftTemplate{}
	if err := decodeYAMLOrJSON(bytesReader(data), tpl); err != nil {
		return nil, fmt.Errorf("error decoding Template: %w", err)
	}
	return tpl, nil
}
