package tiers

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// RunInfo is what the runner knows about a run that ginkgo's report does not: the lane,
// the provider, the capabilities it detected and the versions it found. cmd/vmt-e2e
// writes it as run.json next to ginkgo's report.json; the reports read both.
type RunInfo struct {
	Lane         string            `json:"lane"`
	LaneExpr     string            `json:"laneExpr"`
	LabelFilter  string            `json:"labelFilter"`
	Provider     string            `json:"provider"`
	Capabilities []CapabilityState `json:"capabilities,omitempty"`
	// Versions found on the cluster, e.g. "kubernetes", "kubevirt", "cdi", "virt-template";
	// a missing key means not detectable.
	Versions map[string]string `json:"versions,omitempty"`
	// SUT is the system under test (framework/sut): KubeVirt, virt-template and how it was
	// learned, the API versions spoken and preferred, the implementation, the profile. nil
	// when neither run.json nor sut.json had one.
	SUT   *SystemUnderTest `json:"systemUnderTest,omitempty"`
	Procs int              `json:"procs,omitempty"`
	Start time.Time        `json:"start"`
	End   time.Time        `json:"end"`
	// Preflight holds the nightly job's precondition checks, when it ran them.
	Preflight []PreflightCheck `json:"preflight,omitempty"`
	// Cleanup is the suite's proof of its own cleanup (cleanup.json); nil when the suite
	// wrote none.
	Cleanup *CleanupReport `json:"cleanup,omitempty"`
}

// CapabilityState is one capability as the runner decided it.
type CapabilityState struct {
	Label   string `json:"label"` // requires-guest
	Offered bool   `json:"offered"`
	Reason  string `json:"reason"`
}

// PreflightCheck is one precondition the nightly job checked before running the lane.
type PreflightCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	// Required checks stop the job when they fail; the others only explain filtered specs.
	Required bool `json:"required"`
}

// Missing returns the labels of the capabilities the run lacked, sorted.
func (r RunInfo) Missing() []string {
	var out []string
	for _, c := range r.Capabilities {
		if !c.Offered {
			out = append(out, c.Label)
		}
	}
	slices.Sort(out)
	return out
}

// Outcome is what happened to one spec in a run.
type Outcome string

const (
	OutcomePassed   Outcome = "passed"
	OutcomeFailed   Outcome = "failed"   // failed, panicked, timed out, interrupted or aborted
	OutcomeFiltered Outcome = "filtered" // the label filter left it out; Reason says why
	OutcomeNotRun   Outcome = "not run"  // selected but never ran (setup failure, interrupt, Skip)
	OutcomePending  Outcome = "pending"
)

// SpecResult is one It of the run.
type SpecResult struct {
	Scenario string   `json:"scenario"` // "" when the spec carries none
	Text     string   `json:"text"`
	Location string   `json:"location"`
	Labels   []string `json:"labels"`
	Requires []string `json:"requires,omitempty"`
	Outcome  Outcome  `json:"outcome"`
	State    string   `json:"state"` // ginkgo's state, e.g. "timedout"
	// Reason explains a filtered or not-run spec; for a failure it is the failure message.
	Reason   string        `json:"reason,omitempty"`
	Duration time.Duration `json:"duration"`
	Entries  []ReportEntry `json:"entries,omitempty"`
	report   types.SpecReport
	suite    int // index of its report in the input, and of the spec in SpecReports
	index    int
}

// ReportEntry is a ginkgo report entry of a spec, value as JSON.
type ReportEntry struct {
	Name  string `json:"name"`
	JSON  string `json:"json,omitempty"`
	Value string `json:"value"`
}

// ScenarioState sums up a scenario over its specs.
type ScenarioState string

const (
	ScenarioPassed     ScenarioState = "passed"  // every spec ran and passed
	ScenarioFailed     ScenarioState = "failed"  // at least one spec failed
	ScenarioPartial    ScenarioState = "partial" // some passed, the others did not run
	ScenarioNotRun     ScenarioState = "not run" // specs exist, none ran
	ScenarioNoSpec     ScenarioState = "no spec" // in scope, not automated
	ScenarioOutOfScope ScenarioState = "out of scope"
)

