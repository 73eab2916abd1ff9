// Package operator is the simulator's virt-operator role: it watches the KubeVirt CR and,
// while the Template feature is on, deploys the reference template controller and API
// server (manifests from reference/config, both binaries as real processes); when the
// feature is turned off it removes them, CRDs included, as upstream's operator does, so
// existing templates and requests are lost exactly as on a real cluster.
package operator

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/internal/kubeconfig"
	"github.com/vmt-conformance/vmt-conformance/internal/pki"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/config"
	"github.com/vmt-conformance/vmt-conformance/reference/emulation"
	"github.com/vmt-conformance/vmt-conformance/reference/faults"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/kit"
)

// Names of the deployed components, upstream's.
const (
	APIServerDeployment  = config.APIServerDeployment
	ControllerDeployment = config.ControllerDeployment
)

// BinaryAnnotation, on each Deployment the role applies, names the binary that answers for
// it: "<absolute path> sha256:<first 12 hex digits of its SHA-256>", so a report can tell
// runs with other builds apart.
const BinaryAnnotation = "vmt-conformance.io/binary"

// EmulateReleaseFlag makes vmt-template-apiserver and vmt-template-controller behave like
// that virt-template release; the role passes the release its KubeVirt version deploys.
const EmulateReleaseFlag = "--" + emulation.FlagName

// Defaults of Options.
const (
	DefaultNamespace       = "kubevirt"
	DefaultKubeVirtVersion = "v1.9.0"
	DefaultReadyTimeout    = time.Minute
	readyPoll              = 100 * time.Millisecond
)

// Options configure the role.
type Options struct {
	// Dir is the simulator's run directory; the role keeps certificates, kubeconfigs and the
	// components' logs below Dir/virt-template and Dir/logs.
	Dir string
	// BinDir holds vmt-template-apiserver and vmt-template-controller.
	BinDir string
	// Namespace is KubeVirt's install namespace, where the KubeVirt CR lives and the
	// components are deployed; default "kubevirt".
	Namespace string
	// KubeVirtVersion is the KubeVirt release the role plays; default DefaultKubeVirtVersion.
	// The KubeVirt CR reports it (status.observedKubeVirtVersion, targetKubeVirtVersion,
	// operatorVersion), it gives the Template gate's maturity (MaturityFor) and the
	// virt-template release deployed (release.ForKubeVirt): the components are started with
	// EmulateReleaseFlag, the manifests rendered for it and the images tagged with it.
	KubeVirtVersion string
	// Maturity of the Template gate; default MaturityFor(KubeVirtVersion).
	Maturity GateMaturity
	// ReadyTimeout bounds one deployment's wait for both components; default one minute.
	ReadyTimeout time.Duration
	// APIServerArgs are appended to vmt-template-apiserver's arguments (a test can start it
	// throttled, e.g. --client-qps=5).
	APIServerArgs []string
	// Faults are the deliberate bugs both components are started with (package
	// reference/faults): they get exactly this set in VMT_REFERENCE_FAULTS, whatever the
	// simulator's own environment says. Empty, the default, injects nothing.
	Faults faults.Set

	kubevirt     release.Version // KubeVirtVersion, parsed
	virtTemplate release.Version // the virt-template release kubevirt deploys
}

func (o *Options) complete() error {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.KubeVirtVersion == "" {
		o.KubeVirtVersion = DefaultKubeVirtVersion
	}
	var err error
	if o.kubevirt, err = release.Parse(o.KubeVirtVersion); err != nil {
		return fmt.Errorf("operator: KubeVirt version: %w", err)
	}
	if o.virtTemplate, err = release.ForKubeVirt(o.KubeVirtVersion); err != nil {
		return fmt.Errorf("operator: %w", err)
	}
	if o.Maturity == "" {
		o.Maturity = MaturityFor(o.kubevirt)
	}
	if o.Maturity != Alpha && o.Maturity != Beta {
		return fmt.Errorf("operator: gate maturity %q: want %q or %q", o.Maturity, Alpha, Beta)
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.Dir == "" {
		return errors.New("operator: a run directory is required")
	}
	for _, bin := range []string{apiserverBinary, controllerBinary} {
		if _, err := os.Stat(filepath.Join(o.BinDir, bin)); err != nil {
			return fmt.Errorf("operator: %s not found in --bin-dir %q (build it with `make tools`)", bin, o.BinDir)
		}
	}
	return nil
}

// The component binaries in BinDir.
const (
	apiserverBinary  = "vmt-template-apiserver"
	controllerBinary = "vmt-template-controller"
)

// describeBinary is BinaryAnnotation's value for the binary at path.
func describeBinary(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	f, err := os.Open(abs)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", abs, err)
	}
	return abs + " sha256:" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// childEnv is the environment of both components: the simulator's, with
// VMT_REFERENCE_FAULTS set to exactly o.Faults (removed when there are none).
func (o *Options) childEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, faults.EnvVar+"=") })
	if !o.Faults.Empty() {
		env = append(env, faults.EnvVar+"="+o.Faults.String())
	}
	return env
}

