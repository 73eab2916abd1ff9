package selftest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// Must match tests/selftest_leak.go.
const (
	leakFocus     = "Cleanup self-test"
	leakFinalizer = "vmt-conformance.io/selftest-leak"
	leakConfigMap = "selftest-leak"
)

// TestALeakFailsTheRun is issue 12's "the suite proves its own cleanup", proven to fail
// where it must: on the local lane, a spec leaves a namespace that cannot go (a ConfigMap in
// it holds a finalizer nobody removes, tests/selftest_leak.go) next to the deliberately
// failing spec, whose namespace --vmt.keep-on-failure keeps. The run must fail, name the
// namespace and the ConfigMap with that finalizer as leftovers in its summary and in
// run.json, and list the kept namespace as kept, not as a leftover. vmt-e2e tears the local
// cluster down afterwards, which removes the leak.
func TestALeakFailsTheRun(t *testing.T) {
	if err := local.CheckAssets(local.DefaultAssetsDir()); err != nil {
		t.Fatalf("the self-test runs the local lane: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	root := moduleRoot(t, ctx)
	vmtE2E, ginkgo := runnerBinaries(t, ctx, root)
	out := t.TempDir()

	output, err := runE2E(t, ctx, root, vmtE2E, ginkgo, "hermetic", out, leakFocus+"|"+selfTestFocus,
		"VMT_INTERVAL_CLEANUP=10s", "VMT_KEEP_ON_FAILURE=true", "VMT_SKIP_CLEANUP_CHECK=",
		"VMT_DUMP_MAX_SPECS=0")
	if exit, isExit := err.(*exec.ExitError); !isExit || exit.ExitCode() != 1 {
		t.Fatalf("vmt-e2e should exit 1 (the run leaked), got %v; output:\n%s", err, output)
	}

	var summary []string
	for _, l := range strings.Split(output, "\n") {
		if strings.HasPrefix(l, "== cleanup") || strings.HasPrefix(l, "   LEFTOVER ") || strings.HasPrefix(l, "   kept ") {
			summary = append(summary, l)
		}
	}
	t.Logf("summary:\n%s", strings.Join(summary, "\n"))
	for _, want := range []string{
		"== cleanup NOT verified: 2 objects of run ",
		"   LEFTOVER Namespace vmt-",
		"NamespaceFinalizersRemaining: Some content in the namespace has finalizers remaining: " + leakFinalizer,
		"/" + leakConfigMap + " finalizers [" + leakFinalizer + "]: keeps namespace vmt-",
		": --vmt.keep-on-failure: its spec failed",
		"vmt-e2e: lane hermetic: cleanup NOT verified",
	} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	raw, err := os.ReadFile(filepath.Join(out, tiers.RunInfoFile))
	if err != nil {
		t.Fatal(err)
	}
	var info tiers.RunInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	c := info.Cleanup
	if c == nil || c.Verified || c.Skipped || c.Error != "" {
		t.Fatalf("run.json cleanup: %+v", c)
	}
	var leakNS string
	var cm *tiers.CleanupObject
	for i, l := range c.Leftovers {
		switch l.Kind {
		case "Namespace":
			leakNS = l.Name
		case "ConfigMap":
			cm = &c.Leftovers[i]
		}
	}
	if cm == nil || cm.Name != leakConfigMap || cm.Namespace != leakNS || !slices.Contains(cm.Finalizers, leakFinalizer) {
		t.Errorf("run.json has no leftover ConfigMap %s in namespace %q with finalizer %s: %+v", leakConfigMap, leakNS, leakFinalizer, c.Leftovers)
	}
	if len(c.Kept) != 1 || c.Kept[0].Kind != "Namespace" || c.Kept[0].Name == leakNS {
		t.Errorf("want the failed spec's namespace kept (and only listed there): kept %+v, leftovers %+v", c.Kept, c.Leftovers)
	}

	// The failure is the teardown's: the leaking spec itself passed.
	a, err := tiers.GenerateReports(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.SuiteFailures) != 1 || !strings.Contains(a.SuiteFailures[0], "cleanup NOT verified") {
		t.Errorf("want one suite failure naming the cleanup, got %q", a.SuiteFailures)
	}
	if s, _ := a.Scenario("VMT-001"); s.Counts.Passed != 1 {
		t.Errorf("the leaking spec should pass on its own: %+v", s.Counts)
	}
}
