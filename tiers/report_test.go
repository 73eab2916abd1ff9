package tiers

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/report")

// reportCatalogue is a small, fixed catalogue so the golden files do not move when
// scenarios.yaml grows.
const reportCatalogue = `
stp: {title: Test plan, jira: CNV-1, feature: FEAT-1, document: stp.md, revision: abc}
gaChecklist:
  - {id: tests-defined, item: Tests defined, stpChecked: true}
  - {id: automation-merged, item: Automation merged, stpChecked: false}
  - {id: ci-running, item: Running in CI, stpChecked: false}
  - {id: qe-signoff, item: QE sign-off, stpChecked: false}
scenarios:
  - {id: VMT-001, title: Create from template, story: s, jira: [CNV-1], polarion: [CNV-100], tier: tier1, priority: P0, inScope: true, source: {section: "§1", origin: merged}}
  - {id: VMT-002, title: Capture | from VM, story: s, jira: [CNV-1, CNV-2], polarion: [CNV-200, CNV-201], tier: tier1, priority: P0, inScope: true, requires: [requires-snapshot-storage], source: {section: "§1", origin: merged}}
  - {id: VMT-003, title: CLI convert, story: s, jira: [CNV-1], tier: tier1, priority: P1, inScope: true, source: {section: "§1", origin: merged}}
  - {id: VMT-004, title: Admission, story: s, jira: [CNV-1], tier: tier2, priority: P2, inScope: true, source: {section: "§1", origin: merged}}
  - {id: VMT-005, title: Scale, story: s, jira: [CNV-1], tier: scale, priority: P2, inScope: true, source: {section: "§5", origin: NFR}}
  - {id: VMT-006, title: Console, story: s, jira: [CNV-1], inScope: false, reason: the UI team covers it, source: {section: "§1", origin: draft}}
  - {id: VMT-007, title: Upgrade, story: s, jira: [CNV-1], tier: tier2, priority: P1, inScope: true, source: {section: "§1", origin: merged}}
`

func testCatalogue(t *testing.T) *ScenarioCatalogue {
	t.Helper()
	c, errs := load([]byte(reportCatalogue))
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	return c
}

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

type specOpt func(*types.SpecReport)

func failed(msg string) specOpt {
	return func(r *types.SpecReport) {
		r.State, r.Failure = types.SpecStateFailed, types.Failure{Message: msg, FailureNodeType: types.NodeTypeIt}
	}
}
func skippedBy(msg string) specOpt {
	return func(r *types.SpecReport) { r.State, r.Failure = types.SpecStateSkipped, types.Failure{Message: msg} }
}
func state(s types.SpecState) specOpt { return func(r *types.SpecReport) { r.State = s } }
func withLabels(l ...string) specOpt {
	return func(r *types.SpecReport) { r.LeafNodeLabels = append(r.LeafNodeLabels, l...) }
}
func entry(name string, value any) specOpt {
	return func(r *types.SpecReport) {
		r.ReportEntries = append(r.ReportEntries, types.ReportEntry{Name: name, Value: types.WrapEntryValue(value)})
	}
}

