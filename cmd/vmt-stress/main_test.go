package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeRepo is a module with one test that fails in the first round only, and a bin/vmt-e2e
// that copies a report with a failed spec into its artifacts and exits 1.
func fakeRepo(t *testing.T, lane string) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.25\n",
		"p/p_test.go": `package p

import (
	"os"
	"testing"
)

func TestFlaky(t *testing.T) {
	path := os.Getenv("STRESS_TEST_COUNTER")
	raw, _ := os.ReadFile(path)
	raw = append(raw, 'x')
	_ = os.WriteFile(path, raw, 0o644)
	t.Log("round", len(raw))
	if len(raw) == 1 {
		t.Errorf("want a second round, got the first")
	}
}

func TestFine(t *testing.T) {}
`,
		"bin/vmt-e2e": lane,
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const failingLane = `#!/bin/sh
while [ $# -gt 0 ]; do case $1 in --artifacts) art=$2; shift;; esac; shift; done
mkdir -p "$art" && cp "$FAKE_REPORT" "$art/report.json"
echo "== summary: 4 ran"
echo "vmt-e2e: lane hermetic failed: exit status 1" >&2
exit 1
`

func testHarness(t *testing.T, root string, o options) (*harness, *strings.Builder) {
	t.Helper()
	out := &strings.Builder{}
	report := filepath.Join(t.TempDir(), "report.json")
	writeReport(t, report, sampleReport(root))
	env := append(os.Environ(), "STRESS_TEST_COUNTER="+filepath.Join(t.TempDir(), "counter"), "FAKE_REPORT="+report)
	return &harness{o: o, root: root, module: "example.com/m", out: filepath.Join(root, "_output", "stress"),
		env: env, pkgs: []string{"./..."}, w: out}, out
}

func TestHarnessRounds(t *testing.T) {
	root := fakeRepo(t, failingLane)
	o := options{rounds: 2, run: runBoth, lanes: []string{"hermetic"}, profiles: []string{"kubevirt-1.9"}, procs: 1, roundTimeout: 5 * time.Minute,
		timeout: 10 * time.Minute, grace: 5 * time.Second, skipPrereqs: true}
	h, out := testHarness(t, root, o)
	code := h.main(context.Background())
	got := out.String()
	t.Logf("output:\n%s", got)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"== vmt-stress: 2 rounds of unit + lane hermetic@kubevirt-1.9\n",
		"== round 1/2 (_output/stress/round-1)\n",
		"   unit             FAIL",
		"      FAIL ./p TestFlaky\n           p_test.go:15: want a second round, got the first\n",
		"== stress summary: 2 of 2 rounds run, 2 failed\n",
		"   unit: ./p TestFlaky\n      failed in 1/2 rounds (round 1); first: p_test.go:15: want a second round, got the first\n",
		"   lane hermetic@kubevirt-1.9: VMT-004 process as a viewer is forbidden\n      failed in 2/2 rounds (rounds 1, 2); first: tests/process.go:88: Expected\n",
		"this summary in _output/stress/summary.txt\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, f := range []string{"round-1/unit.json", "round-1/unit.log", "round-2/lane-hermetic-kubevirt-1.9.log",
		"round-2/lane-hermetic-kubevirt-1.9/report.json", "summary.txt"} {
		if _, err := os.Stat(filepath.Join(h.out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	if raw, _ := os.ReadFile(filepath.Join(h.out, "round-1", "unit.log")); !strings.Contains(string(raw), "$ go test -json -count=1 -timeout 30m example.com/m/p\n") ||
		!strings.Contains(string(raw), "--- FAIL: TestFlaky") {
		t.Errorf("unit.log:\n%s", raw)
	}
}

func TestHarnessRunUnitOnlyPasses(t *testing.T) {
	root := fakeRepo(t, failingLane)
	o := options{rounds: 1, run: runUnit, procs: 1, roundTimeout: 5 * time.Minute, timeout: 10 * time.Minute,
		grace: 5 * time.Second, skipPrereqs: true, testRun: "TestFine"}
	h, out := testHarness(t, root, o)
	if code := h.main(context.Background()); code != 0 {
		t.Errorf("exit %d, want 0:\n%s", code, out)
	}
	if !strings.Contains(out.String(), "== no test or spec failed\n") || strings.Contains(out.String(), "lane") {
		t.Errorf("output:\n%s", out)
	}
}

// An interrupt stops the running step and the run: exit 130, the round marked.
func TestHarnessInterrupt(t *testing.T) {
	root := fakeRepo(t, "#!/bin/sh\nexec sleep 60\n")
	o := options{rounds: 3, run: runLanes, lanes: []string{"hermetic"}, profiles: []string{"kubevirt-1.9"}, procs: 1, roundTimeout: 5 * time.Minute,
		timeout: 10 * time.Minute, grace: 5 * time.Second, skipPrereqs: true, hogsPerCore: 1}
	h, out := testHarness(t, root, o)
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(time.Second, func() { cancel(errInterrupted) })
	start := time.Now()
	code := h.main(ctx)
	if code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %v", took)
	}
	for _, want := range []string{"hogs started", "hogs stopped", "(interrupted)", "1 of 3 rounds run, 1 failed", "== stopped: interrupted"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// A round that runs out of time is stopped and the next round still runs.
func TestHarnessRoundTimeout(t *testing.T) {
	root := fakeRepo(t, "#!/bin/sh\nexec sleep 60\n")
	o := options{rounds: 2, run: runLanes, lanes: []string{"hermetic"}, profiles: []string{"kubevirt-1.9"}, procs: 1, roundTimeout: time.Second,
		timeout: time.Minute, grace: 5 * time.Second, skipPrereqs: true}
	h, out := testHarness(t, root, o)
	if code := h.main(context.Background()); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"2 of 2 rounds run, 2 failed", "(round timeout 1s)",
		"   lane hermetic@kubevirt-1.9: (stopped)\n      failed in 2/2 rounds (rounds 1, 2); first: round timeout 1s while the lane ran"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
