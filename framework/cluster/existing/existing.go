// Package existing adopts the cluster in a kubeconfig (OpenShift Virtualization, KubeVirt) and
// detects its capabilities from what it serves.
package existing

import (
	"context"
	"fmt"
	"path/filepath"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
)

// Provider adopts a running cluster; Down leaves it running.
type Provider struct {
	kubeconfig string
	windowsRef string
	installNS  string
	restConfig *rest.Config
}

// New returns a provider for the cluster in kubeconfig. windowsImage is the configured
// Windows DataSource ("ns/name", may be empty); installNS is KubeVirt's namespace.
func New(kubeconfig, windowsImage, installNS string) *Provider {
	return &Provider{kubeconfig: kubeconfig, windowsRef: windowsImage, installNS: installNS}
}

// Name implements cluster.Provider.
func (p *Provider) Name() string { return "existing" }

// Up loads the kubeconfig and checks that the cluster answers.
func (p *Provider) Up(ctx context.Context) error {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(p.kubeconfig)}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig %s: %w", p.kubeconfig, err)
	}
	// A cluster that accepts connections and never answers fails here, not at the suite timeout.
	cfg.Timeout = wait.Request
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	if _, err := dc.ServerVersion(); err != nil {
		return fmt.Errorf("cluster in %s is unreachable: %w", p.kubeconfig, err)
	}
	p.restConfig = cfg
	return nil
}

// RESTConfig implements cluster.Provider.
func (p *Provider) RESTConfig() *rest.Config { return rest.CopyConfig(p.restConfig) }

// KubeconfigPath implements cluster.Provider.
func (p *Provider) KubeconfigPath() string { return filepath.SplitList(p.kubeconfig)[0] }

// Capabilities detects what the cluster serves. Whatever detection cannot know is declared
// with --vmt.capabilities by the operator.
func (p *Provider) Capabilities(ctx context.Context) (cluster.Capabilities, error) {
	cs := cluster.NewCapabilities()
	dc, err := discovery.NewDiscoveryClientForConfig(p.restConfig)
	if err != nil {
		return cs, err
	}
	kube, err := kubernetes.NewForConfig(p.restConfig)
	if err != nil {
		return cs, err
	}
	dyn, err := dynamic.NewForConfig(p.restConfig)
	if err != nil {
		return cs, err
	}
	served := func(gv, resource string) bool {
		list, err := dc.ServerResourcesForGroupVersion(gv)
		if err != nil {
			return false
		}
		for _, r := range list.APIResources {
			if r.Name == resource {
				return true
			}
		}
		return false
	}

	cs.Set(cluster.OpenShift, served("template.openshift.io/v1", "templates"), "template.openshift.io/v1 templates served?")
	cs.Set(cluster.HCO, served("hco.kubevirt.io/v1beta1", "hyperconvergeds"), "hco.kubevirt.io/v1beta1 hyperconvergeds served?")

	kvs, kvErr := dyn.Resource(schema.GroupVersionResource{Group: "kubevirt.io", Version: "v1", Resource: "kubevirts"}).List(ctx, metav1.ListOptions{})
	hasKV := kvErr == nil && len(kvs.Items) > 0
	cs.Set(cluster.TemplateOperator, hasKV, "a KubeVirt CR managed by virt-operator exists?")

	var handler appsv1.DaemonSet
	ds, dsErr := kube.AppsV1().DaemonSets(p.installNS).Get(ctx, "virt-handler", metav1.GetOptions{})
	if dsErr == nil {
		handler = *ds
	}
	guest := dsErr == nil && handler.Status.NumberReady > 0
	cs.Set(cluster.Guest, guest, fmt.Sprintf("virt-handler DaemonSet in %s has ready pods?", p.installNS))

	snapClasses, scErr := dyn.Resource(schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}).List(ctx, metav1.ListOptions{})
	snap := scErr == nil && len(snapClasses.Items) > 0 && served("snapshot.kubevirt.io/v1beta1", "virtualmachinesnapshots")
	cs.Set(cluster.SnapshotStorage, snap, "a VolumeSnapshotClass exists and snapshot.kubevirt.io is served?")

	windows := false
	if p.windowsRef != "" {
		ns, name := splitRef(p.windowsRef)
		_, err := dyn.Resource(schema.GroupVersionResource{Group: "cdi.kubevirt.io", Version: "v1beta1", Resource: "datasources"}).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		windows = err == nil
		if err != nil && !apierrors.IsNotFound(err) {
			return cs, fmt.Errorf("checking Windows DataSource %s: %w", p.windowsRef, err)
		}
	}
	cs.Set(cluster.WindowsImage, windows, "--vmt.windows-image names an existing DataSource?")
	cs.Set(cluster.Virtctl, false, "decided by the framework from --vmt.virtctl")
	return cs, nil
}

// CollectArtifacts has nothing provider-level to collect on an adopted cluster.
func (p *Provider) CollectArtifacts(context.Context, string) error { return nil }

// Down leaves an adopted cluster running.
func (p *Provider) Down(context.Context) error { return nil }

func splitRef(ref string) (string, string) {
	for i := range ref {
		if ref[i] == '/' {
			return ref[:i], ref[i+1:]
		}
	}
	return "", ref
}
