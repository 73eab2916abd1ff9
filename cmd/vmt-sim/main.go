// Command vmt-sim plays KubeVirt and CDI on API objects for the hermetic lane: one
// controller-runtime manager running the selected roles (operator, virt-controller, virt-api,
// cdi). It writes --ready-file once every role serves, and on SIGTERM/SIGINT removes the
// APIService and webhook configurations that point at its ports.
//
// --kubevirt-version (default v1.9.0) is the KubeVirt release played: the KubeVirt CR
// reports it, the Template gate has its maturity (Alpha up to v1.8, Beta from v1.9) and the
// operator role deploys the virt-template release it bundles (framework/release.ForKubeVirt:
// v1.8.4 → v0.1.8, v1.9.0 → v0.2.2), the components emulating that release.
//
// VMT_TEMPLATE_APISERVER_ARGS (space-separated) adds arguments to the vmt-template-apiserver
// the operator role starts, e.g. "--client-qps=5 --client-burst=10" for a throttled server.
//
// VMT_REFERENCE_FAULTS (package reference/faults) is checked at start (an unknown fault: exit
// 2) and handed to both template components the operator role starts, for the suite's
// self-tests; the simulator logs loudly when it is set.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/faults"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/cdi"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/kit"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/operator"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/virtapi"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/virtcontroller"
)

// APIServerArgsEnv holds extra arguments for vmt-template-apiserver (operator role).
const APIServerArgsEnv = "VMT_TEMPLATE_APISERVER_ARGS"

// Roles in start order; the default runs all.
var allRoles = []string{"operator", "virt-controller", "virt-api", "cdi"}

type flags struct {
	kubeconfig, dir, binDir, namespace, roles, readyFile string
	kubevirtVersion                                      string
	faults                                               faults.Set // from the environment
}

func main() {
	var f flags
	fs := flag.NewFlagSet("vmt-sim", flag.ContinueOnError)
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (required)")
	fs.StringVar(&f.dir, "dir", "", "run directory for the simulator's files")
	fs.StringVar(&f.binDir, "bin-dir", "", "directory of vmt-template-apiserver and vmt-template-controller (operator role)")
	fs.StringVar(&f.namespace, "namespace", "kubevirt", "KubeVirt install namespace")
	fs.StringVar(&f.roles, "roles", strings.Join(allRoles, ","), "comma-separated roles: "+strings.Join(allRoles, ","))
	fs.StringVar(&f.readyFile, "ready-file", "", "file written once every role serves")
	fs.StringVar(&f.kubevirtVersion, "kubevirt-version", operator.DefaultKubeVirtVersion,
		"KubeVirt release to play (v1.8.0 or later): reported on the KubeVirt CR, decides the Template gate's maturity and the virt-template release deployed")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	roles, err := parseRoles(f.roles)
	if err == nil && f.kubeconfig == "" {
		err = fmt.Errorf("--kubeconfig is required")
	}
	if err == nil {
		_, err = release.ForKubeVirt(f.kubevirtVersion)
	}
	if err == nil {
		f.faults, err = faults.FromEnv(os.Getenv)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmt-sim:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, f, roles); err != nil {
		fmt.Fprintln(os.Stderr, "vmt-sim:", err)
		os.Exit(1)
	}
}

func parseRoles(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, r := range strings.Split(s, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		known := false
		for _, k := range allRoles {
			known = known || k == r
		}
		if !known {
			return nil, fmt.Errorf("unknown role %q (known: %s)", r, strings.Join(allRoles, ", "))
		}
		out[r] = true
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--roles names no role (known: %s)", strings.Join(allRoles, ", "))
	}
	return out, nil
}

func run(ctx context.Context, f flags, roles map[string]bool) error {
	began := time.Now()
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	if banner := f.faults.Banner("vmt-sim"); banner != "" {
		fmt.Fprintln(os.Stderr, banner)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", f.kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", f.kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 kit.NewScheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	var pending sync.WaitGroup
	ready := func() func() {
		pending.Add(1)
		var once sync.Once
		return func() { once.Do(pending.Done) }
	}
	if roles["operator"] {
		if err := operator.Setup(mgr, operator.Options{Dir: f.dir, BinDir: f.binDir, Namespace: f.namespace, KubeVirtVersion: f.kubevirtVersion,
			APIServerArgs: strings.Fields(os.Getenv(APIServerArgsEnv)), Faults: f.faults}); err != nil {
			return fmt.Errorf("operator role: %w", err)
		}
	}
	if roles["virt-controller"] {
		if err := virtcontroller.Setup(mgr, virtcontroller.Options{FaultSkipCloneAuthorization: f.faults.Has(faults.SkipCloneAuthorization)}); err != nil {
			return fmt.Errorf("virt-controller role: %w", err)
		}
	}
	if roles["virt-api"] {
		if err := virtapi.Setup(mgr, virtapi.Options{Namespace: f.namespace, Ready: ready()}); err != nil {
			return fmt.Errorf("virt-api role: %w", err)
		}
	}
	if roles["cdi"] {
		if err := cdi.Setup(mgr, cdi.Options{Ready: ready(), FaultSkipCloneAuthorization: f.faults.Has(faults.SkipCloneAuthorization),
			FaultFailVMDataVolumes: f.faults.Has(faults.FailVMDataVolumes)}); err != nil {
			return fmt.Errorf("cdi role: %w", err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	allReady := make(chan struct{})
	go func() {
		if mgr.GetCache().WaitForCacheSync(ctx) {
			pending.Wait()
			close(allReady)
		}
	}()
	select {
	case err := <-done:
		return err
	case <-allReady:
	}
	fmt.Fprintf(os.Stderr, "vmt-sim: roles %s ready after %v, playing KubeVirt %s\n", f.roles, time.Since(began).Round(time.Millisecond), f.kubevirtVersion)
	if f.readyFile != "" {
		if err := os.WriteFile(f.readyFile, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", f.readyFile, err)
		}
	}
	return <-done
}
