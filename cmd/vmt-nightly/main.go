// Command vmt-nightly is the nightly job against the cluster in KUBECONFIG: it checks and
// prints the preconditions, writes them to preflight.json, runs the lane (default nightly)
// in parallel through vmt-e2e --provider existing, and leaves everything (report.json,
// run.json, preflight.json, junit.xml, the traceability matrix and the GA-readiness
// report, failure dumps) in one artifacts directory. ci/nightly.sh runs it.
//
//	KUBECONFIG=~/.kube/config vmt-nightly --artifacts /tmp/nightly-$(date +%F)
//
// Exit status: 0 the lane passed; 1 it failed (or a required precondition is missing);
// 2 bad usage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vmt-conformance/vmt-conformance/framework/virtctl"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

func main() {
	code, err := run(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmt-nightly:", err)
	}
	os.Exit(code)
}

func run(args []string) (int, error) {
	fs := flag.NewFlagSet("vmt-nightly", flag.ContinueOnError)
	lane := fs.String("lane", envOr("LANE", "nightly"), "lane to run (env LANE)")
	procs := fs.Int("procs", 4, "parallel ginkgo processes")
	artifacts := fs.String("artifacts", envOr("VMT_ARTIFACTS", filepath.Join("_output", "nightly-"+time.Now().UTC().Format("20060102-150405"))), "artifacts directory (env VMT_ARTIFACTS)")
	runner := fs.String("vmt-e2e", envOr("VMT_E2E", ""), "vmt-e2e binary (default: go run ./cmd/vmt-e2e)")
	ginkgo := fs.String("ginkgo", envOr("GINKGO", ""), "ginkgo CLI binary, passed to vmt-e2e")
	preflightOnly := fs.Bool("preflight", false, "check and print the preconditions only")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if _, err := tiers.Lane(*lane); err != nil {
		return 2, err
	}
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		return 2, fmt.Errorf("KUBECONFIG is not set: the nightly job runs against an existing cluster")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(*artifacts, 0o755); err != nil {
		return 2, err
	}

	fmt.Printf("== vmt-nightly: lane %s against %s, artifacts in %s\n", *lane, kubeconfig, *artifacts)
	checks, err := preflight(ctx, kubeconfig)
	if err != nil {
		return 1, err
	}
	fmt.Println("== preconditions")
	failedRequired := false
	for _, c := range checks {
		mark := "ok     "
		if !c.OK {
			mark = "MISSING"
			if c.Required {
				failedRequired = true
				mark = "FAILED "
			}
		}
		fmt.Printf("   %s %-42s %s\n", mark, c.Name, c.Detail)
	}
	raw, _ := json.MarshalIndent(checks, "", "  ")
	if err := os.WriteFile(filepath.Join(*artifacts, tiers.PreflightFile), append(raw, '\n'), 0o644); err != nil {
		return 1, err
	}
	if failedRequired {
		return 1, fmt.Errorf("a required precondition is missing (see above); not running the lane")
	}
	fmt.Println("   (missing optional ones are not failures: vmt-e2e filters out the specs that need them and the reports say so)")
	if *preflightOnly {
		return 0, nil
	}

	e2eArgs := []string{"--lane", *lane, "--provider", "existing", "--procs", fmt.Sprint(*procs), "--artifacts", *artifacts}
	if *ginkgo != "" {
		e2eArgs = append(e2eArgs, "--ginkgo", *ginkgo)
	}
	e2eArgs = append(e2eArgs, fs.Args()...)
	var cmd *exec.Cmd
	if *runner != "" {
		cmd = exec.CommandContext(ctx, *runner, e2eArgs...)
	} else {
		cmd = exec.CommandContext(ctx, "go", append([]string{"run", "./cmd/vmt-e2e"}, e2eArgs...)...)
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 2 * time.Minute
	if err := cmd.Run(); err != nil {
		return 1, fmt.Errorf("lane %s: %w (artifacts in %s)", *lane, err, *artifacts)
	}
	fmt.Printf("== vmt-nightly: lane %s passed; artifacts in %s\n", *lane, *artifacts)
	return 0, nil
}

// preflight checks what the nightly lane needs. Required: the cluster answers and serves the
// template API. The rest explains what the runner will filter out.
func preflight(ctx context.Context, kubeconfig string) ([]tiers.PreflightCheck, error) {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(kubeconfig)}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", kubeconfig, err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 15 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	var checks []tiers.PreflightCheck
	add := func(name string, ok, required bool, detail string) {
		checks = append(checks, tiers.PreflightCheck{Name: name, OK: ok, Required: required, Detail: detail})
	}

	v, err := dc.ServerVersion()
	if err != nil {
		add("cluster reachable", false, true, err.Error())
		return checks, nil
	}
	add("cluster reachable", true, true, "Kubernetes "+v.GitVersion)

	for _, group := range []string{"template.kubevirt.io", "subresources.template.kubevirt.io"} {
		versions := servedVersions(dc, group)
		add(group+" served", len(versions) > 0, true, orDefault(strings.Join(versions, ", "), "not served"))
	}

	add(gateCheck(ctx, dyn))

	classes, err := dyn.Resource(schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}).List(ctx, metav1.ListOptions{})
	switch {
	case err != nil:
		add("VolumeSnapshotClass present", false, false, "listing: "+err.Error())
	default:
		var names []string
		for _, c := range classes.Items {
			names = append(names, c.GetName())
		}
		add("VolumeSnapshotClass present", len(names) > 0, false, orDefault(strings.Join(names, ", "), "none: captures (requires-snapshot-storage) will be filtered out"))
	}

	golden := os.Getenv("VMT_GOLDEN_IMAGE")
	if golden == "" {
		add("golden-image DataSource (VMT_GOLDEN_IMAGE)", true, false, "not set: the suite provisions its own")
	} else {
		ns, name, _ := strings.Cut(golden, "/")
		_, err := dyn.Resource(schema.GroupVersionResource{Group: "cdi.kubevirt.io", Version: "v1beta1", Resource: "datasources"}).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		detail := "DataSource " + golden + " exists"
		if err != nil {
			detail = "DataSource " + golden + ": " + err.Error()
		}
		add("golden-image DataSource (VMT_GOLDEN_IMAGE)", err == nil, false, detail)
	}
	if win := os.Getenv("VMT_WINDOWS_IMAGE"); win != "" {
		ns, name, _ := strings.Cut(win, "/")
		_, err := dyn.Resource(schema.GroupVersionResource{Group: "cdi.kubevirt.io", Version: "v1beta1", Resource: "datasources"}).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		add("Windows DataSource (VMT_WINDOWS_IMAGE)", err == nil, false, win)
	}

	bin, ok, why, err := virtctl.Resolve(ctx, os.Getenv("VMT_VIRTCTL"))
	if err != nil {
		why = err.Error()
	}
	detail := why
	if ok {
		detail = bin + ": " + why
	}
	add("virtctl with `template` (VMT_VIRTCTL or PATH)", ok, false, detail)
	return checks, nil
}

