// Package local runs the reference template API server in-process against a hermetic
// control plane, for the server's own integration tests and benchmarks (the hermetic lane
// runs the binary instead, see reference/sim/operator): on a free loopback port, registered
// with the cluster's aggregator with the server's part of reference/config (namespace,
// service account, RBAC, Service, the APIServices of the release it plays), so every request
// reaches it through kube-apiserver with the caller's identity.
//
// There is no kube-proxy on the hermetic control plane, so the Service is an ExternalName to
// localhost carrying the server's port, and the serving certificate names
// <service>.<namespace>.svc, which is what the aggregator verifies (README, "Local lane wiring").
package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/internal/kubeconfig"
	"github.com/vmt-conformance/vmt-conformance/internal/pki"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/apiserver"
	"github.com/vmt-conformance/vmt-conformance/reference/config"
	"github.com/vmt-conformance/vmt-conformance/reference/emulation"
)

// Names of what Start installs (reference/config's, which are upstream's).
const (
	DefaultNamespace   = config.DefaultNamespace
	ServiceName        = config.APIServerService
	ServiceAccountName = config.APIServerServiceAccount
)

var apiServiceResource = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// Options tune Start; the zero value is upstream's layout.
type Options struct {
	// Namespace is the install namespace; default "kubevirt".
	Namespace string
	// FrontProxyCA, when set, is trusted for front-proxy request headers directly. Otherwise
	// the server reads it from kube-system/extension-apiserver-authentication, as it does in a
	// real cluster.
	FrontProxyCA []byte
	// RunAsAdmin makes the server use the admin identity as is. By default it impersonates
	// its service account, so the RBAC Start installs is what it really has.
	RunAsAdmin bool
	// Timeout bounds waiting for both APIServices to become Available; default one minute.
	Timeout time.Duration
	// Dir is where the server's files (serving certificate, kubeconfig with the admin's
	// credentials) go, in a new subdirectory removed by stop; default os.TempDir(). Pass the
	// control plane's run directory so a crashed run's files are reaped with it.
	Dir string
	// Release is the virt-template release the server plays and whose APIServices Start
	// installs; nil means emulation.Default (v0.2.2). The template CRDs are the caller's:
	// install those of the same release (config/crd.CustomResourceDefinitionsFor).
	Release *release.Version
}

// Start runs the template API server for the cluster admin talks to and registers it with
// the aggregator, returning once both APIServices are Available and a request through the
// aggregator reaches the server. stop unregisters the
// APIServices (so discovery does not point at a dead port), stops the server and removes its
// files; it is safe to call more than once. frontProxyCA may be nil (see Options).
func Start(ctx context.Context, admin *rest.Config, frontProxyCA []byte) (stop func() error, err error) {
	return StartWithOptions(ctx, admin, Options{FrontProxyCA: frontProxyCA})
}

// StartWithOptions is Start with every option.
func StartWithOptions(ctx context.Context, admin *rest.Config, opts Options) (stop func() error, err error) {
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Timeout == 0 {
		opts.Timeout = time.Minute
	}
	kube, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(admin)
	if err != nil {
		return nil, err
	}
	rel := emulation.Resolve(opts.Release)
	in := &instance{dyn: dyn, apiServices: config.APIServicesFor(rel)}
	if in.dir, err = os.MkdirTemp(opts.Dir, "template-apiserver-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = in.stop()
		}
	}()

	server, port, caPEM, err := in.build(admin, opts)
	if err != nil {
		return nil, err
	}
	// The server's part of reference/config, as virt-operator would install it: namespace,
	// service account, RBAC, the ExternalName Service to this port, both APIServices.
	objs, err := config.Objects(config.Options{Namespace: opts.Namespace, CreateNamespace: true, CABundle: caPEM,
		APIServerExternalPort: int32(port), Release: &rel})
	if err != nil {
		return nil, err
	}
	if err := config.Apply(ctx, dyn, config.Select(objs, config.PartNamespace, config.PartAPIServer)); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	in.cancel, in.done = cancel, make(chan error, 1)
	go func() { in.done <- server.Run(runCtx) }()

	if err := waitServing(ctx, kube, dyn, opts, in.apiServices, in.done); err != nil {
		return nil, err
	}
	return in.stop, nil
}

// instance is one running server and what Start made for it.
type instance struct {
	dyn dynamic.Interface
	// apiServices are the names of the APIServices installed (config.APIServicesFor).
	apiServices []string
	dir         string
	cancel      context.CancelFunc
	done        chan error // nil until the server runs
	once        sync.Once
	err         error
}

