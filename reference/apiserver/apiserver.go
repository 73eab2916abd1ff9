// Package apiserver is the aggregated API server of subresources.template.kubevirt.io: the
// POST-only /process and /create subresources of VirtualMachineTemplates, in v1alpha1 and
// v1beta1, as upstream kubevirt/virt-template's virt-template-apiserver (internal/apiserver)
// serves them. It is built on k8s.io/apiserver with delegated authentication (front-proxy
// request headers, TokenReview) and delegated authorization (SubjectAccessReview), so the
// caller's RBAC on virtualmachinetemplates/process and virtualmachinetemplates/create is
// enforced here as well as by kube-apiserver; templates are read and VMs created with the
// server's own identity.
//
// Handling, status codes and messages are those of docs/virt-template.md §3.2.
package apiserver

import (
	"context"
	"fmt"
	"net"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/compatibility"
	clientrest "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/emulation"
)

// Name is the server's name in k8s.io/apiserver's logs and health checks, upstream's
// deployment name.
const Name = "virt-template-apiserver"

// DefaultSecurePort is the port upstream's Deployment passes with --secure-port.
const DefaultSecurePort = 9443

// Scheme knows both versions of the subresource group and the unversioned meta types
// (Status, discovery) every generic API server serves.
var Scheme = runtime.NewScheme()

// Codecs serialize the types of Scheme.
var Codecs = serializer.NewCodecFactory(Scheme)

func init() {
	// v1alpha1 registers first: with equal scheme priority the earlier version is preferred in
	// this server's own group discovery, as upstream. (kube-apiserver's aggregated discovery
	// follows the APIServices' versionPriority instead.)
	utilruntime.Must(subresourcesv1alpha1.AddToScheme(Scheme))
	utilruntime.Must(subresourcesv1beta1.AddToScheme(Scheme))
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	Scheme.AddUnversionedTypes(schema.GroupVersion{Version: "v1"},
		&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
}

// Options are the command-line options of the server: upstream's secure serving and
// delegating authentication/authorization options, plus the kubeconfig of the server's own
// identity for running outside a cluster.
type Options struct {
	SecureServing  *genericoptions.SecureServingOptionsWithLoopback
	Authentication *genericoptions.DelegatingAuthenticationOptions
	Authorization  *genericoptions.DelegatingAuthorizationOptions
	// Kubeconfig is the server's own identity (reading templates, creating VMs) and, unless
	// --authentication-kubeconfig/--authorization-kubeconfig say otherwise, the identity of
	// its TokenReviews and SubjectAccessReviews. Empty means the in-cluster service account.
	Kubeconfig string
	// ClientQPS and ClientBurst rate-limit the server's own requests to kube-apiserver (ours,
	// not upstream's: upstream keeps client-go's default of 5/10). Negative QPS, the default,
	// means no client-side limit; tests set a positive one to play a throttled server.
	ClientQPS   float32
	ClientBurst int
	// Release is the virt-template release the server plays (--emulate-release, release.go):
	// which versions it serves and whether it serves its own /apis document. NewOptions sets
	// emulation.Default (v0.2.2); the unknown version is the newest behaviour.
	Release release.Version

	// Deliberate bugs for the suite's self-tests (package reference/faults); no flag sets
	// them, only cmd/vmt-template-apiserver from VMT_REFERENCE_FAULTS. Never set them
	// otherwise.
	//
	// FaultIgnoreParameterDefaults processes templates as if no parameter had a value.
	FaultIgnoreParameterDefaults bool
	// FaultCreateWithoutPermission makes /process create the VM as well, with the server's
	// identity: a caller allowed virtualmachinetemplates/process but refused
	// virtualmachinetemplates/create (by kube-apiserver, which authorizes the subresource
	// before it proxies, and by this server's delegated SubjectAccessReview) still gets a VM.
	FaultCreateWithoutPermission bool
	// FaultNeverAnswer makes /process and /create of a template that exists accept the
	// request and never answer: each holds until the request's context ends (the caller gave
	// up, or a request timeout of kube-apiserver or of this server ended it). A bad body or a
	// missing template is still answered at once.
	FaultNeverAnswer bool
	// FaultCreateDropsMetadata makes /create remove the labels and annotations /process
	// renders from the VM before creating it.
	FaultCreateDropsMetadata bool
	// FaultV1alpha1DropsMessage makes the v1alpha1 /process and /create answer without the
	// rendered message (v1beta1 answers keep it).
	FaultV1alpha1DropsMessage bool
}

// NewOptions returns upstream's defaults, with the secure port upstream deploys with.
func NewOptions() *Options {
	o := &Options{
		SecureServing:  genericoptions.NewSecureServingOptions().WithLoopback(),
		Authentication: genericoptions.NewDelegatingAuthenticationOptions(),
		Authorization:  genericoptions.NewDelegatingAuthorizationOptions(),
	}
	o.SecureServing.BindPort = DefaultSecurePort
	// Without --tls-cert-file the self-signed certificate stays in memory unless --cert-dir
	// names a directory (k8s.io/apiserver's default writes below the working directory).
	o.SecureServing.ServerCert.CertDirectory = ""
	o.SecureServing.ServerCert.PairName = "apiserver"
	o.ClientQPS, o.ClientBurst = -1, 10
	o.Release = emulation.Default
	return o
}

// AddFlags registers every option on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.SecureServing.AddFlags(fs)
	o.Authentication.AddFlags(fs)
	o.Authorization.AddFlags(fs)
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig,
		"kubeconfig of the server's own identity, for running outside a cluster; also used for delegated authentication and authorization unless their own kubeconfig flags are set (default: in-cluster service account)")
	fs.Float32Var(&o.ClientQPS, "client-qps", o.ClientQPS,
		"requests per second the server's own client may send to kube-apiserver; -1: no client-side limit (not an upstream flag: upstream has client-go's default of 5)")
	fs.IntVar(&o.ClientBurst, "client-burst", o.ClientBurst,
		"burst of the server's own client when --client-qps is positive (not an upstream flag)")
	fs.Var(emulation.Flag{V: &o.Release}, emulation.FlagName, emulation.Usage)
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	errs = append(errs, o.SecureServing.Validate()...)
	errs = append(errs, o.Authentication.Validate()...)
	errs = append(errs, o.Authorization.Validate()...)
	if o.ClientQPS == 0 || (o.ClientQPS < 0 && o.ClientQPS != -1) {
		errs = append(errs, fmt.Errorf("--client-qps=%g: want -1 (no client-side limit) or a positive rate", o.ClientQPS))
	}
	if o.ClientQPS > 0 && o.ClientBurst < 1 {
		errs = append(errs, fmt.Errorf("--client-burst=%d: want at least 1 with --client-qps=%g", o.ClientBurst, o.ClientQPS))
	}
	if err := emulation.Check(o.Release); err != nil {
		errs = append(errs, fmt.Errorf("--%s: %w", emulation.FlagName, err))
	}
	return utilerrors.NewAggregate(errs)
}