// Setup registers the role with the simulator's manager. The manager's scheme must know
// KubeVirt and apps/v1.
func Setup(mgr ctrl.Manager, opts Options) error {
	if err := opts.complete(); err != nil {
		return err
	}
	if banner := opts.Faults.Banner("vmt-sim operator role"); banner != "" {
		// Loud on purpose: a run with faults must never be mistaken for a real one.
		fmt.Fprintln(os.Stderr, banner)
		ctrl.Log.WithName("sim-virt-operator").Info(banner)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	r := &reconciler{opts: opts, client: mgr.GetClient(), dynamic: dyn, admin: mgr.GetConfig(), discovery: disco, events: make(chan event.GenericEvent, 4),
		binaries: map[string]func() (string, error){}}
	for deployment, bin := range map[string]string{APIServerDeployment: apiserverBinary, ControllerDeployment: controllerBinary} {
		// Hashing ~100 MB takes a few hundred milliseconds: start now, overlapping the
		// manager's start, and reuse the answer for every deployment.
		describe := sync.OnceValues(func() (string, error) { return describeBinary(filepath.Join(opts.BinDir, bin)) })
		go func() { _, _ = describe() }()
		r.binaries[deployment] = describe
	}
	direct, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		return err
	}
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		// virt-operator installs KubeVirt's user roles whatever the gates say.
		if err := kit.EnsureClusterRoles(ctx, direct, kit.KubeVirtUserRoles()); err != nil {
			return err
		}
		<-ctx.Done()
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.stopComponents()
	})); err != nil {
		return err
	}
	inNamespace := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetNamespace() == opts.Namespace })
	return ctrl.NewControllerManagedBy(mgr).
		Named("sim-virt-operator").
		For(&kubevirtv1.KubeVirt{}, builder.WithPredicates(inNamespace)).
		WatchesRawSource(source.Channel(r.events, &handler.EnqueueRequestForObject{})).
		Complete(r)
}

// reconciler converges the template components on what the KubeVirt CR asks for.
type reconciler struct {
	opts      Options
	client    client.Client
	dynamic   dynamic.Interface
	admin     *rest.Config
	discovery discovery.DiscoveryInterface
	events    chan event.GenericEvent

	// binaries gives each Deployment's BinaryAnnotation value.
	binaries map[string]func() (string, error)

	mu       sync.Mutex
	deployed *deployment // nil when nothing runs
	removed  bool        // the objects are known to be gone
}

// deployment is one running generation of the components.
type deployment struct {
	apiserver, controller *process
	healthAddr            string
}

func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	logger := log.FromContext(ctx)

	kv := &kubevirtv1.KubeVirt{}
	if err := r.client.Get(ctx, req.NamespacedName, kv); apierrors.IsNotFound(err) {
		kv = nil
	} else if err != nil {
		return reconcile.Result{}, err
	}
	want, why := Wanted(kv, r.opts.Maturity)
	logger.Info("converging virt-template", "deploy", want, "because", why)
	if !want {
		err := r.remove(ctx)
		if kv != nil {
			err = errors.Join(err, r.report(ctx, kv, err, "virt-template is not deployed: "+why))
		}
		return reconcile.Result{}, err
	}
	if kv.Status.Phase != kubevirtv1.KubeVirtPhaseDeployed || r.deployed == nil {
		_ = r.report(ctx, kv, errDeploying, "")
	}
	err := r.deploy(ctx, kv)
	return reconcile.Result{}, errors.Join(err, r.report(ctx, kv, err, "All components are ready."))
}

var errDeploying = errors.New("deploying virt-template")

