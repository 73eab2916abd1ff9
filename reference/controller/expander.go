package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"path"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	virtv1 "kubevirt.io/api/core/v1"
)

// Expander inlines a VirtualMachine's instance type and preference into its spec and drops
// the references, as KubeVirt's virt-api does for upstream's controller (kubevirt client-go
// ExpandSpec(ns).ForVirtualMachine). Templates made from a VM therefore carry no instance
// type or preference.
type Expander interface {
	ExpandVirtualMachine(ctx context.Context, namespace string, vm *virtv1.VirtualMachine) (*virtv1.VirtualMachine, error)
}

// ExpandSpecPath is virt-api's expand-spec subresource for VirtualMachines of a namespace;
// the VM is PUT to it and comes back expanded.
func ExpandSpecPath(namespace string) string {
	return path.Join("/apis", virtv1.SubresourceGroupName, virtv1.ApiStorageVersion, "namespaces", namespace, "expand-vm-spec")
}

// RESTExpander calls virt-api's expand-vm-spec subresource through kube-apiserver.
type RESTExpander struct {
	client rest.Interface
}

var _ Expander = (*RESTExpander)(nil)

// NewRESTExpander talks to the cluster of cfg. The caller needs `update` on
// subresources.kubevirt.io expand-vm-spec.
func NewRESTExpander(cfg *rest.Config) (*RESTExpander, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.APIPath = "/apis"
	cfg.GroupVersion = &virtv1.SubresourceStorageGroupVersion
	// The codecs decode metav1.Status errors; bodies are handled as JSON here.
	cfg.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion()
	if cfg.ContentType == "" {
		cfg.ContentType = runtime.ContentTypeJSON
	}
	c, err := rest.RESTClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the expand-spec client: %w", err)
	}
	return &RESTExpander{client: c}, nil
}

// ExpandVirtualMachine PUTs vm (as kubevirt.io/v1 VirtualMachine JSON) to
// ExpandSpecPath(namespace) and decodes the answer.
func (e *RESTExpander) ExpandVirtualMachine(ctx context.Context, namespace string, vm *virtv1.VirtualMachine) (*virtv1.VirtualMachine, error) {
	in := vm.DeepCopy()
	in.SetGroupVersionKind(virtv1.VirtualMachineGroupVersionKind)
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encoding VirtualMachine %s/%s: %w", vm.Namespace, vm.Name, err)
	}
	res := e.client.Put().AbsPath(ExpandSpecPath(namespace)).
		SetHeader("Content-Type", runtime.ContentTypeJSON).Body(body).Do(ctx)
	// Error, unlike Raw, decodes the API status of a refusal.
	if err := res.Error(); err != nil {
		return nil, err
	}
	raw, err := res.Raw()
	if err != nil {
		return nil, err
	}
	out := &virtv1.VirtualMachine{}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("decoding the expanded VirtualMachine %s/%s: %w", vm.Namespace, vm.Name, err)
	}
	out.SetGroupVersionKind(virtv1.VirtualMachineGroupVersionKind)
	return out, nil
}
