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
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/reference/faults"
)

// faultsTimeout bounds compiling the suite and the lane binaries and the three lane runs
// (~15-30 s each on two cores with warm caches).
const faultsTimeout = 5 * time.Minute

// caught is a spec a fault must make fail, and what its failure must say.
type caught struct {
	spec    string   // the It's text (a table entry's description)
	message []string // substrings of the failure message
}

// faultCase is one deliberate bug of the reference implementation and the smallest
// label-filtered set of specs that must catch it.
type faultCase struct {
	fault  faults.Fault
	filter string
	// log is the component whose log must show the fault injected (the one the fault lives in).
	log  string
	want []caught
}

var faultCases = []faultCase{
	{
		fault: faults.IgnoreParameterDefaults, filter: "VMT-003 && !requires-virtctl", log: "virt-template-apiserver",
		want: []caught{{
			spec:    "substitutes every parameter kind, types ${{X}} values and creates nothing",
			message: []string{"static value", `"tier": ""`},
		}},
	},
	{
		fault: faults.CreateWithoutPermission, filter: "VMT-004 && !requires-virtctl", log: "virt-template-apiserver",
		want: []caught{{
			spec:    "refuses /create with 403 to a user without the create permission",
			message: []string{"VMs after a refused /create", "vm-denied"},
		}},
	},
	{
		fault: faults.KeepSourceMAC, filter: "VMT-002", log: "virt-template-controller",
		want: []caught{
			{spec: "in the VM's namespace", message: []string{"interface default", "02:00:00:aa:bb:cc", "to be empty"}},
			{spec: "in another namespace the user may write to", message: []string{"interface default", "02:00:00:aa:bb:cc", "to be empty"}},
		},
	},
}

// faultsTestedElsewhere are the faults whose self-test needs more than a failed spec with a
// message, and the test that has it.
var faultsTestedElsewhere = map[faults.Fault]string{
	faults.NeverAnswer: "TestNoWaitWithoutABound (bounds_test.go): the specs must fail within the request interval",
}