// runSpec is an It of scenario id (labels as tiers.Scenario gives them) at tests/<file>:line;
// it passed unless an option says otherwise.
func runSpec(c *ScenarioCatalogue, id, text string, line int, opts ...specOpt) types.SpecReport {
	s, _ := c.Lookup(id)
	r := types.SpecReport{
		ContainerHierarchyTexts:  []string{s.Title},
		ContainerHierarchyLabels: [][]string{s.Labels()},
		LeafNodeType:             types.NodeTypeIt,
		LeafNodeText:             text,
		LeafNodeLocation:         types.CodeLocation{FileName: "/src/vmt/tests/" + strings.ToLower(strings.ReplaceAll(id, "-", "")) + ".go", LineNumber: line},
		State:                    types.SpecStatePassed,
		RunTime:                  time.Duration(line) * time.Millisecond,
		StartTime:                t0,
		EndTime:                  t0.Add(time.Duration(line) * time.Millisecond),
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

// suite wraps specs in a report and round-trips it through JSON, as a --json-report is
// read (report entry values only have their JSON form after that).
func suite(filter string, specs ...types.SpecReport) []types.Report {
	reports := []types.Report{{
		SuitePath:        "/src/vmt/tests",
		SuiteDescription: "vmt-conformance",
		SuiteSucceeded:   true,
		StartTime:        t0,
		EndTime:          t0.Add(90 * time.Second),
		SuiteConfig:      types.SuiteConfig{LabelFilter: filter, RandomSeed: 1},
		SpecReports:      specs,
	}}
	raw, err := json.Marshal(reports)
	if err != nil {
		panic(err)
	}
	var out []types.Report
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(err)
	}
	return out
}

const gaFilter = "((P0 || P1) && !upgrade-pre && !upgrade-post && !scale) && !requires-snapshot-storage"

func gaRun() RunInfo {
	return RunInfo{
		Lane: "ga-readiness", LaneExpr: "(P0 || P1) && !upgrade-pre && !upgrade-post && !scale", LabelFilter: gaFilter,
		Provider: "existing", Procs: 4, Start: t0, End: t0.Add(95 * time.Second),
		Capabilities: []CapabilityState{
			{Label: RequiresGuest, Offered: true, Reason: "virt-handler ready"},
			{Label: RequiresSnapshotStorage, Offered: false, Reason: "no VolumeSnapshotClass"},
			{Label: RequiresV1beta1, Offered: false, Reason: "virt-template v0.1.7 serves only v1alpha1"},
		},
		Versions:  map[string]string{"kubernetes": "v1.34.2", "kubevirt": "v1.8.0", "virt-template": "v0.1.7"},
		SUT:       sampleSUT(),
		Preflight: []PreflightCheck{{Name: "template.kubevirt.io served", OK: true, Detail: "v1alpha1, v1beta1", Required: true}},
	}
}

// sampleRun is a ga-readiness run with every kind of outcome: used by the golden files.
func sampleRun(t *testing.T) (*ScenarioCatalogue, []types.Report, *Analysis) {
	c := testCatalogue(t)
	reports := suite(gaFilter,
		types.SpecReport{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStatePassed},
		runSpec(c, "VMT-001", "creates a VM [test_id:CNV-100]", 10),
		runSpec(c, "VMT-001", "boots the guest", 20, withLabels(RequiresGuest)),
		runSpec(c, "VMT-002", "captures a template", 10, state(types.SpecStateSkipped)),
		runSpec(c, "VMT-002", "rejects a missing VM", 30, failed("expected 422\nbut got 200")),
		runSpec(c, "VMT-003", "converts a template", 10),
		runSpec(c, "VMT-004", "rejects a bad template", 10, state(types.SpecStateSkipped)),
		runSpec(c, "VMT-005", "creates 500 VMs", 10, state(types.SpecStateSkipped),
			entry("scale:create", map[string]any{"vms": 500, "p50": "1.2s", "p99": "3.4s"})),
	)
	a, err := analyze(c, reports, gaRun())
	if err != nil {
		t.Fatal(err)
	}
	return c, reports, a
}

func TestAnalyzeClassifiesEverySpec(t *testing.T) {
	_, _, a := sampleRun(t)
	want := map[string]struct {
		outcome Outcome
		reason  string
	}{
		"Create from template creates a VM [test_id:CNV-100]": {OutcomePassed, ""},
		"Create from template boots the guest":                {OutcomePassed, ""},
		"Capture | from VM captures a template":               {OutcomeFiltered, "cluster lacks requires-snapshot-storage (no VolumeSnapshotClass)"},
		"Capture | from VM rejects a missing VM":              {OutcomeFailed, "expected 422 …"},
		"CLI convert converts a template":                     {OutcomePassed, ""},
		"Admission rejects a bad template":                    {OutcomeFiltered, "not in lane ga-readiness"},
		"Scale creates 500 VMs":                               {OutcomeFiltered, "not in lane ga-readiness"},
	}
	seen := 0
	for _, s := range a.Scenarios {
		for _, sp := range s.Specs {
			w, ok := want[sp.Text]
			if !ok {
				t.Errorf("unexpected spec %q", sp.Text)
				continue
			}
			seen++
			if sp.Outcome != w.outcome || sp.Reason != w.reason {
				t.Errorf("%q: got %s (%q), want %s (%q)", sp.Text, sp.Outcome, sp.Reason, w.outcome, w.reason)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("saw %d specs, want %d", seen, len(want))
	}
	states := map[string]ScenarioState{"VMT-001": ScenarioPassed, "VMT-002": ScenarioFailed, "VMT-003": ScenarioPassed,
		"VMT-004": ScenarioNotRun, "VMT-005": ScenarioNotRun, "VMT-006": ScenarioOutOfScope, "VMT-007": ScenarioNoSpec}
	for id, w := range states {
		if s, _ := a.Scenario(id); s.State != w {
			t.Errorf("%s: state %s, want %s", id, s.State, w)
		}
	}
}

func TestNotRunReasons(t *testing.T) {
	c := testCatalogue(t)
	reports := suite("tier1",
		runSpec(c, "VMT-001", "skips itself", 1, skippedBy("no guest here")),
		runSpec(c, "VMT-001", "never started", 2, state(types.SpecStateSkipped)),
		runSpec(c, "VMT-001", "is pending", 3, state(types.SpecStatePending)),
	)
	a, err := analyze(c, reports, RunInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Run.Lane != "" {
		// "tier1" is no lane's expression: the lane stays unknown.
		t.Errorf("lane %q recovered from filter tier1", a.Run.Lane)
	}
	s, _ := a.Scenario("VMT-001")
	got := []string{}
	for _, sp := range s.Specs {
		got = append(got, string(sp.Outcome)+": "+sp.Reason)
	}
	want := []string{
		"not run: skipped: no guest here",
		"not run: selected but did not run: the suite stopped first (setup failure, interrupt or --fail-fast)",
		"pending: marked pending",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRunInfoRecoveredFromReport(t *testing.T) {
	c := testCatalogue(t)
	expr, _ := Lane("nightly")
	filter := "(" + expr + ") && !requires-guest && !requires-snapshot-storage"
	a, err := analyze(c, suite(filter, runSpec(c, "VMT-001", "boots", 1, withLabels(RequiresGuest), state(types.SpecStateSkipped))), RunInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Run.Lane != "nightly" || a.Run.LaneExpr != expr || !a.Run.Start.Equal(t0) {
		t.Errorf("run info %+v", a.Run)
	}
	if got := a.Run.Missing(); strings.Join(got, " ") != "requires-guest requires-snapshot-storage" {
		t.Errorf("missing %v", got)
	}
	s, _ := a.Scenario("VMT-001")
	if s.Specs[0].Reason != "cluster lacks requires-guest" {
		t.Errorf("reason %q", s.Specs[0].Reason)
	}
}

// TestVerdict pins the GA rules: P0 failed, not run, partly run or unautomated => NOT READY;
// P1 failed => NOT READY; P1 not run => READY with a warning; P2 failed => READY with a
// warning; suite setup failed => NOT READY.
func TestVerdict(t *testing.T) {
	c := testCatalogue(t)
	allP0P1 := func(extra ...types.SpecReport) []types.SpecReport {
		return append([]types.SpecReport{
			runSpec(c, "VMT-001", "a", 1),
			runSpec(c, "VMT-002", "b", 1),
			runSpec(c, "VMT-003", "c", 1),
			runSpec(c, "VMT-007", "d", 1),
		}, extra...)
	}
	replace := func(specs []types.SpecReport, i int, r types.SpecReport) []types.SpecReport {
		specs[i] = r
		return specs
	}
	run := RunInfo{Lane: "nightly"}
	cases := []struct {
		name     string
		specs    []types.SpecReport
		suiteErr bool
		ready    bool
		blockers []string // substrings, in order
		warnings []string
	}{
		{name: "all P0 and P1 passed", specs: allP0P1(), ready: true},
		{name: "P0 failed", specs: replace(allP0P1(), 0, runSpec(c, "VMT-001", "a", 1, failed("boom"))), blockers: []string{`P0 VMT-001 (Create from template) failed: 1 of 1 spec(s): "Create from template a"`}},
		{name: "P0 not run", specs: replace(allP0P1(), 1, runSpec(c, "VMT-002", "b", 1, state(types.SpecStateSkipped))),
			blockers: []string{"P0 VMT-002 (Capture | from VM) did not run: none of its 1 spec(s) ran (selected but did not run: the suite stopped first"}},
		{name: "P0 partly run", specs: allP0P1(runSpec(c, "VMT-001", "guest", 2, withLabels(RequiresGuest), state(types.SpecStateSkipped))),
			blockers: []string{"P0 VMT-001 (Create from template) ran only in part: 1 of 2 spec(s) did not run"}},
		{name: "P0 without spec", specs: allP0P1()[1:], blockers: []string{"P0 VMT-001 (Create from template) has no spec"}},
		{name: "P1 failed", specs: replace(allP0P1(), 2, runSpec(c, "VMT-003", "c", 1, failed("boom"))), blockers: []string{"P1 VMT-003 (CLI convert) failed"}},
		{name: "P1 not run is a warning", specs: allP0P1()[:3], ready: true, warnings: []string{"P1 VMT-007 (Upgrade) has no spec"}},
		{name: "P2 failure is a warning", specs: allP0P1(runSpec(c, "VMT-004", "e", 1, failed("bad"))), ready: true, warnings: []string{"P2 VMT-004 (Admission) failed"}},
		{name: "scale failure is a warning", specs: allP0P1(runSpec(c, "VMT-005", "e", 1, failed("slow"))), ready: true, warnings: []string{"P2 VMT-005 (Scale) failed"}},
		{name: "suite setup failed", specs: allP0P1(), suiteErr: true, blockers: []string{"suite setup or teardown failed: [SynchronizedBeforeSuite] failed: no cluster"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			specs := tc.specs
			if tc.suiteErr {
				specs = append(specs, types.SpecReport{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStateFailed, Failure: types.Failure{Message: "no cluster"}})
			}
			a, err := analyze(c, suite("", specs...), run)
			if err != nil {
				t.Fatal(err)
			}
			v := a.Verdict
			if v.Ready != tc.ready || v.ExitCode() != map[bool]int{true: 0, false: 1}[tc.ready] {
				t.Errorf("ready=%t exit=%d, want ready=%t; verdict %+v", v.Ready, v.ExitCode(), tc.ready, v)
			}
			check := func(kind string, got, want []string) {
				if len(got) != len(want) {
					t.Errorf("%s: got %q, want %d matching %q", kind, got, len(want), want)
					return
				}
				for i := range want {
					if !strings.Contains(got[i], want[i]) {
						t.Errorf("%s[%d] = %q, want it to contain %q", kind, i, got[i], want[i])
					}
				}
			}
			check("blockers", v.Blockers, tc.blockers)
			check("warnings", v.Warnings, tc.warnings)
		})
	}
}

func TestVerdictString(t *testing.T) {
	for _, tc := range []struct {
		v    Verdict
		want string
	}{
		{Verdict{Ready: true}, "READY"},
		{Verdict{Ready: true, Warnings: []string{"x"}}, "READY (with 1 warning)"},
		{Verdict{Ready: false, Blockers: []string{"x"}}, "NOT READY"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestChecklist(t *testing.T) {
	_, _, a := sampleRun(t)
	got := map[string]string{}
	for _, item := range a.Checklist {
		got[item.ID] = item.State + ": " + item.Evidence
	}
	want := map[string]string{
		"tests-defined":     "open: 5 of 6 in-scope scenarios have specs; without: VMT-007",
		"automation-merged": "open: 3 of 4 P0/P1 scenarios have specs; without: VMT-007",
		"ci-running":        "met: this report is a ga-readiness run against a existing cluster; wire it into the release CI job",
		"qe-signoff":        "manual: needs a human; not shown by a test run",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
}

func TestScaleTables(t *testing.T) {
	_, _, a := sampleRun(t)
	if len(a.Scale) != 1 {
		t.Fatalf("scale tables: %+v", a.Scale)
	}
	tab := a.Scale[0]
	if tab.Name != "scale:create" || strings.Join(tab.Columns, ",") != "spec,p50,p99,vms" ||
		strings.Join(tab.Rows[0], ",") != "VMT-005 Scale creates 500 VMs,1.2s,3.4s,500" {
		t.Errorf("table %+v", tab)
	}
}

// TestGolden renders every report of the sample run and compares it with
// testdata/report/*. Regenerate with: go test ./tiers -run TestGolden -update
func TestGolden(t *testing.T) {
	_, reports, a := sampleRun(t)
	dir := t.TempDir()
	if err := a.WriteAll(dir, reports); err != nil {
		t.Fatal(err)
	}
	for _, name := range ReportFiles() {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "report", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s; inspect with -update and git diff", name, golden)
		}
	}
}

func TestJUnitProperties(t *testing.T) {
	_, reports, a := sampleRun(t)
	path := filepath.Join(t.TempDir(), JUnitFile)
	if err := a.WriteJUnit(reports, path); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	x := string(raw)
	for _, want := range []string{
		`<property name="scenario" value="VMT-002"></property>`,
		`<property name="jira" value="CNV-1,CNV-2"></property>`,
		`<property name="polarion" value="CNV-200,CNV-201"></property>`,
		`<property name="polarion-testcase-id" value="CNV-100"></property>`,
		`<property name="tier" value="tier1"></property>`,
		`<property name="priority" value="P0"></property>`,
		`<skipped message="filtered: cluster lacks requires-snapshot-storage (no VolumeSnapshotClass)"></skipped>`,
		`<property name="vmt-verdict" value="NOT READY"></property>`,
	} {
		if !strings.Contains(x, want) {
			t.Errorf("junit lacks %s", want)
		}
	}
	// VMT-001 has one Polarion id: both its specs get it. VMT-002 has two and its specs
	// name none: no single test case id.
	if strings.Count(x, `name="polarion-testcase-id"`) != 2 {
		t.Errorf("want two polarion-testcase-id properties:\n%s", x)
	}
}

func TestGAJSONRoundTrips(t *testing.T) {
	_, _, a := sampleRun(t)
	raw, err := a.GAJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Kind        string
		VerdictText string
		Verdict     Verdict
		Scenarios   []ScenarioResult
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.VerdictText != "NOT READY" || doc.Verdict.Ready || len(doc.Scenarios) != 7 {
		t.Errorf("decoded %+v", doc)
	}
}

func TestGenerateReportsBadInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	empty := t.TempDir()
	garbage := t.TempDir()
	if err := os.WriteFile(filepath.Join(garbage, ReportJSONFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]string{
		missing: "artifacts directory " + missing + " does not exist",
		empty:   empty + " has no report.json: run a lane first (make e2e) or point --artifacts at a run's directory",
		garbage: "is not a ginkgo JSON report",
	} {
		_, err := GenerateReports(dir)
		var in *InputError
		if !errors.As(err, &in) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one-line InputError containing %q", dir, err, want)
		}
	}
}