// ScenarioResult is one catalogue scenario with its specs' results.
type ScenarioResult struct {
	ScenarioInfo
	State  ScenarioState `json:"state"`
	Specs  []SpecResult  `json:"specs"`
	Counts OutcomeCounts `json:"counts"`
}

// OutcomeCounts counts specs per outcome.
type OutcomeCounts struct {
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Filtered int `json:"filtered"`
	NotRun   int `json:"notRun"`
	Pending  int `json:"pending"`
}

func (c *OutcomeCounts) add(o Outcome) {
	switch o {
	case OutcomePassed:
		c.Passed++
	case OutcomeFailed:
		c.Failed++
	case OutcomeFiltered:
		c.Filtered++
	case OutcomeNotRun:
		c.NotRun++
	case OutcomePending:
		c.Pending++
	}
}

// Total is the number of specs counted.
func (c OutcomeCounts) Total() int { return c.Passed + c.Failed + c.Filtered + c.NotRun + c.Pending }

// Ran is the number of specs that ran.
func (c OutcomeCounts) Ran() int { return c.Passed + c.Failed }

// Analysis is a run's results traced to the catalogue: the input of every report.
type Analysis struct {
	STP       STPInfo          `json:"stp"`
	Run       RunInfo          `json:"run"`
	Scenarios []ScenarioResult `json:"scenarios"` // every catalogue scenario, sorted by id
	// Unassigned are specs without a scenario id (the catalogue check forbids them).
	Unassigned []SpecResult `json:"unassigned,omitempty"`
	// SuiteFailures are failed suite-level nodes (BeforeSuite, AfterSuite, ...).
	SuiteFailures []string         `json:"suiteFailures,omitempty"`
	Counts        OutcomeCounts    `json:"counts"`
	Checklist     []ChecklistState `json:"checklist"`
	Verdict       Verdict          `json:"verdict"`
	Scale         []ScaleTable     `json:"scale,omitempty"`
	catalogue     *ScenarioCatalogue
}

// Analyze traces ginkgo reports (a --json-report holds one per suite) to the default
// catalogue. run may be partial: missing lane, filter or times are taken from the report.
func Analyze(reports []types.Report, run RunInfo) (*Analysis, error) {
	return analyze(defaultCatalogue, reports, run)
}

func analyze(c *ScenarioCatalogue, reports []types.Report, run RunInfo) (*Analysis, error) {
	if len(reports) == 0 {
		return nil, fmt.Errorf("tiers: the ginkgo report holds no suite")
	}
	run = completeRunInfo(run, reports)
	laneFilter, filter, err := filters(run)
	if err != nil {
		return nil, err
	}
	a := &Analysis{STP: c.STP(), Run: run, catalogue: c}
	byScenario := map[string][]SpecResult{}
	for n, r := range reports {
		for i, sr := range r.SpecReports {
			if sr.LeafNodeType.Is(types.NodeTypesForSuiteLevelNodes) {
				if sr.State.Is(types.SpecStateFailureStates) {
					a.SuiteFailures = append(a.SuiteFailures, fmt.Sprintf("[%s] %s: %s", sr.LeafNodeType, sr.State, firstLine(sr.Failure.Message)))
				}
				continue
			}
			if sr.LeafNodeType != types.NodeTypeIt {
				continue
			}
			res := classify(c, sr, run, laneFilter, filter)
			res.suite, res.index = n, i
			a.Counts.add(res.Outcome)
			if res.Scenario == "" {
				a.Unassigned = append(a.Unassigned, res)
				continue
			}
			byScenario[res.Scenario] = append(byScenario[res.Scenario], res)
		}
	}
	for _, s := range c.scenarios {
		specs := byScenario[s.ID]
		sortSpecs(specs)
		sr := ScenarioResult{ScenarioInfo: s.clone(), Specs: specs}
		for _, sp := range specs {
			sr.Counts.add(sp.Outcome)
		}
		sr.State = scenarioState(s, sr.Counts)
		if sr.Specs == nil {
			sr.Specs = []SpecResult{}
		}
		a.Scenarios = append(a.Scenarios, sr)
	}
	sortSpecs(a.Unassigned)
	a.Checklist = checklistStates(c, a)
	a.Verdict = verdict(a)
	a.Scale = scaleTables(a)
	return a, nil
}