// Server is a configured, not yet running, template API server.
type Server struct {
	generic *genericapiserver.GenericAPIServer
}

// New builds the server from options: TLS and listener, delegated authentication and
// authorization, the server's clients, both API versions, and discovery without the parent
// resource.
func New(o *Options) (*Server, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Kubeconfig != "" {
		if o.Authentication.RemoteKubeConfigFile == "" {
			o.Authentication.RemoteKubeConfigFile = o.Kubeconfig
		}
		if o.Authorization.RemoteKubeConfigFile == "" {
			o.Authorization.RemoteKubeConfigFile = o.Kubeconfig
		}
	}
	clientConfig, err := o.clientConfig()
	if err != nil {
		return nil, err
	}
	rel := release.For(o.Release)
	h, err := newHandler(clientConfig, templateGroupVersion(rel))
	if err != nil {
		return nil, err
	}
	h.processor.FaultIgnoreParameterDefaults = o.FaultIgnoreParameterDefaults
	h.faultCreateOnProcess = o.FaultCreateWithoutPermission
	h.faultNeverAnswer = o.FaultNeverAnswer
	h.faultCreateDropsMetadata = o.FaultCreateDropsMetadata
	h.faultV1alpha1DropsMessage = o.FaultV1alpha1DropsMessage

	// Without --tls-cert-file an in-memory self-signed certificate keeps the server usable
	// for development; deployments always pass a certificate.
	if err := o.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{net.ParseIP("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("creating a self-signed serving certificate: %w", err)
	}

	config := genericapiserver.NewRecommendedConfig(Codecs)
	config.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
	config.OpenAPIConfig = openAPIConfig()
	config.OpenAPIV3Config = openAPIV3Config()
	// SubresourceDiscovery: before v0.2.0 no /apis document of its own
	// (internal/apiserver/apiserver.go@v0.1.8:79-80).
	config.EnableDiscovery = rel.Has(release.SubresourceDiscovery)
	// Discovery of the group and its versions is public, as upstream: kube-apiserver's
	// availability check calls it without a user.
	o.Authorization.AlwaysAllowPaths = append(o.Authorization.AlwaysAllowPaths,
		"/", genericapiserver.APIGroupPrefix, "/openapi/v2", "/openapi/v3", "/openapi/v3/*",
		genericapiserver.APIGroupPrefix+"/"+core.SubresourceGroupName,
		genericapiserver.APIGroupPrefix+"/"+subresourcesv1alpha1.GroupVersion.String(),
		genericapiserver.APIGroupPrefix+"/"+subresourcesv1beta1.GroupVersion.String(),
	)
	if err := o.SecureServing.ApplyTo(&config.SecureServing, &config.LoopbackClientConfig); err != nil {
		return nil, fmt.Errorf("applying secure serving options: %w", err)
	}
	if err := o.Authentication.ApplyTo(&config.Authentication, config.SecureServing, config.OpenAPIConfig); err != nil {
		return nil, fmt.Errorf("applying delegated authentication options: %w", err)
	}
	if err := o.Authorization.ApplyTo(&config.Authorization); err != nil {
		return nil, fmt.Errorf("applying delegated authorization options: %w", err)
	}

	generic, err := config.Complete().New(Name, genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, fmt.Errorf("creating the generic API server: %w", err)
	}
	group := genericapiserver.NewDefaultAPIGroupInfo(core.SubresourceGroupName, Scheme, runtime.NewParameterCodec(Scheme), Codecs)
	served := servedVersions(rel)
	group.PrioritizedVersions = nil
	for _, sv := range served {
		group.PrioritizedVersions = append(group.PrioritizedVersions, sv.gv)
		group.VersionedResourcesStorageMap[sv.gv.Version] = h.storage(sv.version)
	}
	if err := generic.InstallAPIGroup(&group); err != nil {
		return nil, fmt.Errorf("installing %s: %w", core.SubresourceGroupName, err)
	}
	for _, sv := range served {
		if err := hideParentFromDiscovery(generic, sv.gv, core.PluralResourceName); err != nil {
			return nil, err
		}
	}
	return &Server{generic: generic}, nil
}

// Run serves until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	return s.generic.PrepareRun().RunWithContext(ctx)
}

