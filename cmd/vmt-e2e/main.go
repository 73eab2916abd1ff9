// Command vmt-e2e runs a lane of the suite: it brings the provider up once, turns the
// capabilities the cluster lacks into label filters (and prints them), runs the specs with
// ginkgo in parallel and randomised, writes JUnit and JSON reports, prints a per-scenario
// summary and tears the provider down, also on SIGINT/SIGTERM.
//
//	vmt-e2e --lane tier1 --provider local
//	vmt-e2e --lane nightly --provider existing --procs 4 --artifacts /tmp/out
//	vmt-e2e --lane tier1 -- --focus=process      (extra ginkgo flags after --)
//	vmt-e2e --lane ga-readiness --list           (the specs the lane selects; no cluster)
//
// The suite is compiled once; a dry run of that binary gives the plan, which --list prints
// and the progress lines count down (progress.go). After the run it writes run.json and
// generates the reports (tiers.GenerateReports: JUnit with traceability properties, the
// traceability matrix, the GA-readiness report) and prints the GA verdict. The exit status
// is non-zero when a spec failed, the lane selected nothing, or, on the ga-readiness lane,
// the verdict is NOT READY.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster/kind"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster/providers"
	"github.com/vmt-conformance/vmt-conformance/framework/config"
	"github.com/vmt-conformance/vmt-conformance/framework/sut"
	"github.com/vmt-conformance/vmt-conformance/framework/virtctl"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

type options struct {
	lane      string
	provider  string
	profile   string // local provider
	procs     int
	artifacts string
	ginkgo    string
	suite     string
	// suiteBinary is a precompiled suite; empty compiles suite.
	suiteBinary string
	list        bool
	// skipCleanupCheck passes -vmt.skip-cleanup-check to the suite.
	skipCleanupCheck bool
	extra            []string
}

