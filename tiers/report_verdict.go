package tiers

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Verdict is the GA-readiness decision drawn from a run. The rules (documented in
// README "Reports"):
//
//   - a P0 scenario that failed, did not run, ran only in part or has no spec blocks GA;
//   - a P1 scenario that failed blocks GA; one that did not run (fully) or has no spec is a
//     warning: VMT-012's specs run in the upgrade lanes, never in ga-readiness, so a single
//     ga-readiness run could otherwise never be READY;
//   - a failed suite-level node (BeforeSuite, AfterSuite) blocks GA;
//   - a P2 (or scale) failure is a warning: READY, but the report says so.
//
// Only scenarios that count towards GA (ScenarioInfo.GARelevant) can block. The manual
// checklist items (documentation review, QE sign-off) never change the verdict; the
// report lists them as needing a human.
type Verdict struct {
	Ready    bool     `json:"ready"`
	Blockers []string `json:"blockers,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// String is "READY", "READY (with N warnings)" or "NOT READY".
func (v Verdict) String() string {
	switch {
	case !v.Ready:
		return "NOT READY"
	case len(v.Warnings) > 0:
		return fmt.Sprintf("READY (with %d warning%s)", len(v.Warnings), plural(len(v.Warnings)))
	}
	return "READY"
}

// ExitCode is 0 when READY, 1 when NOT READY.
func (v Verdict) ExitCode() int {
	if v.Ready {
		return 0
	}
	return 1
}

func verdict(a *Analysis) Verdict {
	var v Verdict
	for _, f := range a.SuiteFailures {
		v.Blockers = append(v.Blockers, "suite setup or teardown failed: "+f)
	}
	for _, s := range a.Scenarios {
		if !s.InScope {
			continue
		}
		why := scenarioProblem(s)
		if why == "" {
			continue
		}
		line := fmt.Sprintf("%s %s (%s) %s", s.Priority, s.ID, s.Title, why)
		switch {
		case s.GARelevant() && s.Priority == P0:
			v.Blockers = append(v.Blockers, line)
		case s.GARelevant() && s.State == ScenarioFailed:
			v.Blockers = append(v.Blockers, line)
		case s.GARelevant():
			v.Warnings = append(v.Warnings, line)
		case s.State == ScenarioFailed:
			v.Warnings = append(v.Warnings, line)
		}
	}
	if n := len(a.Unassigned); n > 0 {
		v.Warnings = append(v.Warnings, fmt.Sprintf("%d spec(s) carry no scenario id and are not traced (the catalogue check forbids this)", n))
	}
	v.Ready = len(v.Blockers) == 0
	return v
}

// scenarioProblem says what keeps a scenario from having passed, or "" when it passed.
func scenarioProblem(s ScenarioResult) string {
	n := s.Counts
	switch s.State {
	case ScenarioPassed, ScenarioOutOfScope:
		return ""
	case ScenarioNoSpec:
		return "has no spec"
	case ScenarioFailed:
		var failed []string
		for _, sp := range s.Specs {
			if sp.Outcome == OutcomeFailed {
				failed = append(failed, fmt.Sprintf("%q", sp.Text))
			}
		}
		return fmt.Sprintf("failed: %d of %d spec(s): %s", n.Failed, n.Total(), strings.Join(failed, "; "))
	case ScenarioPartial:
		return fmt.Sprintf("ran only in part: %d of %d spec(s) did not run (%s)", n.Total()-n.Ran(), n.Total(), notRunReasons(s.Specs))
	}
	return fmt.Sprintf("did not run: none of its %d spec(s) ran (%s)", n.Total(), notRunReasons(s.Specs))
}

// notRunReasons lists the distinct reasons the specs that did not run have.
func notRunReasons(specs []SpecResult) string {
	var reasons []string
	for _, sp := range specs {
		if sp.Outcome != OutcomePassed && sp.Outcome != OutcomeFailed && !slices.Contains(reasons, sp.Reason) {
			reasons = append(reasons, sp.Reason)
		}
	}
	return strings.Join(reasons, "; ")
}

// Checklist states.
const (
	ChecklistMet    = "met"
	ChecklistOpen   = "open"
	ChecklistManual = "manual" // needs a human; a run cannot show it
)

// ChecklistState is a GA checklist item with what this run shows about it.
type ChecklistState struct {
	ChecklistItem
	State    string `json:"state"`
	Evidence string `json:"evidence"`
}

// checklistStates derives the automatable checklist items from the run. Items the suite
// cannot judge (documentation review, QE sign-off) stay manual.
func checklistStates(c *ScenarioCatalogue, a *Analysis) []ChecklistState {
	var inScope, gaRelevant, noSpec, gaNoSpec []string
	for _, s := range a.Scenarios {
		if !s.InScope {
			continue
		}
		inScope = append(inScope, s.ID)
		if s.GARelevant() {
			gaRelevant = append(gaRelevant, s.ID)
		}
		if s.State == ScenarioNoSpec {
			noSpec = append(noSpec, s.ID)
			if s.GARelevant() {
				gaNoSpec = append(gaNoSpec, s.ID)
			}
		}
	}
	coverage := func(all, missing []string, what string) (string, string) {
		if len(missing) == 0 {
			return ChecklistMet, fmt.Sprintf("all %d %s scenarios have specs in the suite", len(all), what)
		}
		return ChecklistOpen, fmt.Sprintf("%d of %d %s scenarios have specs; without: %s", len(all)-len(missing), len(all), what, strings.Join(missing, " "))
	}
	var out []ChecklistState
	for _, item := range c.GAChecklist() {
		st := ChecklistState{ChecklistItem: item, State: ChecklistManual, Evidence: "needs a human; not shown by a test run"}
		switch item.ID {
		case "tests-defined":
			st.State, st.Evidence = coverage(inScope, noSpec, "in-scope")
		case "automation-merged":
			st.State, st.Evidence = coverage(gaRelevant, gaNoSpec, "P0/P1")
		case "ci-running":
			lane, provider := a.Run.Lane, a.Run.Provider
			if (lane == "nightly" || lane == "ga-readiness") && provider != "" && provider != "local" {
				st.State, st.Evidence = ChecklistMet, fmt.Sprintf("this report is a %s run against a %s cluster; wire it into the release CI job", lane, provider)
			} else {
				st.State, st.Evidence = ChecklistOpen, fmt.Sprintf("this run is lane %q on provider %q; CI evidence is a nightly or ga-readiness run against a real cluster", orNone(lane), orNone(provider))
			}
		}
		out = append(out, st)
	}
	return out
}

// ScaleTable renders the report entries named name ("scale:*"); values are JSON objects
// whose keys become columns.
type ScaleTable struct {
	Name    string     `json:"name"`
	Columns []string   `json:"columns"` // "spec" first, then the value's keys, sorted
	Rows    [][]string `json:"rows"`
}

// ScalePrefix is the prefix of the report entries the GA report shows as scale figures.
const ScalePrefix = "scale:"

func scaleTables(a *Analysis) []ScaleTable {
	type row struct {
		spec   string
		fields map[string]string
	}
	byName := map[string][]row{}
	keys := map[string]map[string]bool{}
	var specs []SpecResult
	for _, s := range a.Scenarios {
		specs = append(specs, s.Specs...)
	}
	specs = append(specs, a.Unassigned...)
	for _, sp := range specs {
		for _, e := range sp.Entries {
			if !strings.HasPrefix(e.Name, ScalePrefix) {
				continue
			}
			fields := map[string]string{}
			var obj map[string]any
			if err := json.Unmarshal([]byte(e.JSON), &obj); err == nil && obj != nil {
				for k, v := range obj {
					fields[k] = jsonCell(v)
				}
			} else {
				fields["value"] = e.Value
			}
			if keys[e.Name] == nil {
				keys[e.Name] = map[string]bool{}
			}
			for k := range fields {
				keys[e.Name][k] = true
			}
			label := sp.Text
			if sp.Scenario != "" {
				label = sp.Scenario + " " + sp.Text
			}
			byName[e.Name] = append(byName[e.Name], row{label, fields})
		}
	}
	var out []ScaleTable
	for name, rows := range byName {
		t := ScaleTable{Name: name, Columns: []string{"spec"}}
		var cols []string
		for k := range keys[name] {
			cols = append(cols, k)
		}
		sort.Strings(cols)
		t.Columns = append(t.Columns, cols...)
		for _, r := range rows {
			cells := []string{r.spec}
			for _, c := range cols {
				cells = append(cells, r.fields[c])
			}
			t.Rows = append(t.Rows, cells)
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func jsonCell(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func orNone(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
