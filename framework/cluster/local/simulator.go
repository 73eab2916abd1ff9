package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	kubevirtv1 "kubevirt.io/api/core/v1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/framework/client"
	"github.com/vmt-conformance/vmt-conformance/internal/filelock"
)

// The binaries the local lane runs besides the control plane: the KubeVirt/CDI simulator and,
// started by its operator role, the reference template API server and controller.
var laneBinaries = []string{"vmt-sim", "vmt-template-apiserver", "vmt-template-controller"}

// BinDirEnv names a directory holding prebuilt lane binaries (`make tools` fills bin/).
const BinDirEnv = "VMT_BIN_DIR"

// KubeVirt CR the local lane starts with: the install namespace and name virt-operator uses,
// the profile's gates listed (Template and Snapshot, so the gate's maturity does not matter).
const (
	KubeVirtNamespace = "kubevirt"
	KubeVirtName      = "kubevirt"
)

// simPoll is how often Up looks at the simulator's progress.
const simPoll = 50 * time.Millisecond

// ResolveBinaries returns a directory holding every lane binary: $VMT_BIN_DIR when set (each
// binary must be there), otherwise the module's own commands built with `go build` into the
// cache (a no-op when they are up to date).
func ResolveBinaries(ctx context.Context, progress io.Writer) (string, error) {
	if dir := os.Getenv(BinDirEnv); dir != "" {
		var missing []string
		for _, b := range laneBinaries {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				missing = append(missing, b)
			}
		}
		if len(missing) > 0 {
			return "", fmt.Errorf("%s=%s lacks %s (build them with `make tools`, or unset %s to build into the cache)", BinDirEnv, dir, strings.Join(missing, ", "), BinDirEnv)
		}
		return dir, nil
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", fmt.Errorf("finding the vmt-conformance module to build the lane binaries (or set %s): %w", BinDirEnv, err)
	}
	dir := filepath.Join(DefaultCacheDir(), "bin")
	// Runs started together build into the same directory one after the other (the second
	// build relinks nothing).
	lock, err := filelock.Acquire(ctx, dir+".lock", "building the lane binaries into "+dir, orDiscard(progress))
	if err != nil {
		return "", err
	}
	defer lock.Release()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, b := range laneBinaries {
		args = append(args, "./cmd/"+b)
	}
	fmt.Fprintf(orDiscard(progress), "building %s into %s\n", strings.Join(laneBinaries, ", "), dir)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return dir, nil
}

// moduleRoot finds the directory of this module from the working directory.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/vmt-conformance/vmt-conformance").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %w (run from inside the checkout)", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// simulator is the running vmt-sim process.
type simulator struct {
	cmd     *exec.Cmd
	done    chan struct{}
	log     string
	timings []Timing // from starting the process: roles ready, virt-template deployed
}

// startSimulator creates the KubeVirt CR, starts vmt-sim playing the profile's KubeVirt and
// waits until its roles run and its operator role reports the template feature deployed (the
// KubeVirt CR Available).
func startSimulator(ctx context.Context, cp *ControlPlane, binDir string, profile Profile, timeout time.Duration) (*simulator, error) {
	c, err := ctrlclient.New(cp.RESTConfig(), ctrlclient.Options{Scheme: client.Scheme})
	if err != nil {
		return nil, err
	}
	if err := createKubeVirt(ctx, c, profile.FeatureGates); err != nil {
		return nil, err
	}
	dir := filepath.Join(cp.dir, "sim")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ready := filepath.Join(dir, "ready")
	// A simulator started again on the same run directory (Provider.Upgrade) must not take
	// the ready file of the one before for its own.
	if err := os.Remove(ready); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	logPath := filepath.Join(cp.dir, "logs", "vmt-sim.log")
	log, err := cp.logFile("vmt-sim")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(binDir, "vmt-sim"),
		"--kubeconfig="+cp.kubeconfigPath,
		"--dir="+dir, // the run directory in the command line is how ReapStale finds it
		"--bin-dir="+binDir,
		"--namespace="+KubeVirtNamespace,
		"--kubevirt-version="+profile.KubeVirtVersion,
		"--ready-file="+ready)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting vmt-sim: %w", err)
	}
	s := &simulator{cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { _ = cmd.Wait(); close(s.done) }()

	var last string
	begin, rolesReady := time.Now(), time.Duration(0)
	err = wait.PollUntilContextTimeout(ctx, simPoll, timeout, true, func(ctx context.Context) (bool, error) {
		select {
		case <-s.done:
			return false, fmt.Errorf("vmt-sim exited during start-up: %s (log %s)", cmd.ProcessState, logPath)
		default:
		}
		if rolesReady == 0 {
			if _, err := os.Stat(ready); err != nil {
				last = "the simulator's roles are starting"
				return false, nil
			}
			rolesReady = time.Since(begin)
		}
		kv := &kubevirtv1.KubeVirt{}
		if err := c.Get(ctx, ctrlclient.ObjectKey{Namespace: KubeVirtNamespace, Name: KubeVirtName}, kv); err != nil {
			return false, err
		}
		// The operator role writes Available together with the version it deployed; after
		// Provider.Upgrade the CR still reports the previous simulator's Available at first.
		for _, cond := range kv.Status.Conditions {
			if cond.Type == kubevirtv1.KubeVirtConditionAvailable {
				last = fmt.Sprintf("KubeVirt Available=%s %s: %s; observedKubeVirtVersion %q (want %s)", cond.Status, cond.Reason, cond.Message,
					kv.Status.ObservedKubeVirtVersion, profile.KubeVirtVersion)
				return cond.Status == corev1.ConditionTrue && kv.Status.ObservedKubeVirtVersion == profile.KubeVirtVersion, nil
			}
		}
		last = "KubeVirt CR has no Available condition yet"
		return false, nil
	})
	if err != nil {
		_ = s.stop()
		return nil, fmt.Errorf("waiting for the simulator to deploy virt-template: %w; last seen: %s (log %s)", err, last, logPath)
	}
	s.timings = []Timing{{Phase: "simulator roles", Duration: rolesReady}, {Phase: "simulator and virt-template", Duration: time.Since(begin)}}
	return s, nil
}

func createKubeVirt(ctx context.Context, c ctrlclient.Client, gates []string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: KubeVirtNamespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", KubeVirtNamespace, err)
	}
	kv := &kubevirtv1.KubeVirt{ObjectMeta: metav1.ObjectMeta{Namespace: KubeVirtNamespace, Name: KubeVirtName}}
	kv.Spec.Configuration.DeveloperConfiguration = &kubevirtv1.DeveloperConfiguration{FeatureGates: gates}
	if err := c.Create(ctx, kv); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the KubeVirt CR: %w", err)
	}
	return nil
}

// simStopGrace bounds the simulator's orderly shutdown (it stops the components it runs).
const simStopGrace = 20 * time.Second

func (s *simulator) stop() error {
	if s == nil {
		return nil
	}
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(simStopGrace):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
		return errors.New("vmt-sim did not stop within " + simStopGrace.String() + " and was killed")
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
