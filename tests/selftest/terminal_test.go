package selftest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/faults"
)

// terminalTimeout bounds compiling the suite and the lane binaries and one hermetic lane run
// of a few specs (~30 s on an idle two-core machine).
const terminalTimeout = 8 * time.Minute

// fastFailure is how long after its start a spec may fail once a wrong terminal state shows:
// its set-up (namespace, golden image, template, a VM) and the simulator's few reconciles,
// on a loaded two-core machine. Far below the intervals the waits are bounded by (wait.Long
// 5m for a DataVolume, wait.VMStart 8m for a VM), which the run keeps at their defaults.
const fastFailure = 30 * time.Second

// terminalSuiteBound stops the run with Ginkgo's report if the waits do not stop at the
// terminal state (the regression under test): below wait.Long, so such a run cannot pass.
const terminalSuiteBound = "4m"

// terminalCase is a spec whose wait must stop at the fault's terminal state, and what its
// failure must say: that a wrong terminal state ended the wait, what was seen, what was
// awaited.
type terminalCase struct {
	spec    string
	message []string
}

// failedVMDataVolumes are the specs that start a VM from dataVolumeTemplates: with
// fail-vm-data-volumes its DataVolume goes Failed at once. Those that wait for the
// DataVolume (VMT-001, VMT-011: awaitDataVolumeSucceeded) stop on its phase; those that wait
// for the VM (VMT-002's source VM: awaitVMReady) on the VM's DataVolumeError.
var failedVMDataVolumes = []terminalCase{
	{spec: "creates a running VM through process and create", message: []string{
		"Told to stop trying", "wrong terminal state: DataVolume ", "/vm-golden-root is phase Failed", "Awaited: Expected DataVolume ", "to be in phase Succeeded"}},
	{spec: "creates a running VM in B from a template in A", message: []string{
		"Told to stop trying", "wrong terminal state: DataVolume ", "/vm-cross-root is phase Failed", "Awaited: "}},
	{spec: "in the VM's namespace", message: []string{
		"Told to stop trying", "wrong terminal state: VM ", "printableStatus DataVolumeError: its DataVolume source-vm-data is in phase Failed",
		"fault fail-vm-data-volumes", "Awaited: Expected VM ", "to be ready"}},
	{spec: "in another namespace the user may write to", message: []string{
		"Told to stop trying", "printableStatus DataVolumeError: its DataVolume source-vm-data is in phase Failed"}},
}

// TestWrongTerminalStateEndsTheWait is issue 14's "done when": a wait for an outcome stops
// as soon as the opposite terminal state shows, instead of waiting out its interval. The
// simulator runs with fail-vm-data-volumes (every DataVolume a VM's dataVolumeTemplates
// create goes Failed, so the VM reports DataVolumeError and never starts) and the intervals
// at their defaults: the specs that start such a VM must fail within fastFailure of their
// start (not after wait.Long or wait.VMStart), each saying which terminal state it saw on
// which object and what it awaited; the other specs of the run pass.
func TestWrongTerminalStateEndsTheWait(t *testing.T) {
	if err := local.CheckAssets(local.DefaultAssetsDir()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), terminalTimeout)
	defer cancel()
	root := moduleRoot(t, ctx)
	dir := t.TempDir()
	bin := laneBinaries(t, ctx, root, dir) // a stale $VMT_BIN_DIR would not know the fault
	suite := compileSuite(t, ctx, root, dir)

	report := filepath.Join(dir, "report.json")
	artifacts := filepath.Join(dir, "artifacts")
	filter := "(VMT-001 || VMT-002 || VMT-011) && !requires-virtctl && !requires-guest"
	cmd := exec.CommandContext(ctx, suite,
		"-ginkgo.label-filter="+filter,
		"-ginkgo.json-report="+report,
		"-ginkgo.no-color",
		"-ginkgo.timeout="+terminalSuiteBound,
		"-vmt.provider=local",
		"-vmt.artifacts="+artifacts)
	cmd.Dir = filepath.Join(root, "tests")
	cmd.Env = append(os.Environ(),
		faults.EnvVar+"="+string(faults.FailVMDataVolumes),
		local.BinDirEnv+"="+bin,
		"VMT_INTERVAL_LONG=", "VMT_INTERVAL_VM_START=", "VMT_TIMEOUT_SCALE=", "VMT_DUMP_MAX_SPECS=0",
		"VMT_TEMPLATE_APISERVER_ARGS=", "VMT_ARTIFACTS=", "VMT_COMPONENT_LOGS=", "VMT_CAPABILITIES=")
	began := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s=%s, --label-filter=%q: ran in %v", faults.EnvVar, faults.FailVMDataVolumes, filter, time.Since(began).Round(time.Second))
	if err == nil {
		t.Fatalf("the suite passed with %s injected:\n%s", faults.FailVMDataVolumes, tail(out))
	}

	failed, passed := map[string]types.SpecReport{}, 0
	for _, s := range ranSpecs(t, report, out) {
		switch {
		case s.State.Is(types.SpecStatePassed):
			passed++
		case s.State.Is(types.SpecStateFailureStates):
			failed[s.LeafNodeText] = s
		}
	}
	for _, c := range failedVMDataVolumes {
		s, ok := failed[c.spec]
		if !ok {
			t.Errorf("spec %q did not fail with %s injected", c.spec, faults.FailVMDataVolumes)
			continue
		}
		delete(failed, c.spec)
		if !s.State.Is(types.SpecStateFailed) {
			t.Errorf("spec %q is %s, want failed by its wait (a timeout or interrupt means the wait did not stop): %s", c.spec, s.State, firstLines(s.Failure.Message, 4))
		}
		for _, m := range c.message {
			if !strings.Contains(s.Failure.Message, m) {
				t.Errorf("the failure of %q lacks %q:\n%s", c.spec, m, s.Failure.Message)
			}
		}
		failedAt := s.Failure.TimelineLocation.Time.Sub(s.StartTime)
		if failedAt > fastFailure {
			t.Errorf("spec %q failed %v after it started, want within %v (its wait is bounded by %v or %v)", c.spec,
				failedAt.Round(time.Millisecond), fastFailure, wait.Long, wait.VMStart)
		}
		t.Logf("%q failed %v after it started (bound of its wait: %v for a DataVolume, %v for a VM):\n%s", c.spec,
			failedAt.Round(time.Millisecond), wait.Long, wait.VMStart, firstLines(s.Failure.Message, 4))
	}
	// Other specs of the filter that start such a VM must stop at a terminal state too.
	for name, s := range failed {
		failedAt := s.Failure.TimelineLocation.Time.Sub(s.StartTime)
		if !strings.Contains(s.Failure.Message, "wrong terminal state:") || failedAt > fastFailure {
			t.Errorf("spec %q failed %v after it started, not (only) at a wrong terminal state: %s", name, failedAt.Round(time.Millisecond), firstLines(s.Failure.Message, 4))
			continue
		}
		t.Logf("also stopped at a terminal state, %v after it started: %q", failedAt.Round(time.Millisecond), name)
	}
	if passed == 0 {
		t.Errorf("no spec of %q passed: the lane itself may be broken\n%s", filter, tail(out))
	}

	logPath := filepath.Join(artifacts, "provider", "vmt-sim.log")
	if raw, err := os.ReadFile(logPath); err != nil {
		t.Errorf("no simulator log: %v", err)
	} else if banner := "FAULTS INJECTED ON PURPOSE (" + faults.EnvVar + "=" + string(faults.FailVMDataVolumes) + ")"; !strings.Contains(string(raw), banner) {
		t.Errorf("%s does not show %q", logPath, banner)
	}
}