func main() {
	// --sonobuoy: run as a sonobuoy plugin (sonobuoy.go), then hand the results over.
	args, resultsDir, sonobuoy, err := sonobuoyMode(os.Args[1:], os.Getenv)
	code := 2
	switch {
	case err != nil:
	case sonobuoy:
		code, err = runForSonobuoy(args, resultsDir, run)
	default:
		code, err = run(args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmt-e2e:", err)
		if code == 0 {
			code = 2
		}
	}
	os.Exit(code)
}

func run(args []string) (int, error) {
	fs := flag.NewFlagSet("vmt-e2e", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.lane, "lane", envOr("LANE", "tier1"), "lane to run: "+strings.Join(tiers.LaneNames(), ", ")+" (env LANE)")
	fs.StringVar(&o.provider, "provider", envOr("PROVIDER", "local"), "cluster provider: "+strings.Join(config.Providers, ", ")+" (env PROVIDER)")
	fs.StringVar(&o.profile, "profile", envOr("VMT_PROFILE", local.DefaultProfile), "KubeVirt generation the local provider plays: "+strings.Join(local.ProfileNames(), ", ")+" (env VMT_PROFILE)")
	fs.IntVar(&o.procs, "procs", 2, "parallel ginkgo processes")
	fs.StringVar(&o.artifacts, "artifacts", envOr("VMT_ARTIFACTS", "_output/artifacts"), "directory for reports (env VMT_ARTIFACTS)")
	fs.StringVar(&o.ginkgo, "ginkgo", envOr("GINKGO", ""), "ginkgo CLI binary (default: go run the pinned module)")
	fs.StringVar(&o.suite, "suite", "./tests", "suite package")
	fs.StringVar(&o.suiteBinary, "suite-binary", os.Getenv("VMT_SUITE_BINARY"),
		"precompiled suite (ginkgo build ./tests, or go test -c; the image's /usr/local/bin/tests.test): run it instead of compiling --suite, so no Go toolchain is needed (env VMT_SUITE_BINARY)")
	lanes := fs.Bool("lanes", false, "print every lane with its label expression and exit")
	fs.Bool("sonobuoy", false, "run as a sonobuoy plugin (ci/sonobuoy/plugin.yaml): artifacts in $SONOBUOY_RESULTS_DIR/artifacts (default /tmp/sonobuoy/results), then a tarball named in the done file")
	skipDefault, err := envBool("VMT_SKIP_CLEANUP_CHECK")
	if err != nil {
		return 2, err
	}
	fs.BoolVar(&o.skipCleanupCheck, "skip-cleanup-check", skipDefault,
		"do not make the suite wait at the end for everything the run created to be gone (env VMT_SKIP_CLEANUP_CHECK)")
	fs.BoolVar(&o.list, "list", false, "print the specs the lane selects, with scenario ids and required capabilities, and exit; needs no cluster")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	o.extra = fs.Args()
	if *lanes {
		printLanes(os.Stdout)
		return 0, nil
	}
	expr, err := tiers.Lane(o.lane)
	if err != nil {
		return 2, err
	}
	if !slices.Contains(config.Providers, o.provider) {
		return 2, fmt.Errorf("unknown provider %q (known: %s)", o.provider, strings.Join(config.Providers, ", "))
	}
	if _, err := local.LookupProfile(o.profile); err != nil {
		return 2, fmt.Errorf("--profile: %w", err)
	}
	if o.procs < 1 {
		return 2, fmt.Errorf("--procs must be at least 1, got %d", o.procs)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runStart := time.Now()

	build, err := os.MkdirTemp("", "vmt-e2e-")
	if err != nil {
		return 2, err
	}
	defer os.RemoveAll(build)
	suiteBin, err := suiteBinary(ctx, o, build)
	if err != nil {
		return 2, err
	}
	if o.list {
		missing, err := declaredMissing(os.Getenv("VMT_CAPABILITIES"))
		if err != nil {
			return 2, fmt.Errorf("VMT_CAPABILITIES: %w", err)
		}
		filter, err := tiers.LabelFilter(o.lane, missing)
		if err != nil {
			return 2, err
		}
		specs, total, err := dryRun(ctx, suiteBin, filter)
		if err != nil {
			return 1, err
		}
		printList(os.Stdout, o.lane, expr, filter, specs, total)
		if len(specs) == 0 {
			return 1, fmt.Errorf("lane %s selects no spec", o.lane)
		}
		return 0, nil
	}

	cfg := &config.Config{Provider: o.provider, Kubeconfig: os.Getenv("KUBECONFIG"), InstallNamespace: envOr("VMT_INSTALL_NAMESPACE", "kubevirt"),
		LocalAssets: os.Getenv("VMT_LOCAL_ASSETS"), WindowsImage: os.Getenv("VMT_WINDOWS_IMAGE"), Virtctl: os.Getenv("VMT_VIRTCTL"),
		Kind:  config.Kind{Cluster: os.Getenv("VMT_KIND_CLUSTER"), Keep: os.Getenv("VMT_KIND_KEEP") == "true"},
		Local: config.Local{Profile: o.profile}}
	// For the local provider, Validate also sets VMT_VIRTCTL_KUBEVIRT_VERSION to the profile's
	// KubeVirt version (unless set), which the suite processes inherit: the reference CLI
	// then answers like that KubeVirt's virtctl.
	cfg.ExpectRelease = os.Getenv("VMT_EXPECT_RELEASE") // checked by Validate; the suite reads the same variable
	if err := cfg.Validate(); err != nil {
		return 2, err
	}
	// Bad declarations are configuration errors: refuse them before starting anything.
	if err := cluster.NewCapabilities().Override(os.Getenv("VMT_CAPABILITIES")); err != nil {
		return 2, fmt.Errorf("VMT_CAPABILITIES: %w", err)
	}
	p, err := providers.New(cfg, prefixed(os.Stdout, "  "))
	if err != nil {
		return 2, err
	}
	fmt.Printf("== vmt-e2e: lane %s (%s), provider %s\n", o.lane, expr, p.Name())
	start := time.Now()
	if err := p.Up(ctx); err != nil {
		return 1, fmt.Errorf("bringing up the %s provider: %w", p.Name(), err)
	}
	defer func() {
		if lp, ok := p.(*local.Provider); ok && lp.ControlPlane() != nil {
			_ = p.CollectArtifacts(context.WithoutCancel(ctx), filepath.Join(o.artifacts, "provider"))
		}
		if kp, ok := p.(*kind.Provider); ok && kp.Created() { // kind export logs, before the cluster goes
			if err := p.CollectArtifacts(context.WithoutCancel(ctx), filepath.Join(o.artifacts, "provider")); err != nil {
				fmt.Fprintln(os.Stderr, "vmt-e2e: exporting the kind cluster's logs:", err)
			}
		}
		if err := p.Down(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintln(os.Stderr, "vmt-e2e: tearing down:", err)
		}
	}()
	fmt.Printf("   cluster up in %.1fs, kubeconfig %s\n", time.Since(start).Seconds(), p.KubeconfigPath())

	caps, err := p.Capabilities(ctx)
	if err != nil {
		return 1, err
	}
	bin, ok, why, err := virtctl.Resolve(ctx, cfg.Virtctl)
	if err != nil {
		return 2, err
	}
	caps.Set(cluster.Virtctl, ok, why)
	// The system under test decides the v1beta1 capability on every provider; the suite's
	// first process detects it again (same cluster) for the specs.
	detected, err := sut.Detect(ctx, p.RESTConfig(), sut.Options{InstallNamespace: cfg.InstallNamespace, ExpectRelease: cfg.ExpectRelease, Profile: sut.ProfileOf(p)})
	if err != nil {
		return 1, err
	}
	detected.SetCapability(caps)
	fmt.Println("== system under test")
	for _, l := range detected.Lines() {
		fmt.Printf("   %s\n", l)
	}
	if err := caps.Override(os.Getenv("VMT_CAPABILITIES")); err != nil {
		return 2, err
	}
	var missing []string
	fmt.Println("== capabilities")
	for _, c := range cluster.All {
		mark := "offered "
		if !caps.Has(c) {
			mark = "FILTERED"
			missing = append(missing, c.Label())
		}
		fmt.Printf("   %s %-27s %s\n", mark, c.Label(), caps.Reason(c))
	}
	filter, err := tiers.LabelFilter(o.lane, missing)
	if err != nil {
		return 2, err
	}
	fmt.Printf("== label filter: %s\n", filter)

	if err := os.MkdirAll(o.artifacts, 0o755); err != nil {
		return 2, err
	}
	artifacts, err := filepath.Abs(o.artifacts)
	if err != nil {
		return 2, err
	}
	plan, _, err := dryRun(ctx, suiteBin, filter)
	if err != nil {
		return 1, err
	}
	fmt.Printf("== plan: %d specs in %s\n", len(plan), planScenarios(plan))
	// -v makes ginkgo print every spec as it ends, which the progress lines count; the
	// JUnit is written by the reports below, with the traceability properties.
	ginkgoArgs := []string{
		"run", "--procs", fmt.Sprint(o.procs), "--randomize-all", "--fail-on-empty", "-v",
		"--label-filter", filter, "--silence-skips", "--poll-progress-after=2m", "--poll-progress-interval=1m",
		"--output-dir", artifacts, "--json-report", tiers.ReportJSONFile,
	}
	ginkgoArgs = append(ginkgoArgs, o.extra...)
	ginkgoArgs = append(ginkgoArgs, suiteBin, "--", "-vmt.provider=existing", "-vmt.artifacts="+artifacts,
		fmt.Sprintf("-vmt.skip-cleanup-check=%t", o.skipCleanupCheck))
	cmd := ginkgoCommand(ctx, o.ginkgo, ginkgoArgs)
	declared := declare(caps)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+p.KubeconfigPath(), "VMT_CAPABILITIES="+declared, "VMT_ARTIFACTS="+artifacts)
	if ok {
		cmd.Env = append(cmd.Env, "VMT_VIRTCTL="+bin)
	}
	if detected.Profile != "" {
		cmd.Env = append(cmd.Env, sut.ProfileEnv+"="+detected.Profile)
	}
	// The suite's failure dumps tail the template components' logs: pods on a real cluster,
	// files of the provider otherwise (the local lane).
	if cl, isLogger := p.(cluster.ComponentLogger); isLogger && os.Getenv("VMT_COMPONENT_LOGS") == "" {
		cmd.Env = append(cmd.Env, "VMT_COMPONENT_LOGS="+strings.Join(cl.ComponentLogs(), string(os.PathListSeparator)))
	}
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 2, err
	}
	fmt.Printf("== running: ginkgo %s\n", strings.Join(ginkgoArgs, " "))
	ginkgoStart := time.Now()
	_ = os.Remove(filepath.Join(artifacts, tiers.ReportJSONFile)) // never report on a previous run
	_ = os.Remove(filepath.Join(artifacts, tiers.CleanupFile))
	runErr := cmd.Start()
	if runErr == nil {
		if err := newProgress(os.Stdout, plan).stream(stdout); err != nil {
			fmt.Fprintln(os.Stderr, "vmt-e2e: reading ginkgo's output:", err)
		}
		runErr = cmd.Wait()
	}
	info := tiers.RunInfo{
		Lane: o.lane, LaneExpr: expr, LabelFilter: filter, Provider: p.Name(), Procs: o.procs,
		Capabilities: capabilityStates(caps), Versions: detectVersions(ctx, p.RESTConfig()),
		Start: ginkgoStart, End: time.Now(), SUT: &detected.SystemUnderTest,
	}
	// What ran, not the component images' tags (the local lane's are "devel" whatever it plays).
	info.Versions["virt-template"] = detected.VirtTemplate
	if detected.KubeVirt != tiers.Unknown {
		info.Versions["kubevirt"] = detected.KubeVirt
	}
	cleaned, err := tiers.ReadCleanup(artifacts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmt-e2e:", err)
	}
	info.Cleanup = cleaned
	if err := writeRunInfo(artifacts, info); err != nil {
		fmt.Fprintln(os.Stderr, "vmt-e2e: writing run.json:", err)
	}

	reportPath := filepath.Join(artifacts, "report.json")
	summary, sumErr := summarise(reportPath)
	if sumErr != nil {
		fmt.Fprintf(os.Stderr, "vmt-e2e: no summary: %v\n", sumErr)
	} else {
		fmt.Print(summary.String(o.lane, p.Name()))
	}
	printSUT(os.Stdout, detected, caps)
	printCleanup(os.Stdout, info.Cleanup)
	analysis, repErr := tiers.GenerateReports(artifacts)
	if repErr != nil {
		fmt.Fprintln(os.Stderr, "vmt-e2e: no reports:", repErr)
	} else {
		printScale(os.Stdout, analysis.Scale)
		printVerdict(os.Stdout, analysis, artifacts)
	}
	fmt.Printf("== finished in %s\n", time.Since(runStart).Round(time.Second))
	switch {
	case ctx.Err() != nil:
		return 130, errors.New("interrupted")
	case info.Cleanup.Failed():
		return 1, fmt.Errorf("lane %s: %s", o.lane, info.Cleanup.Line())
	case runErr != nil:
		return 1, fmt.Errorf("lane %s failed: %v", o.lane, runErr)
	case sumErr == nil && summary.ran == 0:
		return 1, fmt.Errorf("lane %s selected no spec on this provider", o.lane)
	case repErr != nil:
		return 1, fmt.Errorf("generating the reports: %w", repErr)
	case o.lane == "ga-readiness" && !analysis.Verdict.Ready:
		return 1, errors.New("GA readiness: NOT READY (see the blockers above)")
	}
	return 0, nil
}

