// Package local runs the hermetic control plane: etcd, kube-apiserver and
// kube-controller-manager built from Go modules by ci/kube, started through
// controller-runtime's envtest, with front-proxy certificates so aggregated API servers work,
// RBAC, an admin that may impersonate, and the KubeVirt, CDI, snapshot and OpenShift Template
// CRDs installed from fixtures/crds.
//
// Every file and process of one cluster lives below one run directory
// (<state root>/<name>); a cluster whose owner died is reaped by the next Start (its
// processes are found by that directory in their command line), so an interrupted run leaves
// nothing behind for long.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/vmt-conformance/vmt-conformance/internal/pki"
)

// KubernetesVersion is the control-plane version ci/kube builds; a unit test keeps it equal to
// ci/kube/go.mod.
const KubernetesVersion = "v1.34.4"

// Binaries the assets directory must hold.
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// controllers are the kube-controller-manager loops the scenarios depend on: namespaces
// finish deleting, owned objects are garbage-collected, ClusterRoles aggregate into
// admin/edit/view, service accounts and their tokens exist. The two protection controllers
// remove the kubernetes.io/pvc-protection and kubernetes.io/pv-protection finalizers that
// kube-apiserver's StorageObjectInUseProtection admission puts on every claim and volume:
// without them a deleted PVC (a DataVolume's, a VM's) never goes, nor its namespace. The
// resource-quota controller computes a ResourceQuota's status, without which kube-apiserver's
// ResourceQuota admission enforces nothing (VMT-002 stalls a capture with a quota).
// Names as kube-controller-manager v1.34 spells them (cmd/kube-controller-manager/names).
var controllers = []string{
	"namespace-controller",
	"garbage-collector-controller",
	"persistentvolumeclaim-protection-controller",
	"persistentvolume-protection-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"clusterrole-aggregation-controller",
	"root-ca-certificate-publisher-controller",
	"validatingadmissionpolicy-status-controller",
	"resourcequota-controller",
}

// Options configure a control plane.
type Options struct {
	// AssetsDir holds the binaries; default DefaultAssetsDir().
	AssetsDir string
	// StateRoot holds one run directory per cluster; default DefaultStateRoot().
	StateRoot string
	// Name of the run directory; default "run-<pid>-<time>".
	Name string
	// CRDs to install and wait for.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// Progress receives one line per start-up phase; nil discards.
	Progress io.Writer
	// StartTimeout bounds the control plane's start (CI may be compiling on the same cores).
	StartTimeout time.Duration
	// Alongside, when set, runs once kube-apiserver serves and the CRDs are installed,
	// concurrently with the wait for kube-controller-manager (the simulator starts there:
	// the first writes to large CRDs cost seconds that overlap with that wait). Start fails
	// when it fails.
	Alongside func(ctx context.Context, cp *ControlPlane) error
}

// ControlPlane is a running hermetic control plane.
type ControlPlane struct {
	opts           Options
	dir            string
	env            *envtest.Environment
	kcm            *exec.Cmd
	kcmDone        chan error
	restConfig     *rest.Config
	kubeconfigPath string
	logs           []*os.File
	// FrontProxyCA signs the request-header client certificate; aggregated servers trust it.
	FrontProxyCA []byte
	// Timings of the start-up phases, for `make bench` and progress output.
	Timings []Timing
}

// Timing is how long one start-up phase took.
type Timing struct {
	Phase    string
	Duration time.Duration
}

// DefaultCacheDir is where ci/kube/build.sh caches binaries and where run state lives.
func DefaultCacheDir() string {
	if d := os.Getenv("VMT_CACHE_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "vmt-conformance")
	}
	return filepath.Join(home, ".cache", "vmt-conformance")
}

// DefaultAssetsDir is ci/kube/build.sh's output for KubernetesVersion.
func DefaultAssetsDir() string { return filepath.Join(DefaultCacheDir(), "k8s", KubernetesVersion) }

// DefaultStateRoot holds the run directories of local clusters.
func DefaultStateRoot() string { return filepath.Join(DefaultCacheDir(), "clusters") }

// CheckAssets reports, in one line, which binary is missing and how to build it.
func CheckAssets(dir string) error {
	for _, b := range Binaries {
		info, err := os.Stat(filepath.Join(dir, b))
		if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			return fmt.Errorf("control-plane binary %s not found in %s: run `make cluster-binaries` (ci/kube/build.sh, ~10 min cold, cached afterwards) or set VMT_LOCAL_ASSETS", b, dir)
		}
	}
	return nil
}

