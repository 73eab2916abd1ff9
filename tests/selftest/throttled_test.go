package selftest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
)

// selfTestTimeout bounds compiling the suite, bringing the hermetic lane up, the spec and the
// teardown.
const selfTestTimeout = 4 * time.Minute

// minRate is the threshold the throttled run is judged against.
const minRate = 100

// TestScaleSpecFailsOnAThrottledServer is issue 8's "done when": with the reference server's
// own client throttled to client-go's default (5 QPS), the sequential /process spec of the
// scale lane fails, and its message names the measured rate and the threshold.
func TestScaleSpecFailsOnAThrottledServer(t *testing.T) {
	if err := local.CheckAssets(local.DefaultAssetsDir()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), selfTestTimeout)
	defer cancel()
	dir := t.TempDir()
	suite := compileSuite(t, ctx, moduleRoot(t, ctx), dir)

	report := filepath.Join(dir, "report.json")
	run := exec.CommandContext(ctx, suite,
		"-ginkgo.label-filter=VMT-024",
		"-ginkgo.focus=serves /process .* one client calling after another",
		"-ginkgo.json-report="+report,
		"-vmt.provider=local",
		"-vmt.artifacts="+filepath.Join(dir, "artifacts"))
	run.Env = append(os.Environ(),
		"VMT_TEMPLATE_APISERVER_ARGS=--client-qps=5 --client-burst=5",
		"VMT_SCALE_PROCESS_CALLS=30",
		"VMT_SCALE_MIN_PROCESS_RPS="+strconv.Itoa(minRate),
		"VMT_SCALE_MAX_P99=10s", // the rate alone must make it fail
		"VMT_SCALE_MAX_ERRORS=0",
	)
	began := time.Now()
	out, err := run.CombinedOutput()
	t.Logf("suite ran in %v", time.Since(began).Round(time.Second))
	if err == nil {
		t.Fatalf("the scale spec passed against a server throttled to 5 QPS:\n%s", tail(out))
	}

	spec := onlySpec(t, report, out)
	if !spec.State.Is(types.SpecStateFailed) {
		t.Fatalf("spec %q is %s, want failed:\n%s", spec.FullText(), spec.State, tail(out))
	}
	msg := spec.Failure.Message
	m := regexp.MustCompile(`sequential /process: ([0-9.]+) calls/s is below the minimum of ` + strconv.Itoa(minRate) + ` calls/s`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("the failure does not name the measured rate and the threshold:\n%s", msg)
	}
	if rate, _ := strconv.ParseFloat(m[1], 64); rate > 10 {
		t.Errorf("measured %v calls/s through a server limited to 5 QPS", rate)
	}
	for _, want := range []string{"measured:", "GET floor:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure lacks %q:\n%s", want, msg)
		}
	}
	entries := map[string]bool{}
	for _, e := range spec.ReportEntries {
		entries[e.Name] = true
	}
	if !entries["scale:floor"] || !entries["scale:process"] {
		t.Errorf("report entries %v, want the floor and the process figures also when the spec fails", entries)
	}
	t.Logf("the spec failed as it should:\n%s", msg)
}

// onlySpec is the one It the run selected.
func onlySpec(t *testing.T, path string, out []byte) types.SpecReport {
	t.Helper()
	its := ranSpecs(t, path, out)
	if len(its) != 1 {
		t.Fatalf("%d specs ran, want the sequential /process spec only:\n%s", len(its), tail(out))
	}
	return its[0]
}

func tail(out []byte) string {
	const keep = 6000
	if len(out) > keep {
		out = out[len(out)-keep:]
	}
	return string(out)
}