// declare writes every capability explicitly so the suite's own detection agrees with the runner.
func declare(caps cluster.Capabilities) string {
	parts := make([]string, 0, len(cluster.All))
	for _, c := range cluster.All {
		sign := "-"
		if caps.Has(c) {
			sign = "+"
		}
		parts = append(parts, sign+string(c))
	}
	return strings.Join(parts, ",")
}

// ginkgoInterruptGrace is how long ginkgo gets to run its clean-up after an interrupt.
const ginkgoInterruptGrace = time.Minute

func ginkgoCommand(ctx context.Context, bin string, args []string) *exec.Cmd {
	var cmd *exec.Cmd
	if bin != "" {
		cmd = exec.CommandContext(ctx, bin, args...)
	} else {
		cmd = exec.CommandContext(ctx, "go", append([]string{"run", "github.com/onsi/ginkgo/v2/ginkgo"}, args...)...)
	}
	// On interrupt, pass SIGINT on so ginkgo interrupts its processes and runs their clean-up
	// (a kill would orphan the suite processes); kill only if it does not finish in time.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = ginkgoInterruptGrace + cleanupInterval()
	return cmd
}

// cleanupInterval is the suite's cleanup wait (wait.Cleanup as the environment sets it):
// after an interrupt, ginkgo gets that long on top of its grace to prove the cleanup.
var cleanupInterval = sync.OnceValue(func() time.Duration {
	wait.Register(flag.NewFlagSet("intervals", flag.ContinueOnError), func(error) {})
	return wait.Cleanup
})