// deploy makes sure both components run, the objects exist and the Deployments say Available.
func (r *reconciler) deploy(ctx context.Context, kv *kubevirtv1.KubeVirt) error {
	if d := r.deployed; d != nil {
		if d.apiserver.running() && d.controller.running() {
			return r.markDeployments(ctx, true)
		}
		log.FromContext(ctx).Info("a component exited; redeploying", "apiserver", d.apiserver.exitError(), "controller", d.controller.exitError())
		_ = r.stopComponents()
		// A crashed pod makes its one-replica Deployment unavailable until it is back; saying
		// so is what lets a client see the restart (the scale lane's stability check).
		_ = r.markDeployments(ctx, false)
	}
	began := time.Now()
	dir := filepath.Join(r.opts.Dir, "virt-template")
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := pki.NewCA("virt-template-ca")
	if err != nil {
		return err
	}
	svcHost := config.APIServerService + "." + r.opts.Namespace + ".svc"
	apiCert, err := ca.Issue(svcHost, pki.Server, svcHost, svcHost+".cluster.local", "localhost")
	if err != nil {
		return err
	}
	apiCertFile, apiKeyFile, err := apiCert.Write(dir, "apiserver")
	if err != nil {
		return err
	}
	hookCert, err := ca.Issue("localhost", pki.Server, "localhost")
	if err != nil {
		return err
	}
	hookDir := filepath.Join(dir, "webhook")
	if err := os.MkdirAll(hookDir, 0o700); err != nil {
		return err
	}
	if _, _, err := hookCert.Write(hookDir, "tls"); err != nil {
		return err
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	apiPort, hookPort, healthPort := ports[0], ports[1], ports[2]

	objs, err := config.Objects(config.Options{
		Namespace:             r.opts.Namespace,
		CABundle:              ca.CertPEM,
		WebhookURL:            fmt.Sprintf("https://localhost:%d", hookPort),
		APIServerExternalPort: int32(apiPort),
		// The manifests of the release KubeVirtVersion bundles; as in virt-operator's bundle,
		// the images are tagged with it.
		Release:                      &r.opts.virtTemplate,
		FaultCaptureSkipsSourceCheck: r.opts.Faults.Has(faults.CaptureSkipsSourceCheck),
		FaultViewMayUseTemplates:     r.opts.Faults.Has(faults.ViewMayUseTemplates),
		FaultCopySourceSecrets:       r.opts.Faults.Has(faults.CopySourceSecrets),
		ControllerImage:              withTag(config.DefaultControllerImage, r.opts.virtTemplate.String()),
		APIServerImage:               withTag(config.DefaultAPIServerImage, r.opts.virtTemplate.String()),
	})
	if err != nil {
		return err
	}
	if err := r.annotateBinaries(objs); err != nil {
		return err
	}
	if err := r.waitForTerminatingCRDs(ctx, objs); err != nil {
		return err
	}
	applyBegan := time.Now()
	// The APIServices go in once the template API server listens: kube-apiserver's
	// availability controller retries a backend that refuses connections with exponential
	// back-off, which would hold the APIServices unavailable for seconds after the server
	// is up. virt-operator applies them with the rest; only the moment differs, not the objects.
	var early, apiServices []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "APIService" {
			apiServices = append(apiServices, o)
		} else {
			early = append(early, o)
		}
	}
	if err := config.Apply(ctx, r.dynamic, early); err != nil {
		return fmt.Errorf("applying the virt-template manifests: %w", err)
	}
	r.removed = false
	applied := time.Now()

	apiKubeconfig := filepath.Join(dir, "apiserver.kubeconfig")
	ctlKubeconfig := filepath.Join(dir, "controller.kubeconfig")
	if err := kubeconfig.Write(apiKubeconfig, "virt-template-apiserver", kubeconfig.ServiceAccount(r.admin, r.opts.Namespace, config.APIServerServiceAccount)); err != nil {
		return err
	}
	if err := kubeconfig.Write(ctlKubeconfig, "virt-template-controller", kubeconfig.ServiceAccount(r.admin, r.opts.Namespace, config.ControllerServiceAccount)); err != nil {
		return err
	}
	logs := filepath.Join(r.opts.Dir, "logs")
	exited := func() { // a crash is reconciled like any other drift; a full queue already will be
		select {
		case r.events <- event.GenericEvent{Object: &kubevirtv1.KubeVirt{ObjectMeta: metav1.ObjectMeta{Namespace: kv.Namespace, Name: kv.Name}}}:
		default:
		}
	}
	d := &deployment{healthAddr: fmt.Sprintf("127.0.0.1:%d", healthPort)}
	emulate := EmulateReleaseFlag + "=" + r.opts.virtTemplate.String()
	if d.apiserver, err = start(APIServerDeployment, filepath.Join(r.opts.BinDir, apiserverBinary), append([]string{
		emulate,
		"--kubeconfig=" + apiKubeconfig,
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--tls-cert-file=" + apiCertFile,
		"--tls-private-key-file=" + apiKeyFile,
	}, r.opts.APIServerArgs...), r.opts.childEnv(), logs, exited); err != nil {
		return err
	}
	if d.controller, err = start(ControllerDeployment, filepath.Join(r.opts.BinDir, controllerBinary), []string{
		emulate,
		"--kubeconfig=" + ctlKubeconfig,
		"--webhook-cert-path=" + hookDir,
		"--webhook-host=127.0.0.1",
		fmt.Sprintf("--webhook-port=%d", hookPort),
		"--health-probe-bind-address=" + d.healthAddr,
		"--metrics-bind-address=0",
	}, r.opts.childEnv(), logs, exited); err != nil {
		_ = d.apiserver.stop()
		return err
	}
	r.deployed = d
	started := time.Now()
	if err := waitListening(ctx, d.apiserver, fmt.Sprintf("127.0.0.1:%d", apiPort), r.opts.ReadyTimeout); err != nil {
		_ = r.stopComponents()
		return err
	}
	listening := time.Now()
	if err := config.Apply(ctx, r.dynamic, apiServices); err != nil {
		_ = r.stopComponents()
		return fmt.Errorf("applying the virt-template APIServices: %w", err)
	}
	if err := r.waitReady(ctx, d, objs); err != nil {
		_ = r.stopComponents()
		return err
	}
	log.FromContext(ctx).Info("virt-template deployed", "took", time.Since(began).String(),
		"prepare", applyBegan.Sub(began).String(), "apply", applied.Sub(applyBegan).String(),
		"start", started.Sub(applied).String(), "listening", listening.Sub(started).String(), "ready", time.Since(listening).String())
	return r.markDeployments(ctx, true)
}

