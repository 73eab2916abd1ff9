// Package local runs the reference template API server for the hermetic lane: in-process,
// on a free loopback port, registered with the cluster's aggregator the way upstream's
// deployment is (install namespace, service, both APIServices, the server's RBAC), so every
// request reaches it through kube-apiserver with the caller's identity.
//
// There is no kube-proxy on the hermetic control plane, so the Service is an ExternalName to
// localhost carrying the server's port, and the serving certificate names
// <service>.<namespace>.svc, which is what the aggregator verifies (docs/local-cluster.md §3).
package local

import (
	"context"
	"encoding/base64"
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

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/internal/kubeconfig"
	"github.com/vmt-conformance/vmt-conformance/internal/pki"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/apiserver"
)

// Names of what Start installs: upstream's default overlay after its "virt-template-" prefix.
const (
	DefaultNamespace   = "kubevirt"
	ServiceName        = "virt-template-api-service"
	ServiceAccountName = "virt-template-apiserver"
	ClusterRoleName    = "virt-template-apiserver-role"
	roleBindingName    = "virt-template-apiserver-rolebinding"
	authDelegatorName  = "virt-template-apiserver:system:auth-delegator"
	authReaderName     = "virt-template-apiserver-auth-reader"
)

// APIService names and priorities, as upstream's config/apiserver/apiservice.yaml.
var apiServices = []struct {
	version         string
	versionPriority int64
}{
	{subresourcesv1alpha1.GroupVersion.Version, 15},
	{subresourcesv1beta1.GroupVersion.Version, 10},
}

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
	in := &instance{dyn: dyn}
	if in.dir, err = os.MkdirTemp(opts.Dir, "template-apiserver-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = in.stop()
		}
	}()

	if err := installIdentity(ctx, kube, opts.Namespace); err != nil {
		return nil, err
	}
	server, port, caPEM, err := in.build(admin, opts)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	in.cancel, in.done = cancel, make(chan error, 1)
	go func() { in.done <- server.Run(runCtx) }()

	if err := register(ctx, kube, dyn, opts.Namespace, port, caPEM); err != nil {
		return nil, err
	}
	if err := waitServing(ctx, kube, dyn, opts, in.done); err != nil {
		return nil, err
	}
	return in.stop, nil
}

// instance is one running server and what Start made for it.
type instance struct {
	dyn    dynamic.Interface
	dir    string
	cancel context.CancelFunc
	done   chan error // nil until the server runs
	once   sync.Once
	err    error
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
		for _, s := range apiServices {
			err := in.dyn.Resource(apiServiceResource).Delete(ctx, s.version+"."+core.SubresourceGroupName, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("deleting APIService %s: %w", s.version, err))
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

// installIdentity creates the install namespace, the server's service account and upstream's
// RBAC for it: get templates, create VMs, delegate authn/authz, read the front-proxy config.
func installIdentity(ctx context.Context, kube kubernetes.Interface, ns string) error {
	labels := func(component string) map[string]string {
		return map[string]string{"app.kubernetes.io/name": "virt-template", "kubevirt.io": component}
	}
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: ServiceAccountName, Namespace: ns}}
	steps := []struct {
		what string
		do   func() error
	}{
		{"namespace " + ns, func() error {
			_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
			return err
		}},
		{"service account", func() error {
			_, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
				ObjectMeta:                   metav1.ObjectMeta{Name: ServiceAccountName, Namespace: ns, Labels: labels("virt-template-apiserver")},
				AutomountServiceAccountToken: new(bool),
			}, metav1.CreateOptions{})
			return err
		}},
		{"cluster role " + ClusterRoleName, func() error {
			return applyClusterRole(ctx, kube, &rbacv1.ClusterRole{
				ObjectMeta: metav1.ObjectMeta{Name: ClusterRoleName, Labels: labels("virt-template-apiserver")},
				Rules: []rbacv1.PolicyRule{
					{APIGroups: []string{"kubevirt.io"}, Resources: []string{"virtualmachines"}, Verbs: []string{"create"}},
					{APIGroups: []string{core.GroupName}, Resources: []string{core.PluralResourceName, core.PluralResourceName + "/status"}, Verbs: []string{"get"}},
				},
			})
		}},
		{"cluster role binding " + roleBindingName, func() error {
			return applyClusterRoleBinding(ctx, kube, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: roleBindingName, Labels: labels("virt-template-apiserver-rolebinding")},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ClusterRoleName},
				Subjects:   subjects,
			})
		}},
		{"cluster role binding " + authDelegatorName, func() error {
			return applyClusterRoleBinding(ctx, kube, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: authDelegatorName, Labels: labels("virt-template-apiserver-system-auth-delegator")},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:auth-delegator"},
				Subjects:   subjects,
			})
		}},
		{"role binding kube-system/" + authReaderName, func() error {
			rb := &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: authReaderName, Namespace: metav1.NamespaceSystem, Labels: labels("virt-template-apiserver-auth-reader")},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"},
				Subjects:   subjects,
			}
			_, err := kube.RbacV1().RoleBindings(rb.Namespace).Create(ctx, rb, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				_, err = kube.RbacV1().RoleBindings(rb.Namespace).Update(ctx, rb, metav1.UpdateOptions{})
			}
			return err
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %s: %w", s.what, err)
		}
	}
	return nil
}

