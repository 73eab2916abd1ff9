// Package client builds the suite's clients for one identity: typed Kubernetes and KubeVirt
// clientsets, a dynamic client and a controller-runtime client whose scheme knows every API
// the scenarios touch.
package client

import (
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"
	instancetypev1beta1 "kubevirt.io/api/instancetype/v1beta1"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	kubevirt "kubevirt.io/client-go/kubevirt"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	templatev1alpha1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1alpha1"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// Scheme knows core Kubernetes, CRDs, KubeVirt (core, instancetype, snapshot), CDI and the
// template APIs (template.kubevirt.io and subresources.template.kubevirt.io, both versions).
var Scheme = runtime.NewScheme()

func init() {
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		apiextensionsv1.AddToScheme,
		kubevirtv1.AddToScheme,
		instancetypev1beta1.AddToScheme,
		snapshotv1beta1.AddToScheme,
		cdiv1beta1.AddToScheme,
		templatev1alpha1.AddToScheme,
		templatev1beta1.AddToScheme,
		subresourcesv1alpha1.AddToScheme,
		subresourcesv1beta1.AddToScheme,
	} {
		utilruntime.Must(add(Scheme))
	}
}

// AddToScheme lets other packages (the template API types) join the scheme at init.
func AddToScheme(add func(*runtime.Scheme) error) { utilruntime.Must(add(Scheme)) }

// Clients are the clients of one identity.
type Clients struct {
	Config   *rest.Config
	Kube     kubernetes.Interface
	KubeVirt kubevirt.Interface
	Dynamic  dynamic.Interface
	Client   ctrlclient.Client
}

// New builds every client for cfg. Every request is bounded by wait.Request (client-go
// sends it as the request's timeout parameter too), so a server that never answers fails
// the call, and the spec, within that interval.
func New(cfg *rest.Config) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = wait.Request
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building Kubernetes client: %w", err)
	}
	kv, err := kubevirt.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building KubeVirt client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building dynamic client: %w", err)
	}
	c, err := ctrlclient.New(cfg, ctrlclient.Options{Scheme: Scheme})
	if err != nil {
		return nil, fmt.Errorf("building controller-runtime client: %w", err)
	}
	// The template API version the cluster speaks (version.go): v1beta1 Go types, v1alpha1 wire.
	return &Clients{Config: cfg, Kube: kube, KubeVirt: kv, Dynamic: dyn, Client: Speaking(c, SpokenVersion())}, nil
}

// As returns clients that impersonate user with groups (system:authenticated is added, as the
// API server would for a real login). The admin identity must be allowed to impersonate.
func (c *Clients) As(user string, groups ...string) (*Clients, error) {
	cfg := rest.CopyConfig(c.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append(groups, "system:authenticated")}
	return New(cfg)
}