// waitListening waits until p serves on addr: its /readyz answers 200 (or, should it never
// say so to an anonymous caller, 2 s after it first accepted a TLS connection), p exits, or
// timeout passes.
func waitListening(ctx context.Context, p *process, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	httpc := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // only "is it serving?"
	}}
	defer httpc.CloseIdleConnections()
	var connected time.Time
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := httpc.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if connected.IsZero() {
				connected = time.Now()
			}
			if resp.StatusCode == http.StatusOK || time.Since(connected) > 2*time.Second {
				return nil
			}
		}
		if perr := p.exitError(); perr != nil {
			return fmt.Errorf("%s exited before serving on %s: %w", p.name, addr, perr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s does not serve on %s: %w (last: %v)", p.name, addr, ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// withTag replaces the tag of image ("repo/name:tag") with tag.
func withTag(image, tag string) string {
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		image = image[:i]
	}
	return image + ":" + tag
}

// annotateBinaries sets BinaryAnnotation on the Deployments of objs.
func (r *reconciler) annotateBinaries(objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		describe, ok := r.binaries[o.GetName()]
		if o.GetKind() != "Deployment" || !ok {
			continue
		}
		value, err := describe()
		if err != nil {
			return err
		}
		ann := o.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[BinaryAnnotation] = value
		o.SetAnnotations(ann)
	}
	return nil
}

// servesV1beta1 reports whether the deployed release serves template.kubevirt.io and
// subresources.template.kubevirt.io v1beta1 (virt-template v0.2.0+); older ones serve
// v1alpha1 only.
func (r *reconciler) servesV1beta1() bool {
	return release.For(r.opts.virtTemplate).Has(release.ServesV1beta1)
}

// subresourceVersion is the newest subresources.template.kubevirt.io version the deployed
// release serves: a v1alpha1-only release never serves v1beta1.
func (r *reconciler) subresourceVersion() string {
	if r.servesV1beta1() {
		return subresourcesv1beta1.GroupVersion.String()
	}
	return subresourcesv1alpha1.GroupVersion.String()
}

// templateVersions are the template.kubevirt.io versions the deployed release serves.
func (r *reconciler) templateVersions() []string {
	if r.servesV1beta1() {
		return []string{"v1alpha1", "v1beta1"}
	}
	return []string{"v1alpha1"}
}