// printSUT prints, with the summary, what the run ran against and the capabilities it
// filtered out with why (requires-v1beta1: "virt-template v0.1.8 serves only v1alpha1").
func printSUT(w io.Writer, s sut.SUT, caps cluster.Capabilities) {
	fmt.Fprintf(w, "== system under test: KubeVirt %s, virt-template %s; API %s; specs expect %s\n",
		s.KubeVirt, s.VirtTemplateText(), s.APIs.SpeaksText(), s.ExpectedText())
	for _, c := range caps.Missing() {
		fmt.Fprintf(w, "   filtered %s: %s\n", c.Label(), caps.Reason(c))
	}
}

// printCleanup prints the suite's cleanup verdict ("== cleanup verified: …") and, indented,
// its leftovers, kept objects and what it did with earlier runs' objects.
func printCleanup(w io.Writer, c *tiers.CleanupReport) {
	for i, l := range c.Lines() {
		if i == 0 {
			fmt.Fprintf(w, "== %s\n", l)
			continue
		}
		fmt.Fprintf(w, "   %s\n", l)
	}
}

type scenarioResult struct{ passed, failed, skipped int }

type summary struct {
	ran, passed, failed, skipped, filtered int
	byScenario                             map[string]*scenarioResult
	failures                               []string
}

