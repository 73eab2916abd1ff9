package kind

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"
	e2ekind "sigs.k8s.io/e2e-framework/support/kind"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/internal/image"
	refconfig "github.com/vmt-conformance/vmt-conformance/reference/config"
)

// DefaultName is the kind cluster's name unless --vmt.kind.cluster says otherwise.
const DefaultName = "vmt-conformance"

// Named intervals of the lane's waits (real images are pulled; emulated guests are slow).
const (
	installPoll      = 5 * time.Second
	crdTimeout       = 2 * time.Minute
	kubevirtTimeout  = 15 * time.Minute
	templateTimeout  = 5 * time.Minute
	manifestDownload = 2 * time.Minute
)

// Options shape the lane; the zero value is filled in by complete.
type Options struct {
	// Name of the kind cluster (DefaultName).
	Name string
	// SourceDir is the repository root, whose commands the reference images are built from
	// into _output/images (default: the module's directory, from `go list -m`).
	SourceDir string
	// ToolsDir receives the pinned kind CLI (default <cache>/kind/<KindVersion>).
	ToolsDir string
	// StateDir holds the cluster config and kubeconfig (default <cache>/kind-clusters/<Name>).
	StateDir string
	// Images built and loaded (reference/config's defaults, internal/image's references).
	ControllerImage, APIServerImage string
	// Keep leaves the cluster running after Down (and after a failed Up), for debugging.
	Keep bool
	// Progress receives one line per step.
	Progress io.Writer
	// Profile names the KubeVirt generation the lane installs, one of framework/cluster/local's
	// profiles (--vmt.local.profile, VMT_PROFILE; "" is local.DefaultProfile): that KubeVirt
	// release with the profile's feature gates, and the reference components emulating the
	// virt-template release it bundles.
	Profile string

	// profile is Profile resolved by complete.
	profile local.Profile
}

var clusterName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$`)

func (o Options) complete() (Options, error) {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if !clusterName.MatchString(o.Name) {
		return o, fmt.Errorf("kind cluster name %q: want lower-case letters, digits and '-', at most 50 characters", o.Name)
	}
	profile, err := local.LookupProfile(o.Profile)
	if err != nil {
		return o, fmt.Errorf("kind provider: %w", err)
	}
	o.profile = profile
	if o.ControllerImage == "" {
		o.ControllerImage = refconfig.DefaultControllerImage
	}
	if o.APIServerImage == "" {
		o.APIServerImage = refconfig.DefaultAPIServerImage
	}
	if o.ToolsDir == "" {
		o.ToolsDir = filepath.Join(local.DefaultCacheDir(), "kind", KindVersion)
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(local.DefaultCacheDir(), "kind-clusters", o.Name)
	}
	if o.SourceDir == "" {
		return o, errors.New("kind provider: no source directory for the image builds (run from the vmt-conformance checkout)")
	}
	// e2e-framework runs kind through a shell-like command line: paths must not need quoting.
	for what, p := range map[string]string{"tools directory": o.ToolsDir, "state directory": o.StateDir, "source directory": o.SourceDir} {
		if strings.ContainsAny(p, " \t\n'\"$`\\") {
			return o, fmt.Errorf("kind provider: the %s %q contains characters a command line would need to quote (set VMT_CACHE_DIR or move the checkout)", what, p)
		}
	}
	return o, nil
}

// Provider is the kind lane. Up runs Plan; Down deletes the cluster unless Keep.
type Provider struct {
	opts    Options
	r       *run
	created bool
}

var _ cluster.Provider = (*Provider)(nil)

// New returns a kind provider; nothing happens before Up.
func New(o Options) *Provider { return &Provider{opts: o} }

// Name implements cluster.Provider.
func (p *Provider) Name() string { return "kind" }