// waitForTerminatingCRDs waits until no CRD of objs is still being deleted: after the gate
// was turned off, a CRD with instances takes a while to go, and applying it meanwhile changes
// nothing (the operator would then report Available over a CRD about to vanish).
func (r *reconciler) waitForTerminatingCRDs(ctx context.Context, objs []*unstructured.Unstructured) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, readyPoll, r.opts.ReadyTimeout, true, func(ctx context.Context) (bool, error) {
		for _, o := range objs {
			if o.GetKind() != "CustomResourceDefinition" {
				continue
			}
			crd := &unstructured.Unstructured{}
			crd.SetGroupVersionKind(o.GroupVersionKind()) // unstructured: read live, never cached
			err := r.client.Get(ctx, types.NamespacedName{Name: o.GetName()}, crd)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return false, err
			}
			if crd.GetDeletionTimestamp() != nil {
				last = "CRD " + crd.GetName() + " is still being deleted"
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil && last != "" {
		return fmt.Errorf("waiting for the template CRDs removed earlier to be gone: %w; last seen: %s", err, last)
	}
	return err
}

// waitReady waits for the controller's /readyz, for the subresource API to be served
// through the aggregator, and for every object of objs kube-apiserver takes up
// asynchronously to be in force: CRDs Established and in discovery, APIServices Available
// and in discovery, the template webhooks denying a template they must deny. Available
// then means a client can use the feature at once, not a moment later.
func (r *reconciler) waitReady(ctx context.Context, d *deployment, objs []*unstructured.Unstructured) error {
	httpc := &http.Client{Timeout: time.Second}
	kube, err := kubernetes.NewForConfig(r.admin)
	if err != nil {
		return err
	}
	var last string
	// What held readiness up, and until when: logged once ready, to see where a deployment's
	// time goes.
	began, held, heldSince := time.Now(), []string{}, ""
	note := func() {
		if kind, _, _ := strings.Cut(last, ":"); kind != heldSince {
			heldSince = kind
			held = append(held, fmt.Sprintf("%s@%s", kind, time.Since(began).Round(time.Millisecond)))
		}
	}
	defer func() { log.FromContext(ctx).Info("virt-template readiness", "held by", strings.Join(held, " → ")) }()
	err = wait.PollUntilContextTimeout(ctx, readyPoll, r.opts.ReadyTimeout, true, func(ctx context.Context) (bool, error) {
		defer note()
		for _, p := range []*process{d.apiserver, d.controller} {
			if err := p.exitError(); err != nil {
				return false, fmt.Errorf("%w (log: %s)", err, filepath.Join(r.opts.Dir, "logs", p.name+".log"))
			}
		}
		resp, err := httpc.Get("http://" + d.healthAddr + "/readyz")
		if err != nil {
			last = "controller /readyz: " + err.Error()
			return false, nil
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			last = fmt.Sprintf("controller /readyz: HTTP %d", resp.StatusCode)
			return false, nil
		}
		subresources := r.subresourceVersion()
		if _, err := r.discovery.ServerResourcesForGroupVersion(subresources); err != nil {
			last = "discovery of " + subresources + ": " + err.Error()
			return false, nil
		}
		for _, o := range objs {
			if why := r.notInForce(ctx, o); why != "" {
				last = why
				return false, nil
			}
		}
		if why := r.serverReadsTemplates(ctx, kube); why != "" {
			last = why
			return false, nil
		}
		return true, nil
	})
	if err != nil && last != "" {
		return fmt.Errorf("waiting for virt-template to be ready: %w; last seen: %s", err, last)
	}
	return err
}

// notInForce says why kube-apiserver does not act on o yet ("" when it does, or when o is
// of a kind it takes up at once).
func (r *reconciler) notInForce(ctx context.Context, o *unstructured.Unstructured) string {
	res, err := config.ResourceFor(r.dynamic, o)
	if err != nil {
		return err.Error()
	}
	switch o.GetKind() {
	case "CustomResourceDefinition":
		live, err := res.Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			return "CRD " + o.GetName() + ": " + err.Error()
		}
		if !hasCondition(live, "Established") {
			return "CRD " + o.GetName() + " is not Established"
		}
		group, _, _ := unstructured.NestedString(live.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(live.Object, "spec", "names", "plural")
		versions, _, _ := unstructured.NestedSlice(live.Object, "spec", "versions")
		for _, v := range versions {
			m, _ := v.(map[string]any)
			if served, _ := m["served"].(bool); served {
				if why := r.inDiscovery(group+"/"+fmt.Sprint(m["name"]), plural); why != "" {
					return why
				}
			}
		}
	case "APIService":
		live, err := res.Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			return "APIService " + o.GetName() + ": " + err.Error()
		}
		if !hasCondition(live, "Available") {
			return "APIService " + o.GetName() + " is not Available"
		}
		group, _, _ := unstructured.NestedString(live.Object, "spec", "group")
		version, _, _ := unstructured.NestedString(live.Object, "spec", "version")
		return r.inDiscovery(group+"/"+version, "")
	case "ValidatingWebhookConfiguration":
		return r.webhooksDeny(ctx)
	}
	return ""
}