func applyClusterRole(ctx context.Context, kube kubernetes.Interface, cr *rbacv1.ClusterRole) error {
	_, err := kube.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = kube.RbacV1().ClusterRoles().Update(ctx, cr, metav1.UpdateOptions{})
	}
	return err
}

func applyClusterRoleBinding(ctx context.Context, kube kubernetes.Interface, crb *rbacv1.ClusterRoleBinding) error {
	_, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = kube.RbacV1().ClusterRoleBindings().Update(ctx, crb, metav1.UpdateOptions{})
	}
	return err
}

// register points the aggregator at port: an ExternalName Service to localhost (no
// kube-proxy here) and upstream's two APIServices with the CA bundle injected. Existing
// objects from an earlier run are replaced.
func register(ctx context.Context, kube kubernetes.Interface, dyn dynamic.Interface, ns string, port int, caPEM []byte) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: ServiceName, Namespace: ns,
			Labels: map[string]string{"app.kubernetes.io/name": "virt-template", "kubevirt.io": "virt-template-api-service"}},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "localhost",
			Ports:        []corev1.ServicePort{{Name: "http-api", Port: int32(port), Protocol: corev1.ProtocolTCP}},
		},
	}
	err := kube.CoreV1().Services(ns).Delete(ctx, ServiceName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("replacing service %s: %w", ServiceName, err)
	}
	if _, err := kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating service %s: %w", ServiceName, err)
	}

	client := dyn.Resource(apiServiceResource)
	for _, s := range apiServices {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiregistration.k8s.io/v1",
			"kind":       "APIService",
			"metadata": map[string]any{
				"name": s.version + "." + core.SubresourceGroupName,
				"labels": map[string]any{
					"app.kubernetes.io/name": "virt-template",
					"kubevirt.io":            "virt-template-apiserver-aggregator",
				},
			},
			"spec": map[string]any{
				"group":                core.SubresourceGroupName,
				"version":              s.version,
				"groupPriorityMinimum": int64(1000),
				"versionPriority":      s.versionPriority,
				"service":              map[string]any{"namespace": ns, "name": ServiceName, "port": int64(port)},
				"caBundle":             base64.StdEncoding.EncodeToString(caPEM),
			},
		}}
		existing, err := client.Get(ctx, obj.GetName(), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = client.Create(ctx, obj, metav1.CreateOptions{})
		case err == nil:
			obj.SetResourceVersion(existing.GetResourceVersion())
			_, err = client.Update(ctx, obj, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("registering APIService %s: %w", obj.GetName(), err)
		}
	}
	return nil
}

// probeTemplate is a template name nobody creates: processing it through the aggregator
// proves the whole path works.
const probeTemplate = "vmt-readiness-probe"

// waitServing polls until both APIServices are Available and a /process call by the admin
// through the aggregator reaches the handler: 500 "... not found" means the front-proxy
// identity was accepted and the server could ask for the template with its own. (Available
// alone does not say that the request-header configuration has been read.) It fails early
// when the server stops.
func waitServing(ctx context.Context, kube kubernetes.Interface, dyn dynamic.Interface, opts Options, serverDone <-chan error) error {
	var last string
	probe := path.Join("/apis", core.SubresourceGroupName, subresourcesv1beta1.GroupVersion.Version,
		"namespaces", opts.Namespace, core.PluralResourceName, probeTemplate, core.ProcessSubresource)
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, opts.Timeout, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-serverDone:
			return false, fmt.Errorf("template API server stopped while registering: %v", err)
		default:
		}
		for _, s := range apiServices {
			name := s.version + "." + core.SubresourceGroupName
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
