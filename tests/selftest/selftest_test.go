// Package selftest tests the suite itself: it runs the lane runner on the local lane with a
// spec that fails on purpose (tests/selftest_failing.go, compiled only with -tags
// vmt_selftest) and checks what a failure must leave behind: a bounded artifact dump that
// holds the spec's objects and the components' logs, a report line pointing at it, and a
// NOT READY GA verdict.
package selftest

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/vmt-conformance/vmt-conformance/framework/artifacts"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// Must match tests/selftest_failing.go.
const (
	selfTestTag     = "vmt_selftest"
	selfTestFocus   = "Suite self-test"
	selfTestFailure = "deliberate failure of the suite's self-test"
	selfTestVMT     = "selftest-template"
)

// Caps small enough that the run must cut something (the template Deployments alone are
// ~9 KiB): the dump's bounds are under test.
const (
	maxFileBytes = 4 << 10
	maxSpecBytes = 16 << 10
)

// runTimeout bounds the whole lane run (compile, cluster up, one spec, reports); it takes
// ~40-70 s on two cores with warm caches.
const runTimeout = 4 * time.Minute

func TestFailingSpecLeavesABoundedDumpAndANotReadyVerdict(t *testing.T) {
	if err := local.CheckAssets(local.DefaultAssetsDir()); err != nil {
		t.Fatalf("the self-test runs the local lane: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	root := moduleRoot(t, ctx)
	vmtE2E, ginkgo := runnerBinaries(t, ctx, root)
	out := t.TempDir()

	output, err := runE2E(t, ctx, root, vmtE2E, ginkgo, "ga-readiness", out, selfTestFocus,
		"VMT_DUMP_MAX_FILE_SIZE=4Ki", "VMT_DUMP_MAX_SPEC_SIZE=16Ki", "VMT_DUMP_MAX_SPECS=1")
	exit, isExit := err.(*exec.ExitError)
	if !isExit || exit.ExitCode() != 1 {
		t.Fatalf("vmt-e2e should exit 1 (a spec failed, NOT READY), got %v; output:\n%s", err, output)
	}
	for _, want := range []string{"GA readiness (lane ga-readiness): NOT READY", "FAILED VMT-003 Suite self-test"} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}

	t.Run("the verdict blames the failed P0 scenario", func(t *testing.T) {
		a, err := tiers.GenerateReports(out)
		if err != nil {
			t.Fatal(err)
		}
		if a.Verdict.Ready {
			t.Fatal("verdict READY after a P0 spec failed")
		}
		found := false
		for _, b := range a.Verdict.Blockers {
			found = found || (strings.Contains(b, "VMT-003") && strings.Contains(strings.ToLower(b), "fail"))
		}
		if !found {
			t.Errorf("no blocker names VMT-003 as failed: %q", a.Verdict.Blockers)
		}
	})

	dumps := dumpDirs(t, filepath.Join(out, artifacts.FailuresDir))
	if len(dumps) != 1 || !strings.HasPrefix(filepath.Base(dumps[0]), "VMT-003_suite-self-test-fails-on-purpose") {
		t.Fatalf("want one dump of the self-test spec, got %q\n%s", dumps, output)
	}
	dump := dumps[0]

	t.Run("the dump holds the failure, the spec's objects, cluster state and component logs", func(t *testing.T) {
		if s := read(t, dump, "spec.txt"); !strings.Contains(s, selfTestFailure) {
			t.Errorf("spec.txt lacks the failure message:\n%s", s)
		}
		tpls, _ := filepath.Glob(filepath.Join(dump, "namespaces", "*", "virtualmachinetemplates.yaml"))
		if len(tpls) != 1 || !strings.Contains(readPath(t, tpls[0]), "name: "+selfTestVMT) {
			t.Errorf("no dumped template %s in %q", selfTestVMT, tpls)
		}
		if kv := read(t, dump, "cluster/kubevirt.yaml"); !strings.Contains(kv, "Template") {
			t.Errorf("the KubeVirt CR in the dump shows no Template gate:\n%s", kv)
		}
		logs, _ := filepath.Glob(filepath.Join(dump, "logs", "virt-template-*.log"))
		if len(logs) == 0 {
			t.Errorf("no template component logs in the dump")
		}
		for _, l := range logs {
			if readPath(t, l) == "" {
				t.Errorf("%s is empty", l)
			}
		}
	})

	t.Run("the dump is bounded", func(t *testing.T) {
		var total int64
		_ = filepath.WalkDir(dump, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, _ := d.Info()
			total += info.Size()
			if info.Size() > maxFileBytes {
				t.Errorf("%s: %d bytes, over the %d-byte file cap", path, info.Size(), maxFileBytes)
			}
			return nil
		})
		if total > maxSpecBytes {
			t.Errorf("dump holds %d bytes, over the %d-byte spec cap", total, maxSpecBytes)
		}
		if index := read(t, dump, artifacts.IndexFile); !strings.Contains(index, "cut by the size caps:") {
			t.Errorf("these caps must cut something, and the index must say what:\n%s", index)
		}
		t.Logf("dump: %d bytes", total)
	})

	t.Run("the spec's report points at the dump", func(t *testing.T) {
		reports, err := tiers.ReadGinkgoReport(filepath.Join(out, tiers.ReportJSONFile))
		if err != nil {
			t.Fatal(err)
		}
		var entry string
		for _, r := range reports {
			for _, sr := range r.SpecReports {
				if sr.State.Is(types.SpecStateFailureStates) && strings.Contains(sr.FullText(), selfTestFocus) {
					for _, e := range sr.ReportEntries {
						if e.Name == "failure artifacts" {
							entry = e.StringRepresentation()
						}
					}
				}
			}
		}
		if !strings.HasPrefix(entry, dump+" (") {
			t.Errorf("report entry %q does not point at %s", entry, dump)
		}
	})
}

func dumpDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("no failure dumps: %v", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

func read(t *testing.T, dir, rel string) string {
	t.Helper()
	return readPath(t, filepath.Join(dir, rel))
}

func readPath(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("dump lacks %s: %v", path, err)
	}
	return string(raw)
}