// serverReadsTemplates asks /process of a template that does not exist, through the
// aggregator: the API server's answer "not found" shows its own RBAC (reading templates,
// delegated authorization) is in force, not only that it serves discovery.
func (r *reconciler) serverReadsTemplates(ctx context.Context, kube kubernetes.Interface) string {
	path := "/apis/" + r.subresourceVersion() + "/namespaces/" + r.opts.Namespace +
		"/virtualmachinetemplates/readiness-probe/process"
	err := kube.CoreV1().RESTClient().Post().AbsPath(path).SetHeader("Content-Type", "application/json").Body([]byte("{}")).Do(ctx).Error()
	if status, ok := err.(apierrors.APIStatus); ok && status.Status().Code == http.StatusInternalServerError &&
		strings.Contains(status.Status().Message, "not found") {
		return ""
	}
	return fmt.Sprintf("POST %s: want 500 not found, got %v", path, err)
}

// inDiscovery says why discovery of gv does not list resource (any, when empty).
func (r *reconciler) inDiscovery(gv, resource string) string {
	list, err := r.discovery.ServerResourcesForGroupVersion(gv)
	if err != nil {
		return "discovery of " + gv + ": " + err.Error()
	}
	if resource != "" && !slices.ContainsFunc(list.APIResources, func(a metav1.APIResource) bool { return a.Name == resource }) {
		return "discovery of " + gv + " does not list " + resource
	}
	return ""
}

// webhooksDeny probes the template webhook of each served version with a dry-run create of a
// template it must deny (an undefined parameter reference), in the install namespace.
func (r *reconciler) webhooksDeny(ctx context.Context) string {
	for _, version := range r.templateVersions() {
		gvr := schema.GroupVersionResource{Group: "template.kubevirt.io", Version: version, Resource: "virtualmachinetemplates"}
		probe := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "template.kubevirt.io/" + version, "kind": "VirtualMachineTemplate",
			"metadata": map[string]any{"generateName": "webhook-probe-"},
			"spec": map[string]any{"virtualMachine": map[string]any{
				"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
				"metadata": map[string]any{"name": "webhook-probe"},
				"spec":     map[string]any{"runStrategy": "${UNDEFINED}"},
			}},
		}}
		_, err := r.dynamic.Resource(gvr).Namespace(r.opts.Namespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		// Every version's webhook matches every version (matchPolicy Equivalent) and they run
		// in parallel: whichever denies first shows the webhook server in force.
		if err == nil || !strings.Contains(err.Error(), `admission webhook "vvirtualmachinetemplate-`) || !strings.Contains(err.Error(), "denied the request") {
			return fmt.Sprintf("no template webhook denies a %s template with an undefined reference yet (%v)", version, err)
		}
	}
	return ""
}

// hasCondition reports whether the object's status has condition t with status True.
func hasCondition(u *unstructured.Unstructured, t string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	return slices.ContainsFunc(conds, func(c any) bool {
		m, _ := c.(map[string]any)
		return m["type"] == t && m["status"] == "True"
	})
}

// remove stops the components and deletes every object of the manifests, CRDs included.
func (r *reconciler) remove(ctx context.Context) error {
	if r.removed {
		return r.stopComponents()
	}
	began := time.Now()
	defer func() { log.FromContext(ctx).Info("virt-template removed", "took", time.Since(began).String()) }()
	// As virt-operator's deleteObjectsNotInInstallStrategy (pkg/virt-operator/resource/apply/
	// reconcile.go@v1.8.4:680, @v1.9.0:680): webhook configurations, APIServices and the
	// admission policy binding and policy first, then the CRDs. The CRDs go while the
	// controller still runs: deleting a CRD deletes its objects, and requests carry the
	// controller's finalizer, which only it removes. (Deleting the APIServices before the API
	// server stops also spares kube-apiserver's availability controller failed checks, whose
	// back-off would outlive the object and slow the next deployment's availability.)
	frontErr := r.deleteFront(ctx)
	crdErr := errors.Join(frontErr, r.deleteCRDs(ctx))
	err := r.stopComponents()
	if derr := config.Delete(ctx, r.dynamic, config.Options{Namespace: r.opts.Namespace, Release: &r.opts.virtTemplate}); derr != nil {
		return errors.Join(crdErr, err, fmt.Errorf("removing the virt-template manifests: %w", derr))
	}
	if crdErr == nil {
		r.removed = true
	}
	return errors.Join(crdErr, err)
}

