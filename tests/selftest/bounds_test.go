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
	"github.com/vmt-conformance/vmt-conformance/reference/faults"
)

// boundsTimeout bounds compiling the suite (with the vmt_selftest tag) and the lane binaries
// and two hermetic lane runs of a few specs each (~30 s each on an idle two-core machine).
const boundsTimeout = 8 * time.Minute

const (
	// requestInterval is VMT_INTERVAL_REQUEST of the never-answer run: what each call to
	// the silent server may wait.
	requestInterval = 3 * time.Second
	// defaultTimeout is VMT_INTERVAL_MEDIUM of the unbounded-wait run: Eventually's default.
	defaultTimeout = 2 * time.Second
	// boundMargin is what a spec may take beyond its interval: its set-up before the wait
	// (a namespace, a template) and its cleanup, on a loaded two-core machine.
	boundMargin = 10 * time.Second
	// suiteBound stops a run whose waits are not bounded (the regression under test) with
	// Ginkgo's report instead of this test's deadline. It includes bringing the lane up,
	// which takes minutes on a machine loaded with other builds.
	suiteBound = "3m"
)

// Must match tests/selftest_failing.go.
const (
	unboundedWaitFocus   = "Unbounded wait self-test"
	unboundedWaitFailure = "something that never happens (a wait with a context and no timeout)"
)

// neverAnswered are the VMT-003 specs (without virtctl) that call /process of a template
// that exists, and so must fail once it never answers. The two others of the filter pass:
// one asks for a template that does not exist (the fault still answers that, as readiness
// probes need), the template webhook refuses the other's template before any call.
var neverAnswered = []string{
	"substitutes every parameter kind, types ${{X}} values and creates nothing",
	"generates a new value per call unless the caller passes one",
	"answers 409 Conflict for a parameter the template does not declare",
	"answers 422 Invalid when a required parameter has no value",
	"answers 422 Invalid when a typed value does not fit its field",
	"processes a template with an unused parameter and only warns about it",
}