// clientConfig is the server's own identity. Client-side rate limiting is off unless
// --client-qps asks for it: every
// request to this server costs one GET (and one create for /create) on kube-apiserver, and
// client-go's default of 5 QPS/burst 10 would throttle the subresources far below what
// kube-apiserver serves. kube-apiserver's API Priority and Fairness protects it instead, as
// it does for every other client.
func (o *Options) clientConfig() (*clientrest.Config, error) {
	var (
		cfg *clientrest.Config
		err error
	)
	if o.Kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	} else {
		cfg, err = clientrest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("loading the server's client configuration: %w", err)
	}
	cfg.QPS, cfg.Burst, cfg.RateLimiter = -1, 0, nil
	if o.ClientQPS > 0 {
		cfg.QPS, cfg.Burst = o.ClientQPS, o.ClientBurst
	}
	return cfg, nil
}

// storage is one version's resources: the verb-less parent and the two subresources.
func (h *handler) storage(v version) map[string]rest.Storage {
	process, create := h.processOnly, h.create
	if h.faultV1alpha1DropsMessage && v.name == v1alpha1Version.name {
		process, create = dropMessage(process), dropMessage(create)
	}
	return map[string]rest.Storage{
		core.PluralResourceName:                                 &parentREST{newObject: v.newParent},
		core.PluralResourceName + "/" + core.ProcessSubresource: &subresourceREST{version: v, serve: process},
		core.PluralResourceName + "/" + core.CreateSubresource:  &subresourceREST{version: v, serve: create},
	}
}