// TestReferenceFaultsAreCaught is issue 6's "done when": breaking the reference
// implementation on purpose (VMT_REFERENCE_FAULTS, package reference/faults) makes the
// specs that cover the broken behaviour fail, each time, and the run names them. Each fault
// gets its own hermetic lane (the components read the variable once, at start) running only
// the scenario that should catch it. Specs of the same run that do not touch the fault must
// still pass: the lane itself works and the failure is the fault's. That the same specs pass
// without any fault is what the tier1 lane shows on every run.
func TestReferenceFaultsAreCaught(t *testing.T) {
	if err := local.CheckAssets(local.DefaultAssetsDir()); err != nil {
		t.Fatal(err)
	}
	if len(faultCases)+len(faultsTestedElsewhere) != len(faults.Known) {
		t.Fatalf("%d fault cases and %d tested elsewhere for %d known faults %q: every fault needs a case", len(faultCases), len(faultsTestedElsewhere), len(faults.Known), faults.Known)
	}
	for _, f := range faults.Known {
		if _, ok := faultsTestedElsewhere[f]; !ok && !slices.ContainsFunc(faultCases, func(fc faultCase) bool { return fc.fault == f }) {
			t.Fatalf("fault %s has no case", f)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), faultsTimeout)
	defer cancel()
	root := moduleRoot(t, ctx)
	dir := t.TempDir()

	// The lane binaries are built from this checkout: a stale $VMT_BIN_DIR would not know
	// the faults (and would make every case fail for the wrong reason).
	bin := laneBinaries(t, ctx, root, dir)
	suite := compileSuite(t, ctx, root, dir)

	for _, fc := range faultCases {
		t.Run(string(fc.fault), func(t *testing.T) {
			runDir := filepath.Join(dir, string(fc.fault))
			report := filepath.Join(runDir, "report.json")
			artifacts := filepath.Join(runDir, "artifacts")
			run := exec.CommandContext(ctx, suite,
				"-ginkgo.label-filter="+fc.filter,
				"-ginkgo.json-report="+report,
				"-ginkgo.no-color",
				"-vmt.provider=local",
				"-vmt.artifacts="+artifacts)
			run.Dir = filepath.Join(root, "tests")
			run.Env = append(os.Environ(),
				faults.EnvVar+"="+string(fc.fault),
				local.BinDirEnv+"="+bin,
				"VMT_TEMPLATE_APISERVER_ARGS=", "VMT_ARTIFACTS=", "VMT_COMPONENT_LOGS=", "VMT_CAPABILITIES=")
			began := time.Now()
			out, err := run.CombinedOutput()
			t.Logf("%s=%s, --label-filter=%q: ran in %v", faults.EnvVar, fc.fault, fc.filter, time.Since(began).Round(time.Second))
			if err == nil {
				t.Fatalf("the suite passed with %s injected: no spec of %q catches it\n%s", fc.fault, fc.filter, tail(out))
			}

			specs := ranSpecs(t, report, out)
			failed, passed := map[string]types.SpecReport{}, 0
			for _, s := range specs {
				switch {
				case s.State.Is(types.SpecStatePassed):
					passed++
				case s.State.Is(types.SpecStateFailureStates):
					failed[s.LeafNodeText] = s
				}
			}
			for _, w := range fc.want {
				s, ok := failed[w.spec]
				if !ok {
					t.Errorf("spec %q did not fail with %s injected", w.spec, fc.fault)
					continue
				}
				if s.LeafNodeType != types.NodeTypeIt || s.Failure.FailureNodeType != types.NodeTypeIt {
					t.Errorf("spec %q failed in its %s, not in its body: %s", w.spec, s.Failure.FailureNodeType, s.Failure.Message)
				}
				for _, m := range w.message {
					if !strings.Contains(s.Failure.Message, m) {
						t.Errorf("the failure of %q lacks %q:\n%s", w.spec, m, s.Failure.Message)
					}
				}
				if !strings.Contains(string(out), "[FAIL] ") || !strings.Contains(string(out), w.spec) {
					t.Errorf("the run's output does not name the failed spec %q:\n%s", w.spec, tail(out))
				}
				t.Logf("caught by %q (%s):\n%s", s.FullText(), s.Failure.Location, firstLines(s.Failure.Message, 6))
			}
			if passed == 0 {
				t.Errorf("no spec of %q passed with %s injected: the lane itself may be broken\n%s", fc.filter, fc.fault, tail(out))
			}
			for text, s := range failed {
				if !wanted(fc.want, text) {
					t.Logf("also failed: %q: %s", s.FullText(), firstLines(s.Failure.Message, 2))
				}
			}

			// The fault reached the component through the simulator: its log says so.
			logPath := filepath.Join(artifacts, "provider", fc.log+".log")
			raw, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatalf("no component log: %v", err)
			}
			if banner := "FAULTS INJECTED ON PURPOSE (" + faults.EnvVar + "=" + string(fc.fault) + ")"; !strings.Contains(string(raw), banner) {
				t.Errorf("%s does not show %q", logPath, banner)
			}
		})
	}
}

// ranSpecs are the Its the run did not skip, from its JSON report; a failure outside any It
// (the suite's set-up) fails the test.
func ranSpecs(t *testing.T, path string, out []byte) []types.SpecReport {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no report (%v):\n%s", err, tail(out))
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		t.Fatal(err)
	}
	var its []types.SpecReport
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != types.NodeTypeIt {
				if s.State.Is(types.SpecStateFailureStates) {
					t.Fatalf("%s failed, so no spec could show the fault: %s\n%s", s.LeafNodeType, s.Failure.Message, tail(out))
				}
				continue
			}
			if s.State != types.SpecStateSkipped {
				its = append(its, s)
			}
		}
	}
	if len(its) == 0 {
		t.Fatalf("no spec ran:\n%s", tail(out))
	}
	return its
}

func wanted(want []caught, spec string) bool {
	for _, w := range want {
		if w.spec == spec {
			return true
		}
	}
	return false
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n")
}