func servedVersions(dc discovery.DiscoveryInterface, group string) []string {
	groups, err := dc.ServerGroups()
	if err != nil {
		return nil
	}
	for _, g := range groups.Groups {
		if g.Name == group {
			var out []string
			for _, v := range g.Versions {
				out = append(out, v.Version)
			}
			slices.Sort(out)
			return out
		}
	}
	return nil
}

// gateCheck reports the KubeVirt Template feature gate: from the HyperConverged CR's
// featureGates.template when HCO manages KubeVirt, else from the KubeVirt CR's
// developerConfiguration.featureGates.
func gateCheck(ctx context.Context, dyn dynamic.Interface) (string, bool, bool, string) {
	const name = "KubeVirt Template gate enabled"
	if hcos, err := dyn.Resource(schema.GroupVersionResource{Group: "hco.kubevirt.io", Version: "v1beta1", Resource: "hyperconvergeds"}).List(ctx, metav1.ListOptions{}); err == nil && len(hcos.Items) > 0 {
		on, found, _ := unstructured.NestedBool(hcos.Items[0].Object, "spec", "featureGates", "template")
		return name, on, false, fmt.Sprintf("HyperConverged %s/%s spec.featureGates.template=%t (set: %t)", hcos.Items[0].GetNamespace(), hcos.Items[0].GetName(), on, found)
	}
	kvs, err := dyn.Resource(schema.GroupVersionResource{Group: "kubevirt.io", Version: "v1", Resource: "kubevirts"}).List(ctx, metav1.ListOptions{})
	if err != nil || len(kvs.Items) == 0 {
		return name, false, false, "no KubeVirt CR: the gate cannot be read (requires-template-operator specs are filtered out)"
	}
	kv := kvs.Items[0]
	gates, _, _ := unstructured.NestedStringSlice(kv.Object, "spec", "configuration", "developerConfiguration", "featureGates")
	disabled, _, _ := unstructured.NestedStringSlice(kv.Object, "spec", "configuration", "developerConfiguration", "disabledFeatureGates")
	on := slices.Contains(gates, "Template") && !slices.Contains(disabled, "Template")
	return name, on, false, fmt.Sprintf("KubeVirt %s/%s featureGates: %s", kv.GetNamespace(), kv.GetName(), orDefault(strings.Join(gates, ","), "(none)"))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