// Start brings a control plane up and installs the CRDs. On error nothing is left running.
func Start(ctx context.Context, opts Options) (_ *ControlPlane, err error) {
	if opts.AssetsDir == "" {
		opts.AssetsDir = DefaultAssetsDir()
	}
	if opts.StateRoot == "" {
		opts.StateRoot = DefaultStateRoot()
	}
	if opts.Name == "" {
		opts.Name = fmt.Sprintf("run-%d-%d", os.Getpid(), time.Now().UnixNano())
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if err := CheckAssets(opts.AssetsDir); err != nil {
		return nil, err
	}
	cp := &ControlPlane{opts: opts, dir: filepath.Join(opts.StateRoot, opts.Name), kcmDone: make(chan error, 1)}
	if err := cp.createRunDir(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = cp.Stop()
		}
	}()

	phase := cp.phase("certificates")
	if err := cp.configure(); err != nil {
		return nil, err
	}
	phase()

	phase = cp.phase("etcd and kube-apiserver")
	cfg, err := cp.env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting etcd and kube-apiserver (logs in %s): %w", filepath.Join(cp.dir, "logs"), err)
	}
	phase()
	cfg.QPS, cfg.Burst = 200, 400 // the suite is the only client; client-side throttling would only add noise
	cp.restConfig = cfg
	cp.kubeconfigPath = filepath.Join(cp.dir, "kubeconfig")
	if err := os.WriteFile(cp.kubeconfigPath, cp.env.KubeConfig, 0o600); err != nil {
		return nil, err
	}

	// The controller manager starts while the CRDs install; both take about two seconds.
	phase = cp.phase("kube-controller-manager and CRDs")
	if err := cp.startControllerManager(); err != nil {
		return nil, err
	}
	if len(opts.CRDs) > 0 {
		// envtest writes into the objects it installs; keep the caller's pristine.
		defs := make([]*apiextensionsv1.CustomResourceDefinition, len(opts.CRDs))
		for i, d := range opts.CRDs {
			defs[i] = d.DeepCopy()
		}
		if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{CRDs: defs, MaxTime: opts.StartTimeout}); err != nil {
			return nil, fmt.Errorf("installing %d CRDs: %w", len(opts.CRDs), err)
		}
	}
	alongside := make(chan error, 1)
	if opts.Alongside != nil {
		go func() { alongside <- opts.Alongside(ctx, cp) }()
	} else {
		alongside <- nil
	}
	kcmErr := cp.waitForControllerManager(ctx)
	phase()
	if err := errors.Join(kcmErr, <-alongside); err != nil {
		return nil, err
	}
	return cp, nil
}

// createRunDir reaps the clusters of dead runs and creates this cluster's run directory with
// its owner file, holding the state root's lock throughout: processes starting together
// (parallel lanes, `make test` beside `make e2e`) neither reap each other's fresh directories
// nor take the same name.
func (cp *ControlPlane) createRunDir(ctx context.Context) error {
	root := cp.opts.StateRoot
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("creating the state root: %w", err)
	}
	progress := orDiscard(cp.opts.Progress)
	lock, err := lockStateRoot(ctx, root, "reaping stale local clusters and creating "+cp.opts.Name, progress)
	if err != nil {
		return err
	}
	defer lock.Release()
	if n := reapStale(root); n > 0 {
		fmt.Fprintf(progress, "reaped %d stale local cluster(s) left by dead runs\n", n)
	}
	if err := os.Mkdir(cp.dir, 0o700); os.IsExist(err) {
		return fmt.Errorf("a local cluster named %q is already running (state in %s); stop it with `vmt-cluster down --name %s`", cp.opts.Name, cp.dir, cp.opts.Name)
	} else if err != nil {
		return fmt.Errorf("creating run directory: %w", err)
	}
	err = os.WriteFile(filepath.Join(cp.dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600)
	for _, sub := range []string{"pki", "etcd", "logs"} {
		if err != nil {
			break
		}
		err = os.Mkdir(filepath.Join(cp.dir, sub), 0o700)
	}
	if err != nil {
		_ = os.RemoveAll(cp.dir)
		return fmt.Errorf("creating run directory: %w", err)
	}
	return nil
}

func (cp *ControlPlane) phase(name string) func() {
	fmt.Fprintf(cp.opts.Progress, "local cluster: starting %s\n", name)
	start := time.Now()
	return func() { cp.Timings = append(cp.Timings, Timing{Phase: name, Duration: time.Since(start)}) }
}