// Up runs the plan: Docker check, kind CLI, images, cluster, KubeVirt, CDI, template
// components. A failure after the cluster exists deletes it again (unless Keep), as the
// runner does not call Down when Up failed.
func (p *Provider) Up(ctx context.Context) error {
	if p.opts.SourceDir == "" {
		dir, err := moduleDir(ctx)
		if err != nil {
			return err
		}
		p.opts.SourceDir = dir
	}
	o, err := p.opts.complete()
	if err != nil {
		return err
	}
	steps, err := Plan(o)
	if err != nil {
		return err
	}
	p.opts = o
	p.r = &run{ctx: ctx, opts: o, env: envconf.New(), progress: orDiscard(o.Progress)}
	for i, s := range steps {
		start := time.Now()
		fmt.Fprintf(p.r.progress, "[kind %d/%d] %s\n", i+1, len(steps), s)
		p.r.step = s
		if err := s.run(p.r); err != nil {
			err = fmt.Errorf("kind lane, step %q: %w", s.Name, err)
			if p.r.clusterCtx != nil && !o.Keep {
				if derr := p.Down(context.WithoutCancel(ctx)); derr != nil {
					err = errors.Join(err, derr)
				}
			}
			return err
		}
		fmt.Fprintf(p.r.progress, "[kind %d/%d] done in %s\n", i+1, len(steps), time.Since(start).Round(time.Second))
	}
	p.created = true
	return nil
}

// Created reports whether Up brought the cluster up.
func (p *Provider) Created() bool { return p.created }

// RESTConfig implements cluster.Provider.
func (p *Provider) RESTConfig() *rest.Config { return rest.CopyConfig(p.r.rest) }

// KubeconfigPath implements cluster.Provider.
func (p *Provider) KubeconfigPath() string { return filepath.Join(p.opts.StateDir, "kubeconfig") }

// Capabilities implements cluster.Provider: real guests (emulated), no snapshot-capable
// storage (kind's local-path provisioner has no CSI snapshots), no OpenShift or HCO, and
// virt-operator told not to deploy the template feature.
func (p *Provider) Capabilities(context.Context) (cluster.Capabilities, error) {
	profile, err := local.LookupProfile(p.opts.Profile)
	if err != nil {
		return cluster.Capabilities{}, fmt.Errorf("kind provider: %w", err)
	}
	cs := cluster.NewCapabilities()
	cs.Set(cluster.Guest, true, "KubeVirt "+profile.KubeVirtVersion+" with software emulation runs guests on the kind worker")
	cs.Set(cluster.SnapshotStorage, false, "kind's local-path storage has no VolumeSnapshotClass")
	cs.Set(cluster.WindowsImage, false, "the kind lane has no Windows image")
	cs.Set(cluster.OpenShift, false, "kind serves no template.openshift.io API")
	cs.Set(cluster.HCO, false, "the kind lane installs KubeVirt without the HyperConverged operator")
	cs.Set(cluster.Monitoring, false, "the kind lane installs no monitoring stack (no Prometheus alerts API)")
	cs.Set(cluster.TemplateOperator, false, "virtTemplateDeployment.enabled is false: the lane installs the reference components, not virt-operator")
	cs.Set(cluster.Virtctl, false, "decided by the framework from --vmt.virtctl")
	return cs, nil
}

// CollectArtifacts exports the cluster's logs (kind export logs) below dir.
func (p *Provider) CollectArtifacts(ctx context.Context, dir string) error {
	if p.r == nil || p.r.clusterCtx == nil {
		return nil
	}
	_, err := envfuncs.ExportClusterLogs(p.opts.Name, dir)(p.r.clusterCtx, p.r.env)
	return err
}

// Down deletes the cluster, unless Keep.
func (p *Provider) Down(ctx context.Context) error {
	if p.r == nil || p.r.clusterCtx == nil {
		return nil
	}
	steps, err := DownPlan(p.opts)
	if err != nil {
		return err
	}
	if len(steps) == 0 {
		fmt.Fprintf(p.r.progress, "keeping kind cluster %s (--vmt.kind.keep); delete it with: %s delete cluster --name %s\n", p.opts.Name, p.opts.kindBinary(), p.opts.Name)
		return nil
	}
	for _, s := range steps {
		fmt.Fprintf(p.r.progress, "[kind down] %s\n", s)
		if err := s.run(p.r); err != nil {
			return fmt.Errorf("kind lane, step %q: %w", s.Name, err)
		}
	}
	p.r.clusterCtx = nil
	p.created = false
	return nil
}

// run is the state of one Up: the e2e-framework env config and the context that carries the
// cluster, the clients once the cluster exists.
type run struct {
	ctx        context.Context
	opts       Options
	step       Step
	env        *envconf.Config
	clusterCtx context.Context
	rest       *rest.Config
	kube       kubernetes.Interface
	dyn        dynamic.Interface
	progress   io.Writer
}

// DockerMissingError is what the lane says when no Docker engine answers.
const dockerMissing = "kind provider needs a Docker engine"