// frontKinds are the kinds deleteFront removes, in its order.
var frontKinds = []string{"ValidatingWebhookConfiguration", "APIService", "ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy"}

// deleteFront deletes what fronts the components (webhooks, APIServices, the request policy
// and its binding), in virt-operator's order, without waiting.
func (r *reconciler) deleteFront(ctx context.Context) error {
	objs, err := config.Objects(config.Options{Namespace: r.opts.Namespace, Release: &r.opts.virtTemplate})
	if err != nil {
		return err
	}
	var errs []error
	for _, kind := range frontKinds {
		for _, o := range objs {
			if o.GetKind() != kind {
				continue
			}
			res, err := config.ResourceFor(r.dynamic, o)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if err := res.Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("deleting %s %s: %w", kind, o.GetName(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// deleteCRDs deletes the template CRDs and waits (ReadyTimeout) until they are gone. Should
// the controller not run (a crash), it removes the request finalizers it would have
// handled, so the CRDs do not hang in Terminating.
func (r *reconciler) deleteCRDs(ctx context.Context) error {
	objs, err := config.Objects(config.Options{Namespace: r.opts.Namespace})
	if err != nil {
		return err
	}
	var crds []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		crds = append(crds, o)
		res, err := config.ResourceFor(r.dynamic, o)
		if err != nil {
			return err
		}
		if err := res.Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting CRD %s: %w", o.GetName(), err)
		}
	}
	if r.deployed == nil || !r.deployed.controller.running() {
		if err := r.dropRequestFinalizers(ctx); err != nil {
			return err
		}
	}
	return r.waitForTerminatingCRDs(ctx, crds)
}

// dropRequestFinalizers removes the controller's finalizer from every request left.
func (r *reconciler) dropRequestFinalizers(ctx context.Context) error {
	// The newest served version (v1alpha1 of a v0.2.x release would draw deprecation warnings).
	versions := r.templateVersions()
	gvr := schema.GroupVersionResource{Group: "template.kubevirt.io", Version: versions[len(versions)-1], Resource: "virtualmachinetemplaterequests"}
	list, err := r.dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing requests to release: %w", err)
	}
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	for _, item := range list.Items {
		if len(item.GetFinalizers()) == 0 {
			continue
		}
		_, err := r.dynamic.Resource(gvr).Namespace(item.GetNamespace()).Patch(ctx, item.GetName(), types.MergePatchType, patch, metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("releasing request %s/%s: %w", item.GetNamespace(), item.GetName(), err)
		}
	}
	return nil
}

func (r *reconciler) stopComponents() error {
	d := r.deployed
	if d == nil {
		return nil
	}
	r.deployed = nil
	return errors.Join(d.controller.stop(), d.apiserver.stop())
}

// markDeployments writes what a kubelet and the deployment controller would: one ready,
// available replica, or none.
func (r *reconciler) markDeployments(ctx context.Context, available bool) error {
	var errs []error
	for _, name := range []string{APIServerDeployment, ControllerDeployment} {
		dep := &appsv1.Deployment{}
		if err := r.client.Get(ctx, types.NamespacedName{Namespace: r.opts.Namespace, Name: name}, dep); err != nil {
			errs = append(errs, err)
			continue
		}
		want := deploymentStatus(dep, available)
		if equalDeploymentStatus(dep.Status, want) {
			continue
		}
		dep.Status = want
		errs = append(errs, r.client.Status().Update(ctx, dep))
	}
	return errors.Join(errs...)
}

func deploymentStatus(dep *appsv1.Deployment, available bool) appsv1.DeploymentStatus {
	now := metav1.Now()
	st := appsv1.DeploymentStatus{ObservedGeneration: dep.Generation, Replicas: 1, UpdatedReplicas: 1}
	cond := appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable",
		Message: "Deployment has minimum availability.", LastUpdateTime: now, LastTransitionTime: now}
	if available {
		st.ReadyReplicas, st.AvailableReplicas = 1, 1
	} else {
		st.UnavailableReplicas = 1
		cond.Status, cond.Reason, cond.Message = corev1.ConditionFalse, "MinimumReplicasUnavailable", "Deployment does not have minimum availability."
	}
	for _, c := range dep.Status.Conditions {
		if c.Type == cond.Type && c.Status == cond.Status {
			cond.LastTransitionTime = c.LastTransitionTime
		}
	}
	st.Conditions = []appsv1.DeploymentCondition{cond}
	return st
}

func equalDeploymentStatus(a, b appsv1.DeploymentStatus) bool {
	if a.ObservedGeneration != b.ObservedGeneration || a.ReadyReplicas != b.ReadyReplicas || a.AvailableReplicas != b.AvailableReplicas || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		if a.Conditions[i].Type != b.Conditions[i].Type || a.Conditions[i].Status != b.Conditions[i].Status {
			return false
		}
	}
	return true
}