func summarise(path string) (*summary, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	s := &summary{byScenario: map[string]*scenarioResult{}}
	for _, r := range reports {
		for _, sr := range r.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt {
				continue
			}
			id := "(none)"
			for _, l := range sr.Labels() {
				if strings.HasPrefix(l, "VMT-") {
					id = l
				}
			}
			res := s.byScenario[id]
			if res == nil {
				res = &scenarioResult{}
				s.byScenario[id] = res
			}
			switch {
			case sr.State == types.SpecStatePassed:
				s.ran++
				s.passed++
				res.passed++
			case sr.State.Is(types.SpecStateFailureStates):
				s.ran++
				s.failed++
				res.failed++
				s.failures = append(s.failures, fmt.Sprintf("%s %s", id, sr.FullText()))
			case sr.State == types.SpecStateSkipped && sr.Failure.Message == "":
				s.filtered++
				res.skipped++
			default:
				s.skipped++
				res.skipped++
			}
		}
	}
	return s, nil
}

func (s *summary) String(lane, provider string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "== summary: lane %s on %s: %d ran, %d passed, %d failed, %d filtered out\n", lane, provider, s.ran, s.passed, s.failed, s.filtered)
	ids := make([]string, 0, len(s.byScenario))
	for id := range s.byScenario {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintf(&b, "   %-8s %6s %6s %9s\n", "scenario", "passed", "failed", "not run")
	for _, id := range ids {
		r := s.byScenario[id]
		fmt.Fprintf(&b, "   %-8s %6d %6d %9d\n", id, r.passed, r.failed, r.skipped)
	}
	for _, f := range s.failures {
		fmt.Fprintf(&b, "   FAILED %s\n", f)
	}
	fmt.Fprintf(&b, "%d passed, %d failed\n", s.passed, s.failed)
	return b.String()
}

// printVerdict prints the GA verdict with its reasons and where every file is.
func printVerdict(w io.Writer, a *tiers.Analysis, dir string) {
	fmt.Fprintf(w, "== GA readiness (lane %s): %s\n", a.Run.Lane, a.Verdict)
	for _, b := range a.Verdict.Blockers {
		fmt.Fprintf(w, "   BLOCKER %s\n", b)
	}
	for _, wn := range a.Verdict.Warnings {
		fmt.Fprintf(w, "   warning %s\n", wn)
	}
	fmt.Fprintf(w, "== artifacts in %s:\n", dir)
	for _, f := range append([]string{tiers.ReportJSONFile, tiers.RunInfoFile}, tiers.ReportFiles()...) {
		fmt.Fprintf(w, "   %s\n", filepath.Join(dir, f))
	}
}

// printLanes prints the lanes of tiers/lanes.go: each works as a plain ginkgo filter,
// ginkgo -p --randomize-all --label-filter='<expression>' ./tests, to which the runner adds
// && !requires-X for every capability the provider lacks.
func printLanes(w io.Writer) {
	fmt.Fprintf(w, "%-13s %-62s %s\n", "lane", "label expression (ginkgo --label-filter)", "purpose")
	for _, l := range tiers.Lanes() {
		fmt.Fprintf(w, "%-13s %-62s %s\n", l.Name, l.Expr, l.Purpose)
	}
	fmt.Fprintln(w, "plain ginkgo: ginkgo -p --randomize-all --label-filter='<expression> && !requires-X ...' ./tests -- -vmt.provider=existing")
	fmt.Fprintln(w, "(add && !requires-X for each capability the cluster lacks; vmt-e2e does it for you)")
}

// planScenarios is "N scenarios (VMT-001 ×3, ...)".
func planScenarios(plan []plannedSpec) string {
	count := map[string]int{}
	var ids []string
	for _, s := range plan {
		id := orDefault(s.Scenario, "(none)")
		if count[id] == 0 {
			ids = append(ids, id)
		}
		count[id]++
	}
	sort.Strings(ids)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%s×%d", id, count[id])
	}
	return fmt.Sprintf("%d scenarios (%s)", len(ids), strings.Join(parts, " "))
}

// envBool reads a boolean environment variable; unset or empty is false.
func envBool(key string) (bool, error) {
	v := os.Getenv(key)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q is not a boolean (use true or false)", key, v)
	}
	return b, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	lines := strings.SplitAfter(string(b), "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		if _, err := io.WriteString(p.w, p.prefix+l); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

func prefixed(w io.Writer, prefix string) io.Writer { return prefixWriter{w, prefix} }