// TestNoWaitWithoutABound is issue 12's "done when" for item 5: a spec whose implementation
// under test never answers fails within its named interval. The template API server runs
// with the never-answer fault (/process and /create accept the request and never answer)
// and VMT_INTERVAL_REQUEST=3s: every VMT-003 spec that calls /process fails after the
// request interval, not at the suite timeout, and says it timed out and on what. A second
// run proves that a wait with a context and no timeout (which tests/waitcheck refuses in the
// suite proper) still ends after Eventually's default timeout, wait.Medium
// (EnforceDefaultTimeoutsWhenUsingContexts in TestConformance).
func TestNoWaitWithoutABound(t *testing.T) {
	if err := local.CheckAssets(local.DefaultAssetsDir()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), boundsTimeout)
	defer cancel()
	root := moduleRoot(t, ctx)
	dir := t.TempDir()

	// Lane binaries from this checkout: a stale $VMT_BIN_DIR would not know the fault.
	bin := laneBinaries(t, ctx, root, dir)
	suite := compileSuite(t, ctx, root, dir, selfTestTag)

	// run runs the suite on the hermetic lane and returns the Its it ran, its output and
	// its artifacts directory.
	run := func(t *testing.T, name string, env []string, args ...string) ([]types.SpecReport, []byte, string) {
		t.Helper()
		runDir := filepath.Join(dir, name)
		report := filepath.Join(runDir, "report.json")
		artifacts := filepath.Join(runDir, "artifacts")
		cmd := exec.CommandContext(ctx, suite, append(args,
			"-ginkgo.json-report="+report,
			"-ginkgo.no-color",
			"-ginkgo.timeout="+suiteBound,
			"-vmt.provider=local",
			"-vmt.artifacts="+artifacts)...)
		cmd.Dir = filepath.Join(root, "tests")
		cmd.Env = append(os.Environ(), append([]string{
			local.BinDirEnv + "=" + bin,
			faults.EnvVar + "=", "VMT_TIMEOUT_SCALE=", "VMT_DUMP_MAX_SPECS=0",
			"VMT_TEMPLATE_APISERVER_ARGS=", "VMT_ARTIFACTS=", "VMT_COMPONENT_LOGS=", "VMT_CAPABILITIES=",
		}, env...)...)
		began := time.Now()
		out, err := cmd.CombinedOutput()
		t.Logf("%s, %q: ran in %v", strings.Join(env, " "), args, time.Since(began).Round(time.Second))
		if err == nil {
			t.Fatalf("the suite passed:\n%s", tail(out))
		}
		return ranSpecs(t, report, out), out, artifacts
	}

	t.Run("a server that never answers fails the specs within the request interval", func(t *testing.T) {
		specs, out, artifacts := run(t, "never-answer",
			[]string{faults.EnvVar + "=" + string(faults.NeverAnswer), "VMT_INTERVAL_REQUEST=" + requestInterval.String()},
			"-ginkgo.label-filter=VMT-003 && !requires-virtctl", "-ginkgo.skip=self-test")
		failed := map[string]types.SpecReport{}
		for _, s := range specs {
			if s.State.Is(types.SpecStateFailureStates) {
				failed[s.LeafNodeText] = s
			}
		}
		for _, name := range neverAnswered {
			s, ok := failed[name]
			if !ok {
				t.Errorf("spec %q did not fail against a server that never answers", name)
				continue
			}
			delete(failed, name)
			msg := s.Failure.Message
			for _, want := range []string{"timed out: no answer to POST /apis/subresources.template.kubevirt.io/", "/process within " + requestInterval.String()} {
				if !strings.Contains(msg, want) {
					t.Errorf("the failure of %q does not say what timed out (%q):\n%s", name, want, msg)
				}
			}
			checkBound(t, s, requestInterval)
		}
		for name, s := range failed {
			t.Errorf("spec %q failed for another reason: %s", name, firstLines(s.Failure.Message, 4))
		}

		logPath := filepath.Join(artifacts, "provider", "virt-template-apiserver.log")
		raw, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatalf("no component log: %v\n%s", err, tail(out))
		}
		for _, want := range []string{
			"FAULTS INJECTED ON PURPOSE (" + faults.EnvVar + "=" + string(faults.NeverAnswer) + ")",
			"fault never-answer: holding the request unanswered until it ends",
		} {
			if !strings.Contains(string(raw), want) {
				t.Errorf("%s does not show %q", logPath, want)
			}
		}
	})

	t.Run("a wait with a context and no timeout ends after the default timeout", func(t *testing.T) {
		specs, out, _ := run(t, "unbounded-wait", []string{"VMT_INTERVAL_MEDIUM=" + defaultTimeout.String()},
			"-ginkgo.focus="+unboundedWaitFocus)
		if len(specs) != 1 {
			t.Fatalf("%d specs ran, want the unbounded wait only:\n%s", len(specs), tail(out))
		}
		s := specs[0]
		if !s.State.Is(types.SpecStateFailed) {
			t.Fatalf("spec %q is %s, want failed by its wait's timeout:\n%s", s.FullText(), s.State, tail(out))
		}
		for _, want := range []string{"Timed out after", unboundedWaitFailure} {
			if !strings.Contains(s.Failure.Message, want) {
				t.Errorf("the failure lacks %q:\n%s", want, s.Failure.Message)
			}
		}
		checkBound(t, s, defaultTimeout)
	})
}

// checkBound fails t unless spec s failed after waiting its interval (so the wait did run
// and was cut, not refused for another reason) and within interval+boundMargin of its start,
// and ended (its report's RunTime, cleanup included) within that bound too.
func checkBound(t *testing.T, s types.SpecReport, interval time.Duration) {
	t.Helper()
	failedAt := s.Failure.TimelineLocation.Time.Sub(s.StartTime)
	bound := interval + boundMargin
	if failedAt < interval || failedAt > bound {
		t.Errorf("spec %q failed %v after it started, want between %v and %v", s.LeafNodeText, failedAt.Round(time.Millisecond), interval, bound)
	}
	if s.RunTime > bound {
		t.Errorf("spec %q ran %v, over %v", s.LeafNodeText, s.RunTime.Round(time.Millisecond), bound)
	}
	t.Logf("%q failed after %v (run time %v, bound %v): %s", s.LeafNodeText, failedAt.Round(time.Millisecond),
		s.RunTime.Round(time.Millisecond), bound, firstLines(s.Failure.Message, 1))
}