// completeRunInfo fills what the runner did not record from the report itself.
func completeRunInfo(run RunInfo, reports []types.Report) RunInfo {
	first := reports[0]
	if run.LabelFilter == "" {
		run.LabelFilter = first.SuiteConfig.LabelFilter
	}
	if run.Lane == "" {
		for _, l := range lanes {
			if run.LabelFilter == l.Expr || strings.HasPrefix(run.LabelFilter, "("+l.Expr+")") {
				run.Lane = l.Name
				break
			}
		}
	}
	if run.LaneExpr == "" && run.Lane != "" {
		run.LaneExpr, _ = Lane(run.Lane)
	}
	if len(run.Capabilities) == 0 {
		// The runner writes "(<lane>) && !requires-x && ...": recover what was missing.
		for _, part := range strings.Split(run.LabelFilter, "&&") {
			if l, ok := strings.CutPrefix(strings.TrimSpace(part), "!"); ok && IsCapability(l) {
				run.Capabilities = append(run.Capabilities, CapabilityState{Label: l, Reason: reasonNoRunInfo})
			}
		}
	}
	if run.Start.IsZero() {
		run.Start = first.StartTime
	}
	if run.End.IsZero() {
		run.End = first.EndTime
	}
	return run
}

func filters(run RunInfo) (lane, full types.LabelFilter, err error) {
	match := func([]string) bool { return true }
	full, lane = match, match
	if run.LabelFilter != "" {
		if full, err = types.ParseLabelFilter(run.LabelFilter); err != nil {
			return nil, nil, fmt.Errorf("tiers: label filter %q: %w", run.LabelFilter, err)
		}
	}
	if run.LaneExpr != "" {
		if lane, err = types.ParseLabelFilter(run.LaneExpr); err != nil {
			return nil, nil, fmt.Errorf("tiers: lane expression %q: %w", run.LaneExpr, err)
		}
	}
	return lane, full, nil
}

var failureStates = types.SpecStateFailed | types.SpecStatePanicked | types.SpecStateTimedout | types.SpecStateInterrupted | types.SpecStateAborted

func classify(c *ScenarioCatalogue, sr types.SpecReport, run RunInfo, laneFilter, filter types.LabelFilter) SpecResult {
	labels := sr.Labels()
	res := SpecResult{
		Text:     sr.FullText(),
		Location: shortLocation(sr.LeafNodeLocation),
		Labels:   labels,
		State:    sr.State.String(),
		Duration: sr.RunTime,
		report:   sr,
	}
	for _, l := range labels {
		switch {
		case c.kindOf(l) == kindScenario && res.Scenario == "":
			res.Scenario = l
		case IsCapability(l) && !slices.Contains(res.Requires, l):
			res.Requires = append(res.Requires, l)
		}
	}
	for _, e := range sr.ReportEntries {
		res.Entries = append(res.Entries, ReportEntry{Name: e.Name, JSON: e.Value.AsJSON, Value: e.Value.Representation})
	}
	switch {
	case sr.State == types.SpecStatePassed:
		res.Outcome = OutcomePassed
	case sr.State.Is(failureStates):
		res.Outcome = OutcomeFailed
		res.Reason = firstLine(sr.Failure.Message)
	case sr.State == types.SpecStatePending:
		res.Outcome, res.Reason = OutcomePending, "marked pending"
	case sr.State == types.SpecStateSkipped && sr.Failure.Message != "":
		res.Outcome, res.Reason = OutcomeNotRun, "skipped: "+firstLine(sr.Failure.Message)
	case !filter(labels):
		res.Outcome, res.Reason = OutcomeFiltered, filterReason(run, labels, laneFilter)
	default:
		res.Outcome, res.Reason = OutcomeNotRun, "selected but did not run: the suite stopped first (setup failure, interrupt or --fail-fast)"
	}
	return res
}

