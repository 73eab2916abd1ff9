package tiers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRunInfoCarriesTheCleanupReport(t *testing.T) {
	in := RunInfo{Lane: "hermetic", Cleanup: &CleanupReport{
		RunID: "1a2b", Timeout: 2 * time.Minute, Waited: 2 * time.Minute,
		Kept:        []CleanupObject{{Kind: "Namespace", Name: "vmt-kept", Reason: "--vmt.keep-on-failure: its spec failed"}},
		Leftovers:   []CleanupObject{{Kind: "Namespace", Name: "vmt-s", Finalizers: []string{"kubernetes"}, Reason: "terminating for 2m0s"}},
		EarlierRuns: []string{"deleted Namespace vmt-old of run 0f0f"},
	}}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"cleanup":{"runID":"1a2b","verified":false`, `"leftovers":[{"kind":"Namespace","name":"vmt-s","finalizers":["kubernetes"]`, `"kept":[{`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("run.json lacks %s:\n%s", want, raw)
		}
	}
	var out RunInfo
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in.Cleanup, out.Cleanup) {
		t.Errorf("round trip\n got %+v\nwant %+v", out.Cleanup, in.Cleanup)
	}
	if raw, _ := json.Marshal(RunInfo{Lane: "x"}); strings.Contains(string(raw), "cleanup") {
		t.Errorf("a run without a cleanup report writes one: %s", raw)
	}
}

func TestCleanupFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if c, err := ReadCleanup(dir); c != nil || err != nil {
		t.Fatalf("no file: got %v, %v; want nil, nil", c, err)
	}
	want := CleanupReport{RunID: "1a2b", Verified: true, Waited: time.Second}
	if err := WriteCleanup(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCleanup(dir)
	if err != nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, CleanupFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCleanup(dir); err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "is not a cleanup report") {
		t.Errorf("a broken file: %v, want a one-line error", err)
	}
}

func TestCleanupLine(t *testing.T) {
	for _, tc := range []struct {
		in   *CleanupReport
		want string
	}{
		{&CleanupReport{RunID: "r", Verified: true, Waited: 1500 * time.Millisecond}, "cleanup verified: nothing of run r is left (waited 1.5s)"},
		{&CleanupReport{RunID: "r", Timeout: time.Minute, Leftovers: []CleanupObject{{Kind: "Namespace", Name: "a"}}}, "cleanup NOT verified: 1 object of run r left after waiting 1m0s"},
		{&CleanupReport{Error: "listing namespaces: boom"}, "cleanup NOT verified: the check failed: listing namespaces: boom"},
		{&CleanupReport{Skipped: true, Leftovers: []CleanupObject{{Kind: "Namespace", Name: "a"}}}, "cleanup not checked (--vmt.skip-cleanup-check)"},
	} {
		if got := tc.in.Line(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// make report on a plain ginkgo run (no run.json) still carries the suite's cleanup.json.
func TestGenerateReportsReadsCleanupJSON(t *testing.T) {
	dir := t.TempDir()
	raw, err := json.Marshal(suite(gaFilter))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ReportJSONFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteCleanup(dir, CleanupReport{RunID: "1a2b", Verified: true}); err != nil {
		t.Fatal(err)
	}
	a, err := GenerateReports(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Run.Cleanup == nil || !a.Run.Cleanup.Verified || a.Run.Cleanup.RunID != "1a2b" {
		t.Errorf("analysis run info lacks the cleanup report: %+v", a.Run.Cleanup)
	}
}
