package tiers

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"sort"

	"github.com/onsi/ginkgo/v2/types"
	"sigs.k8s.io/yaml"
)

//go:embed scenarios.yaml
var scenariosYAML []byte

// defaultCatalogue is scenarios.yaml, loaded once. A broken file never panics: its
// problems become registration errors and every tiers.Scenario call then fails visibly.
var defaultCatalogue, catalogueErrs = load(scenariosYAML)

// ScenarioInfo is one catalogue entry. Slices are copies; changing them changes nothing.
type ScenarioInfo struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Story string `json:"story"`
	// Jira keys; the first is always the STP's trace key (JiraEpic). All become labels.
	Jira []string `json:"jira"`
	// Polarion test-case ids. Not labels (too many, and shaped like Jira keys): reports
	// emit them as properties of every spec of the scenario; a spec may name the one it
	// implements with "[test_id:CNV-NNNNN]" in its text (checked by CheckCatalogue).
	Polarion []string `json:"polarion,omitempty"`
	Tier     string   `json:"tier,omitempty"`
	Priority string   `json:"priority,omitempty"`
	InScope  bool     `json:"inScope"`
	// Reason is why an out-of-scope scenario is out.
	Reason string `json:"reason,omitempty"`
	// Requires lists the capabilities every spec of the scenario needs.
	Requires []string `json:"requires,omitempty"`
	// Behaviour lists what every spec must carry: Disruptive is added by tiers.Scenario,
	// Serial must come from ginkgo's Serial decorator and is checked.
	Behaviour []string `json:"behaviour,omitempty"`
	Source    Source   `json:"source"`
	Note      string   `json:"note,omitempty"`
}

// Source says where a scenario comes from.
type Source struct {
	Section string `json:"section"`           // section of stp-scenarios.md
	Origin  string `json:"origin"`            // merged STP, draft, NFR, ...
	DraftID string `json:"draftId,omitempty"` // the drafts' VEP76-* id
}

// STPInfo identifies the test plan the catalogue traces to.
type STPInfo struct {
	Title    string `json:"title"`
	Jira     string `json:"jira"`
	Feature  string `json:"feature"`
	Document string `json:"document"`
	Revision string `json:"revision"`
}

// ChecklistItem is one line of the STP's GA sign-off checklist.
type ChecklistItem struct {
	ID         string `json:"id"`
	Item       string `json:"item"`
	STPChecked bool   `json:"stpChecked"` // its state in the merged STP
}

// ScenarioCatalogue is the loaded scenarios.yaml. Obtain it with Catalogue().
type ScenarioCatalogue struct {
	stp       STPInfo
	checklist []ChecklistItem
	scenarios []ScenarioInfo // sorted by id
	byID      map[string]int
	jira      []string // every Jira key used, sorted
}

// Catalogue returns the embedded catalogue.
func Catalogue() *ScenarioCatalogue { return defaultCatalogue }

// Lookup returns the scenario with the given id.
func (c *ScenarioCatalogue) Lookup(id string) (ScenarioInfo, bool) {
	i, ok := c.byID[id]
	if !ok {
		return ScenarioInfo{}, false
	}
	return c.scenarios[i].clone(), true
}

// Scenarios returns every scenario, in and out of scope, sorted by id.
func (c *ScenarioCatalogue) Scenarios() []ScenarioInfo {
	out := make([]ScenarioInfo, len(c.scenarios))
	for i, s := range c.scenarios {
		out[i] = s.clone()
	}
	return out
}

// InScope returns the in-scope scenarios, sorted by id.
func (c *ScenarioCatalogue) InScope() []ScenarioInfo {
	var out []ScenarioInfo
	for _, s := range c.scenarios {
		if s.InScope {
			out = append(out, s.clone())
		}
	}
	return out
}

// STP identifies the test plan.
func (c *ScenarioCatalogue) STP() STPInfo { return c.stp }

// GAChecklist returns the STP's GA sign-off checklist.
func (c *ScenarioCatalogue) GAChecklist() []ChecklistItem { return slices.Clone(c.checklist) }

// GARelevant reports whether the scenario's results count towards the GA-readiness
// verdict: in scope, P0 or P1, not scale. Unlike the ga-readiness lane this includes
// VMT-012, whose specs run in the upgrade lanes.
func (s ScenarioInfo) GARelevant() bool {
	return s.InScope && (s.Priority == P0 || s.Priority == P1) && s.Tier != Scale
}

// Labels returns the labels tiers.Scenario attaches for this scenario: id, tier,
// priority, Jira keys, the scenario-wide behaviour labels except Serial, and required
// capabilities.
func (s ScenarioInfo) Labels() []string {
	out := []string{s.ID}
	if s.Tier != "" {
		out = append(out, s.Tier)
	}
	if s.Priority != "" {
		out = append(out, s.Priority)
	}
	out = append(out, s.Jira...)
	for _, b := range s.Behaviour {
		if b != Serial {
			out = append(out, b)
		}
	}
	return append(out, s.Requires...)
}

