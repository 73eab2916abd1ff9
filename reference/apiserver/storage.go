package apiserver

import (
	"context"
	"errors"
	"io"
	"net/http"

	"k8s.io/apimachinery/pkg/runtime"
	genericrequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/klog/v2"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
)

// version is what differs between v1alpha1 and v1beta1: only the types the answer is
// encoded in. Both run the same v1beta1 logic, as upstream.
type version struct {
	name      string // the subresource group version, v1beta1 or v1alpha1
	newParent func() runtime.Object
	newResult func() runtime.Object
	encode    func(*subresourcesv1beta1.ProcessedVirtualMachineTemplate) runtime.Object
}

var v1beta1Version = version{
	name:      "v1beta1",
	newParent: func() runtime.Object { return &subresourcesv1beta1.VirtualMachineTemplate{} },
	newResult: func() runtime.Object { return &subresourcesv1beta1.ProcessedVirtualMachineTemplate{} },
	encode:    func(p *subresourcesv1beta1.ProcessedVirtualMachineTemplate) runtime.Object { return p },
}

var v1alpha1Version = version{
	name:      "v1alpha1",
	newParent: func() runtime.Object { return &subresourcesv1alpha1.VirtualMachineTemplate{} },
	newResult: func() runtime.Object { return &subresourcesv1alpha1.ProcessedVirtualMachineTemplate{} },
	// The versions are field-for-field identical; only the envelope's apiVersion changes.
	encode: func(p *subresourcesv1beta1.ProcessedVirtualMachineTemplate) runtime.Object {
		return &subresourcesv1alpha1.ProcessedVirtualMachineTemplate{
			ObjectMeta:     p.ObjectMeta,
			TemplateRef:    p.TemplateRef,
			VirtualMachine: p.VirtualMachine,
			Message:        p.Message,
		}
	},
}

// parentREST is the virtualmachinetemplates resource of the subresource group. k8s.io/apiserver
// serves a subresource only below a stored parent; this one has no verbs and discovery hides
// it.
type parentREST struct {
	newObject func() runtime.Object
}

var (
	_ rest.Storage              = &parentREST{}
	_ rest.Scoper               = &parentREST{}
	_ rest.SingularNameProvider = &parentREST{}
)

func (p *parentREST) New() runtime.Object     { return p.newObject() }
func (p *parentREST) Destroy()                {}
func (p *parentREST) NamespaceScoped() bool   { return true }
func (p *parentREST) GetSingularName() string { return core.SingularResourceName }

// subresourceREST is /process or /create: a connecter that accepts POST only, so every other
// method is answered by k8s.io/apiserver (405), as upstream.
type subresourceREST struct {
	version version
	serve   func(ctx context.Context, body io.Reader, namespace, name string) (*subresourcesv1beta1.ProcessedVirtualMachineTemplate, error)
}

var (
	_ rest.Storage   = &subresourceREST{}
	_ rest.Connecter = &subresourceREST{}
)

func (s *subresourceREST) New() runtime.Object { return s.version.newResult() }
func (s *subresourceREST) Destroy()            {}

func (s *subresourceREST) NewConnectOptions() (runtime.Object, bool, string) { return nil, false, "" }
func (s *subresourceREST) ConnectMethods() []string                          { return []string{http.MethodPost} }

// Connect answers one request. ctx is the request's context: it carries the namespace and
// the warning recorder that turns unused-parameter warnings into Warning headers.
func (s *subresourceREST) Connect(ctx context.Context, name string, _ runtime.Object, r rest.Responder) (http.Handler, error) {
	namespace, ok := genericrequest.NamespaceFrom(ctx)
	if !ok || namespace == "" {
		return nil, errors.New("missing namespace")
	}
	return http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
		klog.V(5).InfoS("subresource request", "path", req.URL.Path, "namespace", namespace, "name", name)
		out, err := s.serve(ctx, req.Body, namespace, name)
		if err != nil {
			r.Error(err)
			return
		}
		r.Object(http.StatusOK, s.version.encode(out))
	}), nil
}