// build issues the serving certificate (SAN <service>.<namespace>.svc), writes the server's
// kubeconfig, takes a free loopback port and configures the server on it.
func (in *instance) build(admin *rest.Config, opts Options) (_ *apiserver.Server, port int, caPEM []byte, err error) {
	ca, err := pki.NewCA("virt-template-api-ca")
	if err != nil {
		return nil, 0, nil, err
	}
	serviceHost := ServiceName + "." + opts.Namespace + ".svc"
	serving, err := ca.Issue(serviceHost, pki.Server, serviceHost, serviceHost+".cluster.local", "localhost")
	if err != nil {
		return nil, 0, nil, err
	}
	certFile, keyFile, err := serving.Write(in.dir, "tls")
	if err != nil {
		return nil, 0, nil, err
	}
	identity := admin
	if !opts.RunAsAdmin {
		identity = rest.CopyConfig(admin)
		identity.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + opts.Namespace + ":" + ServiceAccountName}
	}
	o := apiserver.NewOptions()
	o.Release = emulation.Resolve(opts.Release)
	o.Kubeconfig = filepath.Join(in.dir, "kubeconfig")
	if err := kubeconfig.Write(o.Kubeconfig, "template-apiserver", identity); err != nil {
		return nil, 0, nil, err
	}
	o.SecureServing.ServerCert.CertKey.CertFile = certFile
	o.SecureServing.ServerCert.CertKey.KeyFile = keyFile
	if len(opts.FrontProxyCA) > 0 {
		caFile := filepath.Join(in.dir, "front-proxy-ca.crt")
		if err := os.WriteFile(caFile, opts.FrontProxyCA, 0o600); err != nil {
			return nil, 0, nil, err
		}
		o.Authentication.RequestHeader.ClientCAFile = caFile
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("listening on a loopback port: %w", err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	o.SecureServing.Listener = ln
	o.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	o.SecureServing.BindPort = port
	server, err := apiserver.New(o)
	if err != nil {
		_ = ln.Close()
		return nil, 0, nil, fmt.Errorf("building the template API server: %w", err)
	}
	return server, port, ca.CertPEM, nil
}

// stop unregisters the APIServices, stops the server and removes its files, once.
func (in *instance) stop() error {
	in.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var errs []error
		for _, name := range in.apiServices {
			err := in.dyn.Resource(apiServiceResource).Delete(ctx, name, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("deleting APIService %s: %w", name, err))
			}
		}
		if in.done != nil {
			in.cancel()
			select {
			case err := <-in.done:
				errs = append(errs, err)
			case <-time.After(30 * time.Second):
				errs = append(errs, errors.New("template API server did not stop within 30s"))
			}
		}
		errs = append(errs, os.RemoveAll(in.dir))
		in.err = errors.Join(errs...)
	})
	return in.err
}

// probeTemplate is a template name nobody creates: processing it through the aggregator
// proves the whole path works.
const probeTemplate = "vmt-readiness-probe"

// waitServing polls until the APIServices are Available and a /process call by the admin
// through the aggregator reaches the handler: 500 "... not found" means the front-proxy
// identity was accepted and the server could ask for the template with its own. (Available
// alone does not say that the request-header configuration has been read.) It fails early
// when the server stops.
func waitServing(ctx context.Context, kube kubernetes.Interface, dyn dynamic.Interface, opts Options, apiServices []string, serverDone <-chan error) error {
	var last string
	// The probe goes to the last (least preferred, newest) version: v1beta1 where served.
	probeVersion := strings.TrimSuffix(apiServices[len(apiServices)-1], "."+core.SubresourceGroupName)
	probe := path.Join("/apis", core.SubresourceGroupName, probeVersion,
		"namespaces", opts.Namespace, core.PluralResourceName, probeTemplate, core.ProcessSubresource)
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, opts.Timeout, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-serverDone:
			return false, fmt.Errorf("template API server stopped while registering: %v", err)
		default:
		}
		for _, name := range apiServices {
			obj, err := dyn.Resource(apiServiceResource).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				last = err.Error()
				return false, nil
			}
			conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
			available := false
			last = name + ": no Available condition yet"
			for _, c := range conditions {
				m, _ := c.(map[string]any)
				if m["type"] == "Available" {
					available = m["status"] == "True"
					last = fmt.Sprintf("%s: Available=%v (%v: %v)", name, m["status"], m["reason"], m["message"])
				}
			}
			if !available {
				return false, nil
			}
		}
		err := kube.CoreV1().RESTClient().Post().AbsPath(probe).SetHeader("Content-Type", "application/json").
			Body([]byte("{}")).Do(ctx).Error()
		if status, ok := err.(apierrors.APIStatus); ok && status.Status().Code == http.StatusInternalServerError &&
			strings.Contains(status.Status().Message, "not found") {
			return true, nil
		}
		last = fmt.Sprintf("probe POST %s: %v", probe, err)
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the template API server to serve through the aggregator (last: %s): %w", last, err)
	}
	return nil
}