func (s ScenarioInfo) clone() ScenarioInfo {
	s.Jira = slices.Clone(s.Jira)
	s.Polarion = slices.Clone(s.Polarion)
	s.Requires = slices.Clone(s.Requires)
	s.Behaviour = slices.Clone(s.Behaviour)
	return s
}

type catalogueFile struct {
	STP         STPInfo         `json:"stp"`
	GAChecklist []ChecklistItem `json:"gaChecklist"`
	Scenarios   []ScenarioInfo  `json:"scenarios"`
}

var (
	idPattern       = regexp.MustCompile(`^VMT-[0-9]{3}$`)
	issueKeyPattern = regexp.MustCompile(`^[A-Z][A-Z0-9]+-[0-9]+$`)
)

// load parses and validates a catalogue. It always returns a usable catalogue (possibly
// empty); everything wrong is in the errors, one per problem.
func load(data []byte) (*ScenarioCatalogue, []error) {
	c := &ScenarioCatalogue{byID: map[string]int{}}
	var f catalogueFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return c, []error{fmt.Errorf("tiers: scenarios.yaml: %w", err)}
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("tiers: scenarios.yaml: "+format, args...))
	}

	c.stp, c.checklist = f.STP, f.GAChecklist
	if !issueKeyPattern.MatchString(f.STP.Jira) {
		bad("stp.jira %q is not a Jira key", f.STP.Jira)
	}
	polarion := map[string]bool{}
	jira := map[string]bool{}
	for _, s := range f.Scenarios {
		where := s.ID
		switch {
		case !idPattern.MatchString(s.ID):
			bad("scenario id %q does not match VMT-NNN", s.ID)
			continue
		case slices.ContainsFunc(c.scenarios, func(o ScenarioInfo) bool { return o.ID == s.ID }):
			bad("%s: duplicate scenario id", where)
			continue
		}
		if s.Title == "" || s.Story == "" || s.Source.Section == "" || s.Source.Origin == "" {
			bad("%s: title, story, source.section and source.origin are required", where)
		}
		if len(s.Jira) == 0 || s.Jira[0] != f.STP.Jira {
			bad("%s: jira must start with the STP key %s", where, f.STP.Jira)
		}
		for _, k := range s.Jira {
			if !issueKeyPattern.MatchString(k) || !validLabel(k) {
				bad("%s: jira %q is not a Jira key", where, k)
			}
			jira[k] = true
		}
		for _, p := range s.Polarion {
			if !issueKeyPattern.MatchString(p) {
				bad("%s: polarion %q is not a Polarion id", where, p)
			}
			polarion[p] = true
		}
		if s.Tier != "" && !slices.Contains(tierLabels, s.Tier) {
			bad("%s: tier %q not one of %v", where, s.Tier, tierLabels)
		}
		if s.Priority != "" && !slices.Contains(priorityLabels, s.Priority) {
			bad("%s: priority %q not one of %v", where, s.Priority, priorityLabels)
		}
		if s.InScope {
			if s.Tier == "" || s.Priority == "" {
				bad("%s: an in-scope scenario needs a tier and a priority", where)
			}
			if s.Reason != "" {
				bad("%s: reason is only for out-of-scope scenarios", where)
			}
		} else if s.Reason == "" {
			bad("%s: an out-of-scope scenario needs a reason", where)
		}
		for _, r := range s.Requires {
			if !slices.Contains(capabilityLabels, r) {
				bad("%s: requires %q is not a capability (%v)", where, r, capabilityLabels)
			}
		}
		if hasDuplicates(s.Requires) || hasDuplicates(s.Jira) || hasDuplicates(s.Polarion) {
			bad("%s: duplicate entries in jira, polarion or requires", where)
		}
		for _, b := range s.Behaviour {
			if b != Serial && b != Disruptive {
				bad("%s: behaviour %q: only %s and %s apply to a whole scenario", where, b, Serial, Disruptive)
			}
		}
		c.byID[s.ID] = len(c.scenarios)
		c.scenarios = append(c.scenarios, s)
	}
	for p := range polarion {
		if jira[p] {
			bad("%s is both a Jira key and a Polarion id", p)
		}
	}
	for k := range jira {
		c.jira = append(c.jira, k)
	}
	sort.Strings(c.jira)
	sort.Slice(c.scenarios, func(i, j int) bool { return c.scenarios[i].ID < c.scenarios[j].ID })
	for i, s := range c.scenarios {
		c.byID[s.ID] = i
	}
	return c, errs
}

// validLabel reports whether ginkgo accepts s as a label as it is (ginkgo trims
// whitespace and rejects & | ! , ( ) / and a leading or dangling ':').
func validLabel(s string) bool {
	out, err := types.ValidateAndCleanupLabel(s, types.CodeLocation{})
	return err == nil && out == s
}

func hasDuplicates(xs []string) bool {
	seen := map[string]bool{}
	for _, x := range xs {
		if seen[x] {
			return true
		}
		seen[x] = true
	}
	return false
}