// report writes virt-operator's view onto the KubeVirt CR: Available/Progressing/Degraded and
// the phase. err == errDeploying means a deployment is under way.
func (r *reconciler) report(ctx context.Context, kv *kubevirtv1.KubeVirt, err error, message string) error {
	type cond struct {
		t      kubevirtv1.KubeVirtConditionType
		status corev1.ConditionStatus
	}
	var want []cond
	reason := "AllComponentsReady"
	switch {
	case errors.Is(err, errDeploying):
		reason, message = "DeploymentInProgress", "Deploying virt-template."
		want = []cond{{kubevirtv1.KubeVirtConditionAvailable, corev1.ConditionFalse}, {kubevirtv1.KubeVirtConditionProgressing, corev1.ConditionTrue}, {kubevirtv1.KubeVirtConditionDegraded, corev1.ConditionFalse}}
	case err != nil:
		reason, message = "DeploymentFailed", err.Error()
		want = []cond{{kubevirtv1.KubeVirtConditionAvailable, corev1.ConditionFalse}, {kubevirtv1.KubeVirtConditionProgressing, corev1.ConditionFalse}, {kubevirtv1.KubeVirtConditionDegraded, corev1.ConditionTrue}}
	default:
		want = []cond{{kubevirtv1.KubeVirtConditionAvailable, corev1.ConditionTrue}, {kubevirtv1.KubeVirtConditionProgressing, corev1.ConditionFalse}, {kubevirtv1.KubeVirtConditionDegraded, corev1.ConditionFalse}}
	}
	now := metav1.Now()
	conds := make([]kubevirtv1.KubeVirtCondition, 0, len(want))
	changed := len(kv.Status.Conditions) != len(want)
	for i, w := range want {
		c := kubevirtv1.KubeVirtCondition{Type: w.t, Status: w.status, Reason: reason, Message: message, LastProbeTime: now, LastTransitionTime: now}
		for _, old := range kv.Status.Conditions {
			if old.Type == w.t && old.Status == w.status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		if !changed && (kv.Status.Conditions[i].Type != c.Type || kv.Status.Conditions[i].Status != c.Status || kv.Status.Conditions[i].Reason != c.Reason || kv.Status.Conditions[i].Message != c.Message) {
			changed = true
		}
		conds = append(conds, c)
	}
	phase := kubevirtv1.KubeVirtPhaseDeployed
	if errors.Is(err, errDeploying) {
		phase = kubevirtv1.KubeVirtPhaseDeploying
	}
	// The versions virt-operator reports once it has deployed its release (the operator's
	// own, the target and the observed one are the same here: there is no update rollout).
	version := r.opts.kubevirt.String()
	// virt-operator records the generation it has completely reconciled only once every
	// component is ready (pkg/virt-operator/kubevirt.go@v1.8.4:1109, @v1.9.0:1124).
	observed := kv.Status.ObservedGeneration
	if err == nil {
		observed = &kv.Generation
	}
	sameObserved := (observed == nil) == (kv.Status.ObservedGeneration == nil) &&
		(observed == nil || *observed == *kv.Status.ObservedGeneration)
	if !changed && sameObserved && kv.Status.Phase == phase && kv.Status.ObservedKubeVirtVersion == version &&
		kv.Status.TargetKubeVirtVersion == version && kv.Status.OperatorVersion == version {
		return nil
	}
	kv.Status.ObservedGeneration = observed
	kv.Status.Phase, kv.Status.Conditions = phase, conds
	kv.Status.ObservedKubeVirtVersion, kv.Status.TargetKubeVirtVersion, kv.Status.OperatorVersion = version, version, version
	return r.client.Status().Update(ctx, kv)
}

// freePorts takes n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("taking a free loopback port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