func (cp *ControlPlane) configure() error {
	pkiDir := filepath.Join(cp.dir, "pki")
	ca, err := pki.NewCA("front-proxy-ca")
	if err != nil {
		return err
	}
	client, err := ca.Issue("front-proxy-client", pki.Client)
	if err != nil {
		return err
	}
	caFile := filepath.Join(pkiDir, "front-proxy-ca.crt")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		return err
	}
	clientCert, clientKey, err := client.Write(pkiDir, "front-proxy-client")
	if err != nil {
		return err
	}
	cp.FrontProxyCA = ca.CertPEM

	etcdLog, err := cp.logFile("etcd")
	if err != nil {
		return err
	}
	apiLog, err := cp.logFile("kube-apiserver")
	if err != nil {
		return err
	}
	cp.env = &envtest.Environment{
		BinaryAssetsDirectory:    cp.opts.AssetsDir,
		ControlPlaneStartTimeout: cp.opts.StartTimeout,
		ControlPlaneStopTimeout:  time.Minute,
	}
	cp.env.ControlPlane.Etcd = &envtest.Etcd{DataDir: filepath.Join(cp.dir, "etcd"), Out: etcdLog, Err: etcdLog}
	api := cp.env.ControlPlane.GetAPIServer()
	api.CertDir = pkiDir
	api.Out, api.Err = apiLog, apiLog
	api.Configure().
		Set("requestheader-client-ca-file", caFile).
		Set("requestheader-allowed-names", "front-proxy-client").
		Set("requestheader-username-headers", "X-Remote-User").
		Set("requestheader-group-headers", "X-Remote-Group").
		Set("requestheader-extra-headers-prefix", "X-Remote-Extra-").
		Set("proxy-client-cert-file", clientCert).
		Set("proxy-client-key-file", clientKey)
	return nil
}

func (cp *ControlPlane) logFile(name string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(cp.dir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s log: %w", name, err)
	}
	cp.logs = append(cp.logs, f)
	return f, nil
}

func (cp *ControlPlane) startControllerManager() error {
	log, err := cp.logFile("kube-controller-manager")
	if err != nil {
		return err
	}
	pkiDir := cp.env.ControlPlane.GetAPIServer().CertDir
	args := []string{
		"--kubeconfig=" + cp.kubeconfigPath,
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers=" + joinComma(controllers),
		"--service-account-private-key-file=" + filepath.Join(pkiDir, "sa-signer.key"),
		"--root-ca-file=" + filepath.Join(pkiDir, "apiserver.crt"),
		// The run directory in the command line is how ReapStale finds this process.
		"--cert-dir=" + filepath.Join(cp.dir, "pki", "kcm"),
	}
	cmd := exec.Command(filepath.Join(cp.opts.AssetsDir, "kube-controller-manager"), args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	cp.kcm = cmd
	go func() { cp.kcmDone <- cmd.Wait() }()
	return nil
}

// waitForControllerManager waits for the default ServiceAccount, the first thing the
// controller manager makes, or for the process to die.
func (cp *ControlPlane) waitForControllerManager(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(cp.restConfig)
	if err != nil {
		return err
	}
	var lastErr error
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, cp.opts.StartTimeout, true, func(ctx context.Context) (bool, error) {
		select {
		case werr := <-cp.kcmDone:
			cp.kcmDone <- werr
			return false, fmt.Errorf("kube-controller-manager exited (%v); see %s", werr, filepath.Join(cp.dir, "logs", "kube-controller-manager.log"))
		default:
		}
		_, lastErr = cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return lastErr == nil, nil
	})
	if err != nil && lastErr != nil && !apierrors.IsNotFound(lastErr) {
		return fmt.Errorf("waiting for kube-controller-manager to create the default ServiceAccount: %w (last error: %v)", err, lastErr)
	}
	if err != nil {
		return fmt.Errorf("waiting for kube-controller-manager to create the default ServiceAccount: %w", err)
	}
	return nil
}

// RESTConfig is the admin (system:masters) configuration; it may impersonate anyone.
func (cp *ControlPlane) RESTConfig() *rest.Config { return rest.CopyConfig(cp.restConfig) }

// KubeconfigPath is the admin kubeconfig inside the run directory.
func (cp *ControlPlane) KubeconfigPath() string { return cp.kubeconfigPath }

// Dir is the run directory (logs/, pki/, kubeconfig).
func (cp *ControlPlane) Dir() string { return cp.dir }

// Stop kills every process and removes the run directory. It is safe to call twice.
func (cp *ControlPlane) Stop() error {
	var errs []error
	if cp.kcm != nil && cp.kcm.Process != nil {
		_ = syscall.Kill(-cp.kcm.Process.Pid, syscall.SIGTERM)
		select {
		case <-cp.kcmDone:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cp.kcm.Process.Pid, syscall.SIGKILL)
			<-cp.kcmDone
		}
		cp.kcm = nil
	}
	if cp.env != nil {
		if err := cp.env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping etcd and kube-apiserver: %w", err))
		}
		cp.env = nil
	}
	for _, f := range cp.logs {
		_ = f.Close()
	}
	cp.logs = nil
	// Anything still holding the run directory (a component someone added to it) goes too.
	killHolders(cp.dir)
	if cp.dir != "" {
		if err := os.RemoveAll(cp.dir); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", cp.dir, err))
		}
	}
	return errors.Join(errs...)
}

func joinComma(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}