func (r *run) checkDocker() error {
	if _, err := exec.LookPath(r.step.Command[0]); err != nil {
		return fmt.Errorf("%s: the docker CLI is not on PATH (install Docker Engine, see README \"The kind lane\")", dockerMissing)
	}
	out, err := r.output()
	if err != nil {
		return fmt.Errorf("%s: `docker info` failed, is the daemon running and may this user reach it? %w", dockerMissing, err)
	}
	fmt.Fprintf(r.progress, "  Docker engine %s\n", strings.TrimSpace(out))
	return nil
}

func (r *run) installKind() error {
	bin := r.opts.kindBinary()
	if info, err := os.Stat(bin); err == nil && info.Mode()&0o111 != 0 {
		fmt.Fprintf(r.progress, "  %s is already installed\n", bin)
		return nil
	}
	return r.exec()
}

// exec runs the step's command, its output going to the progress writer.
func (r *run) exec() error {
	cmd := exec.CommandContext(r.ctx, r.step.Command[0], r.step.Command[1:]...)
	cmd.Env = append(os.Environ(), r.step.Env...)
	cmd.Stdout, cmd.Stderr = r.progress, r.progress
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(r.step.Command, " "), err)
	}
	return nil
}

func (r *run) output() (string, error) {
	cmd := exec.CommandContext(r.ctx, r.step.Command[0], r.step.Command[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func (r *run) writeConfig(path string) error {
	raw, err := ConfigYAML()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o644)
}

func (r *run) createCluster(configPath string) error {
	provider := e2ekind.NewProvider().WithVersion(KindVersion)
	ctx, err := envfuncs.CreateClusterWithConfig(provider, r.opts.Name, configPath, e2ekind.WithPath(r.opts.kindBinary()))(r.ctx, r.env)
	if err != nil {
		return err
	}
	r.clusterCtx = ctx
	raw, err := os.ReadFile(r.env.KubeconfigFile())
	if err != nil {
		return fmt.Errorf("reading the kind kubeconfig: %w", err)
	}
	kubeconfig := filepath.Join(r.opts.StateDir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, raw, 0o600); err != nil {
		return err
	}
	if r.rest, err = clientcmd.RESTConfigFromKubeConfig(raw); err != nil {
		return err
	}
	if r.kube, err = kubernetes.NewForConfig(r.rest); err != nil {
		return err
	}
	r.dyn, err = dynamic.NewForConfig(r.rest)
	return err
}

// buildImage writes a reference component's image tarball (internal/image, as make image).
func (r *run) buildImage(name, ref string) error {
	_, err := image.Build(r.ctx, image.Options{
		Root: r.opts.SourceDir, Out: r.opts.imagesDir(), Refs: map[string]string{name: ref},
		Cache: filepath.Join(local.DefaultCacheDir(), "image"), Progress: prefixed(r.progress),
	}, name)
	return err
}

// loadImageArchive is kind load image-archive.
func (r *run) loadImageArchive(archive string) error {
	_, err := envfuncs.LoadImageArchiveToCluster(r.opts.Name, archive)(r.clusterCtx, r.env)
	return err
}

// prefixed indents the image builder's progress lines under the step's.
func prefixed(w io.Writer) io.Writer { return indent{w} }

type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line != "" {
			if _, err := io.WriteString(i.w, "  "+line); err != nil {
				return 0, err
			}
		}
	}
	return len(p), nil
}

func (r *run) deleteCluster() error {
	_, err := envfuncs.DestroyCluster(r.opts.Name)(r.clusterCtx, r.env)
	return err
}

// applyURL downloads a release manifest and creates its objects (existing ones are kept:
// a rerun against a kept cluster goes on).
func (r *run) applyURL(url string) error {
	ctx, cancel := context.WithTimeout(r.ctx, manifestDownload)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("downloading %s: HTTP %s", url, resp.Status)
	}
	res, err := resources.New(r.rest)
	if err != nil {
		return err
	}
	if err := decoder.DecodeEach(r.ctx, resp.Body, decoder.CreateIgnoreAlreadyExists(res)); err != nil {
		return fmt.Errorf("applying %s: %w", url, err)
	}
	return nil
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

func (r *run) waitCRD(name string) error {
	return r.poll(crdTimeout, "CRD "+name+" Established", func(ctx context.Context) (bool, string, error) {
		u, err := r.dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, "not created yet", nil
		}
		if err != nil {
			return false, "", err
		}
		return conditionTrue(u, "Established")
	})
}