// filterReason says why the label filter left a spec out: the capabilities the cluster
// lacked, else that the lane does not select it.
func filterReason(run RunInfo, labels []string, laneFilter types.LabelFilter) string {
	if !laneFilter(labels) {
		if run.Lane != "" {
			return "not in lane " + run.Lane
		}
		return "not selected by the label filter"
	}
	var lacks []string
	for _, m := range run.Missing() {
		if slices.ContainsFunc(labels, func(l string) bool { return strings.EqualFold(l, m) }) {
			lacks = append(lacks, m+capabilityReason(run, m))
		}
	}
	if len(lacks) > 0 {
		return "cluster lacks " + strings.Join(lacks, ", ")
	}
	return "not selected by the label filter"
}

// reasonNoRunInfo is the reason of a capability recovered from the label filter alone: it
// says nothing a filtered spec should repeat.
const reasonNoRunInfo = "filtered out by the label filter (no run.json)"

// capabilityReason is " (<why>)" when the run recorded why the cluster lacks label, so a
// filtered spec says e.g. "virt-template v0.1.8 serves only v1alpha1".
func capabilityReason(run RunInfo, label string) string {
	for _, c := range run.Capabilities {
		if strings.EqualFold(c.Label, label) && !c.Offered && c.Reason != "" && c.Reason != reasonNoRunInfo {
			return " (" + c.Reason + ")"
		}
	}
	return ""
}

func scenarioState(s ScenarioInfo, n OutcomeCounts) ScenarioState {
	switch {
	case !s.InScope:
		return ScenarioOutOfScope
	case n.Total() == 0:
		return ScenarioNoSpec
	case n.Failed > 0:
		return ScenarioFailed
	case n.Passed == n.Total():
		return ScenarioPassed
	case n.Passed > 0:
		return ScenarioPartial
	}
	return ScenarioNotRun
}

// NotRun returns every spec of an in-scope scenario that did not run, with its reason.
func (a *Analysis) NotRun() []SpecResult {
	var out []SpecResult
	for _, s := range a.Scenarios {
		for _, sp := range s.Specs {
			if sp.Outcome != OutcomePassed && sp.Outcome != OutcomeFailed {
				out = append(out, sp)
			}
		}
	}
	return out
}

// Failed returns every failed spec.
func (a *Analysis) Failed() []SpecResult {
	var out []SpecResult
	for _, s := range a.Scenarios {
		for _, sp := range s.Specs {
			if sp.Outcome == OutcomeFailed {
				out = append(out, sp)
			}
		}
	}
	for _, sp := range a.Unassigned {
		if sp.Outcome == OutcomeFailed {
			out = append(out, sp)
		}
	}
	return out
}

// Scenario returns the result of one scenario.
func (a *Analysis) Scenario(id string) (ScenarioResult, bool) {
	for _, s := range a.Scenarios {
		if s.ID == id {
			return s, true
		}
	}
	return ScenarioResult{}, false
}

// sortSpecs orders specs by file, line, then text: stable across randomised runs.
func sortSpecs(specs []SpecResult) {
	sort.SliceStable(specs, func(i, j int) bool {
		a, b := specs[i].report.LeafNodeLocation, specs[j].report.LeafNodeLocation
		if a.FileName != b.FileName {
			return a.FileName < b.FileName
		}
		if a.LineNumber != b.LineNumber {
			return a.LineNumber < b.LineNumber
		}
		return specs[i].Text < specs[j].Text
	})
}

// shortLocation is "dir/file.go:line": enough to find the spec, and the same on every machine.
func shortLocation(l types.CodeLocation) string {
	if l.FileName == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", filepath.Join(filepath.Base(filepath.Dir(l.FileName)), filepath.Base(l.FileName)), l.LineNumber)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	const max = 300
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
