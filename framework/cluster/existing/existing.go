// Package existing adopts the cluster in a kubeconfig (OpenShift Virtualization, KubeVirt),
// or, inside a pod without one, the cluster of the pod's service account, and detects its
// capabilities from what it serves.
package existing

import (
	"context"
	"fmt"
	"io"
	"os"
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
	"github.com/vmt-conformance/vmt-conformance/framework/monitoring"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/internal/kubeconfig"
)

// Provider adopts a running cluster; Down leaves it running.
type Provider struct {
	kubeconfig string
	windowsRef string
	installNS  string
	progress   io.Writer
	restConfig *rest.Config
	// path is the kubeconfig the run uses: the resolved one, or the one Up wrote from the
	// pod's service account into tmpDir.
	path   string
	tmpDir string
}

// New returns a provider for the cluster in kubeconfig ("" = resolve it: ~/.kube/config, else
// the pod's service account; internal/kubeconfig.Resolve). windowsImage is the configured
// Windows DataSource ("ns/name", may be empty); installNS is KubeVirt's namespace.
func New(kubeconfig, windowsImage, installNS string) *Provider {
	return &Provider{kubeconfig: kubeconfig, windowsRef: windowsImage, installNS: installNS, progress: io.Discard}
}

// WithProgress makes Up print which identity it uses to w.
func (p *Provider) WithProgress(w io.Writer) *Provider {
	if w != nil {
		p.progress = w
	}
	return p
}

// Name implements cluster.Provider.
func (p *Provider) Name() string { return "existing" }

// inClusterConfig is rest.InClusterConfig; tests replace it.
var inClusterConfig = rest.InClusterConfig

// serviceAccountDir is where Resolve looks for the pod's token; tests replace it.
var serviceAccountDir = kubeconfig.ServiceAccountDir

// Up resolves the kubeconfig (or the pod's service account), prints which it uses, and
// checks that the cluster answers. In a pod it writes a kubeconfig for the processes the
// run starts (suite processes, virtctl, kubectl), which KubeconfigPath returns.
func (p *Provider) Up(ctx context.Context) error {
	home, _ := os.UserHomeDir()
	r, err := kubeconfig.Resolve(kubeconfig.Sources{Explicit: p.kubeconfig, Home: home, ServiceAccountDir: serviceAccountDir})
	if err != nil {
		return err
	}
	var cfg *rest.Config
	where := r.Path
	if r.InCluster != nil {
		if cfg, err = inClusterConfig(); err != nil {
			return fmt.Errorf("in-cluster service account: %w", err)
		}
		if p.tmpDir, err = os.MkdirTemp("", "vmt-in-cluster-"); err != nil {
			return err
		}
		if p.path, err = kubeconfig.WriteForChildren(p.tmpDir, cfg); err != nil {
			return fmt.Errorf("writing a kubeconfig for child processes: %w", err)
		}
		where = "the in-cluster service account (" + cfg.Host + ")"
	} else {
		rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(r.Path)}
		if cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig(); err != nil {
			return fmt.Errorf("loading kubeconfig %s: %w", r.Path, err)
		}
		p.path = filepath.SplitList(r.Path)[0]
	}
	fmt.Fprintln(p.progress, r.Line())
	// A cluster that accepts connections and never answers fails here, not at the suite timeout.
	cfg.Timeout = wait.Request
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	if _, err := dc.ServerVersion(); err != nil {
		return fmt.Errorf("cluster of %s is unreachable: %w", where, err)
	}
	p.restConfig = cfg
	return nil
}

// RESTConfig implements cluster.Provider.
func (p *Provider) RESTConfig() *rest.Config { return rest.CopyConfig(p.restConfig) }

// KubeconfigPath implements cluster.Provider: after Up, the kubeconfig in use (in a pod, the
// one written from the service account).
func (p *Provider) KubeconfigPath() string {
	if p.path != "" {
		return p.path
	}
	return filepath.SplitList(p.kubeconfig)[0]
}

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
	monitored, why := monitoring.Detect(ctx, kube, dyn)
	cs.Set(cluster.Monitoring, monitored, why)
	cs.Set(cluster.Virtctl, false, "decided by the framework from --vmt.virtctl")
	return cs, nil
}

// CollectArtifacts has nothing provider-level to collect on an adopted cluster.
func (p *Provider) CollectArtifacts(context.Context, string) error { return nil }

// Down leaves an adopted cluster running; it removes only the kubeconfig Up wrote in a pod.
func (p *Provider) Down(context.Context) error {
	if p.tmpDir != "" {
		return os.RemoveAll(p.tmpDir)
	}
	return nil
}

func splitRef(ref string) (string, string) {
	for i := range ref {
		if ref[i] == '/' {
			return ref[:i], ref[i+1:]
		}
	}
	return "", ref
}
