// Package virtapi is the simulator's virt-api role: the subresources.kubevirt.io/v1 API
// (expand-vm-spec and virtualmachines/expand-spec only) behind an APIService, and the
// VirtualMachine validating webhook for the checks the template feature meets (instance type
// conflicts, disks without volumes, DataVolumeTemplates without volumes), with KubeVirt's
// messages.
//
// The API is plain net/http rather than k8s.io/apiserver: two routes and discovery do not
// need a generic server, and it is serving in milliseconds. kube-apiserver authorizes the
// caller (RBAC on the subresource) before proxying; the server accepts only requests that
// carry a front-proxy client certificate verified against the cluster's request-header CA.
// There is no kube-proxy: the Service is an ExternalName to localhost and the serving
// certificate names <service>.<namespace>.svc (README, "Local lane wiring").
package virtapi

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kubevirtv1 "kubevirt.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/reference/sim/kit"
)

// Names as virt-operator installs them.
const (
	ServiceName              = "virt-api"
	APIServiceName           = "v1.subresources.kubevirt.io"
	WebhookConfigurationName = "virt-api-validator"
	VMWebhookName            = "virtualmachine-validator.kubevirt.io"
	group                    = "subresources.kubevirt.io"
	version                  = "v1"
)

// Options configure the role.
type Options struct {
	// Namespace holds the Service; default "kubevirt".
	Namespace string
	// Ready is called once the APIService is Available and the webhook answers.
	Ready func()
}

// Setup registers the server and its registration with the manager.
func Setup(mgr ctrl.Manager, opts Options) error {
	if opts.Namespace == "" {
		opts.Namespace = "kubevirt"
	}
	// The request-header CA is read with a direct client: the manager's cache is not running yet.
	direct, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		return err
	}
	pool, err := frontProxyCAs(context.Background(), direct)
	if err != nil {
		return err
	}
	srv, err := kit.NewServer("vmt-sim-virt-api", pool, ServiceName+"."+opts.Namespace+".svc")
	if err != nil {
		return err
	}
	api := &subresources{c: mgr.GetAPIReader()}
	api.routes(srv)
	srv.Mux.Handle("/virtualmachines-validate", kit.AdmissionHandler(newVMAdmitter(mgr.GetAPIReader()).admit))
	if err := mgr.Add(srv); err != nil {
		return err
	}
	reg := kit.NewRegistration(direct)
	return mgr.Add(kit.RunnableFunc(func(ctx context.Context) error {
		if err := register(ctx, direct, reg, srv, opts.Namespace); err != nil {
			return err
		}
		if opts.Ready != nil {
			opts.Ready()
		}
		<-ctx.Done()
		unregister, cancel := context.WithTimeout(context.Background(), kit.Intervals.Unregister)
		defer cancel()
		return reg.Remove(unregister)
	}))
}

// frontProxyCAs is kube-apiserver's request-header CA, as every aggregated server reads it.
func frontProxyCAs(ctx context.Context, c client.Client) (*x509.CertPool, error) {
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceSystem, Name: "extension-apiserver-authentication"}, cm); err != nil {
		return nil, fmt.Errorf("reading the front-proxy CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(cm.Data["requestheader-client-ca-file"])) {
		return nil, fmt.Errorf("kube-system/extension-apiserver-authentication has no requestheader-client-ca-file: start kube-apiserver with --requestheader-client-ca-file")
	}
	return pool, nil
}

func register(ctx context.Context, c client.Client, reg *kit.Registration, srv *kit.Server, ns string) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: ServiceName, Namespace: ns, Labels: map[string]string{"kubevirt.io": "virt-api"}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Name: "https", Port: int32(srv.Port), Protocol: corev1.ProtocolTCP}}},
	}
	// A Service cannot change type in place; an earlier run's is replaced.
	if err := c.Delete(ctx, svc); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("replacing service %s: %w", ServiceName, err)
	}
	if err := reg.Apply(ctx, svc); err != nil {
		return err
	}
	apiService := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": APIServiceName, "labels": map[string]any{"kubevirt.io": "virt-api-aggregator"}},
		"spec": map[string]any{
			"group": group, "version": version, "groupPriorityMinimum": int64(1000), "versionPriority": int64(15),
			"service":  map[string]any{"namespace": ns, "name": ServiceName, "port": int64(srv.Port)},
			"caBundle": base64.StdEncoding.EncodeToString(srv.CAPEM),
		},
	}}
	if err := reg.Apply(ctx, apiService); err != nil {
		return err
	}
	whc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: WebhookConfigurationName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{kit.ValidatingWebhook(VMWebhookName,
			srv.URL("/virtualmachines-validate"), srv.CAPEM, kit.Rule("kubevirt.io", "*", "virtualmachines"))},
	}
	if err := reg.Apply(ctx, whc); err != nil {
		return err
	}
	err := kit.Poll(ctx, "APIService "+APIServiceName+" to be Available", func(ctx context.Context) (bool, string, error) {
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("apiregistration.k8s.io/v1")
		obj.SetKind("APIService")
		if err := c.Get(ctx, client.ObjectKey{Name: APIServiceName}, obj); err != nil {
			return false, err.Error(), nil
		}
		conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
		for _, raw := range conditions {
			if m, ok := raw.(map[string]any); ok && m["type"] == "Available" {
				return m["status"] == "True", fmt.Sprintf("Available=%v: %v", m["status"], m["message"]), nil
			}
		}
		return false, "no Available condition yet", nil
	})
	if err != nil {
		return err
	}
	return kit.WaitForWebhook(ctx, c, probeVM(ns))
}

func probeVM(ns string) client.Object {
	strategy := kubevirtv1.RunStrategyHalted
	return &kubevirtv1.VirtualMachine{
		TypeMeta:   metav1.TypeMeta{APIVersion: "kubevirt.io/v1", Kind: "VirtualMachine"},
		ObjectMeta: metav1.ObjectMeta{Name: "vmt-sim-probe", Namespace: ns},
		Spec: kubevirtv1.VirtualMachineSpec{RunStrategy: &strategy, Template: &kubevirtv1.VirtualMachineInstanceTemplateSpec{
			Spec: kubevirtv1.VirtualMachineInstanceSpec{Domain: kubevirtv1.DomainSpec{}},
		}},
	}
}