var (
	kubevirtGVR   = schema.GroupVersionResource{Group: "kubevirt.io", Version: "v1", Resource: "kubevirts"}
	cdiGVR        = schema.GroupVersionResource{Group: "cdi.kubevirt.io", Version: "v1beta1", Resource: "cdis"}
	apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
)

func (r *run) createKubeVirt() error {
	if err := r.waitCRD("kubevirts.kubevirt.io"); err != nil {
		return err
	}
	if err := r.applyURL(KubeVirtCRURL(r.opts.profile.KubeVirtVersion)); err != nil {
		return err
	}
	_, err := r.dyn.Resource(kubevirtGVR).Namespace(KubeVirtNamespace).Patch(r.ctx, KubeVirtName, types.MergePatchType, KubeVirtPatch(r.opts.profile.FeatureGates), metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("patching the KubeVirt CR: %w", err)
	}
	return nil
}

func (r *run) createCDI() error {
	if err := r.waitCRD("cdis.cdi.kubevirt.io"); err != nil {
		return err
	}
	return r.applyURL(CDICRURL)
}

func (r *run) waitKubeVirtAndCDI() error {
	if err := r.poll(kubevirtTimeout, "KubeVirt Available", func(ctx context.Context) (bool, string, error) {
		u, err := r.dyn.Resource(kubevirtGVR).Namespace(KubeVirtNamespace).Get(ctx, KubeVirtName, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return conditionTrue(u, "Available")
	}); err != nil {
		return err
	}
	return r.poll(kubevirtTimeout, "CDI Available", func(ctx context.Context) (bool, string, error) {
		u, err := r.dyn.Resource(cdiGVR).Get(ctx, CDIName, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return conditionTrue(u, "Available")
	})
}

func (r *run) installTemplate() error {
	objs, err := TemplateManifests(r.opts.ControllerImage, r.opts.APIServerImage, r.opts.profile.VirtTemplateVersion())
	if err != nil {
		return err
	}
	fmt.Fprintf(r.progress, "  %d objects from reference/config\n", len(objs))
	return refconfig.Apply(r.ctx, r.dyn, objs)
}

func (r *run) waitTemplate() error {
	for _, name := range []string{refconfig.ControllerDeployment, refconfig.APIServerDeployment} {
		if err := r.poll(templateTimeout, "Deployment "+name+" Available", func(ctx context.Context) (bool, string, error) {
			d, err := r.kube.AppsV1().Deployments(KubeVirtNamespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			for _, c := range d.Status.Conditions {
				if c.Type == "Available" {
					return c.Status == corev1.ConditionTrue, fmt.Sprintf("Available=%s %s: %s", c.Status, c.Reason, c.Message), nil
				}
			}
			return false, "no Available condition yet", nil
		}); err != nil {
			return err
		}
	}
	for _, name := range refconfig.APIServicesFor(r.opts.profile.VirtTemplateVersion()) {
		if err := r.poll(templateTimeout, "APIService "+name+" Available", func(ctx context.Context) (bool, string, error) {
			u, err := r.dyn.Resource(apiServiceGVR).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			return conditionTrue(u, "Available")
		}); err != nil {
			return err
		}
	}
	return nil
}

// poll waits for check with the lane's named interval; the error says what was last seen.
func (r *run) poll(timeout time.Duration, what string, check func(context.Context) (bool, string, error)) error {
	var last string
	err := wait.PollUntilContextTimeout(r.ctx, installPoll, timeout, true, func(ctx context.Context) (bool, error) {
		ok, seen, err := check(ctx)
		last = seen
		return ok, err
	})
	if err != nil {
		return fmt.Errorf("waiting for %s: %w (last seen: %s)", what, err, last)
	}
	return nil
}

// conditionTrue reads status.conditions[type=t] of u.
func conditionTrue(u *unstructured.Unstructured, t string) (bool, string, error) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == t {
			return m["status"] == "True", fmt.Sprintf("%s=%v %v: %v", t, m["status"], m["reason"], m["message"]), nil
		}
	}
	return false, "no " + t + " condition yet", nil
}

func moduleDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/vmt-conformance/vmt-conformance").Output()
	if err != nil {
		return "", fmt.Errorf("kind provider: finding the vmt-conformance checkout for the image builds (run from inside it): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
