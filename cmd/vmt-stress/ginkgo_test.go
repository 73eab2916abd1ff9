package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

func writeReport(t *testing.T, path string, reports []types.Report) {
	t.Helper()
	raw, err := json.Marshal(reports)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func it(containers []string, text string, labels []string, state types.SpecState, msg, file string, line int) types.SpecReport {
	return types.SpecReport{
		ContainerHierarchyTexts: containers, ContainerHierarchyLabels: [][]string{labels},
		LeafNodeType: types.NodeTypeIt, LeafNodeText: text, State: state,
		Failure: types.Failure{Message: msg, Location: types.CodeLocation{FileName: file, LineNumber: line}},
	}
}

// sampleReport has two passed specs, a failed one, a timed-out one, a skipped one and a
// failed SynchronizedBeforeSuite.
func sampleReport(root string) []types.Report {
	return []types.Report{{
		SuiteDescription: "vmt", SuiteSucceeded: false,
		SpecReports: types.SpecReports{
			it([]string{"process"}, "renders defaults", []string{"VMT-003", "tier1"}, types.SpecStatePassed, "", "", 0),
			it([]string{"create"}, "creates the VM", []string{"VMT-004"}, types.SpecStatePassed, "", "", 0),
			it([]string{"process", "as a viewer"}, "is forbidden", []string{"VMT-004", "tier1"}, types.SpecStateFailed,
				"\nExpected\n    <int>: 200\nto equal\n    <int>: 403", filepath.Join(root, "tests", "process.go"), 88),
			it([]string{"snapshot"}, "restores", []string{"VMT-019"}, types.SpecStateTimedout,
				"A spec timeout occurred\nmore", filepath.Join(root, "tests", "snapshot.go"), 12),
			it([]string{"windows"}, "boots", []string{"VMT-010"}, types.SpecStateSkipped, "", "", 0),
			{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStateFailed,
				LeafNodeLocation: types.CodeLocation{FileName: filepath.Join(root, "tests", "suite_test.go"), LineNumber: 40},
				Failure:          types.Failure{Message: "no cluster: connection refused", Location: types.CodeLocation{FileName: "/elsewhere/x.go", LineNumber: 7}}},
		},
	}}
}

func TestParseGinkgoReport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	writeReport(t, path, sampleReport("/repo"))
	res, err := parseGinkgoReport(path, "lane hermetic", "/repo")
	if err != nil {
		t.Fatal(err)
	}
	want := []failure{
		{"lane hermetic", "VMT-004 process as a viewer is forbidden", "tests/process.go:88: Expected"},
		{"lane hermetic", "VMT-019 snapshot restores", "tests/snapshot.go:12: [timedout] A spec timeout occurred"},
		{"lane hermetic", "[SynchronizedBeforeSuite] suite_test.go:40", "/elsewhere/x.go:7: no cluster: connection refused"},
	}
	if !reflect.DeepEqual(res.Failures, want) {
		t.Errorf("failures:\n got %q\nwant %q", res.Failures, want)
	}
	if res.Ran != 4 || res.Passed != 2 {
		t.Errorf("ran %d, passed %d; want 4 and 2", res.Ran, res.Passed)
	}
}

func TestParseGinkgoReportSuiteFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	writeReport(t, path, []types.Report{{SuiteDescription: "vmt", SuiteSucceeded: false,
		SpecialSuiteFailureReasons: []string{"Interrupted by User"},
		SpecReports:                types.SpecReports{it(nil, "x", nil, types.SpecStatePassed, "", "", 0)}}})
	res, err := parseGinkgoReport(path, "lane tier1", "/repo")
	if err != nil {
		t.Fatal(err)
	}
	want := []failure{{"lane tier1", "suite vmt", "Interrupted by User"}}
	if !reflect.DeepEqual(res.Failures, want) {
		t.Errorf("failures: got %q, want %q", res.Failures, want)
	}
}

func TestParseGinkgoReportMissingOrBad(t *testing.T) {
	dir := t.TempDir()
	if _, err := parseGinkgoReport(filepath.Join(dir, "none.json"), "lane x", dir); err == nil {
		t.Error("a missing report: no error")
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := parseGinkgoReport(bad, "lane x", dir); err == nil {
		t.Error("a broken report: no error")
	}
}
