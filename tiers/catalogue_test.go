package tiers

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestEmbeddedCatalogueLoadsCleanly(t *testing.T) {
	for _, err := range catalogueErrs {
		t.Error(err)
	}
	var want []string
	for i := 1; i <= 30; i++ {
		want = append(want, fmt.Sprintf("VMT-%03d", i))
	}
	if got := ScenarioIDs(); !slices.Equal(got, want) {
		t.Fatalf("scenario ids = %v, want VMT-001…VMT-030", got)
	}
}

func TestScopeDecisions(t *testing.T) {
	out := map[string]bool{"VMT-017": true, "VMT-018": true, "VMT-019": true, "VMT-020": true, "VMT-022": true}
	for _, s := range Catalogue().Scenarios() {
		if s.InScope == out[s.ID] {
			t.Errorf("%s: inScope = %v", s.ID, s.InScope)
		}
		if !s.InScope && s.Reason == "" {
			t.Errorf("%s: out of scope without a reason", s.ID)
		}
	}
	if n := len(Catalogue().InScope()); n != 25 {
		t.Errorf("%d in-scope scenarios, want 25", n)
	}
}

func TestEveryScenarioTracesToTheEpic(t *testing.T) {
	if got := Catalogue().STP().Jira; got != JiraEpic {
		t.Errorf("stp.jira = %s, want %s", got, JiraEpic)
	}
	for _, s := range Catalogue().Scenarios() {
		if len(s.Jira) == 0 || s.Jira[0] != JiraEpic {
			t.Errorf("%s: jira %v does not start with %s", s.ID, s.Jira, JiraEpic)
		}
	}
}

func TestPolarionIDsFromTheSTP(t *testing.T) {
	want := map[string][]string{
		"VMT-004": {"CNV-16314"},
		"VMT-012": {"CNV-16817", "CNV-16818", "CNV-16819", "CNV-16821", "CNV-16822"},
		"VMT-013": {"CNV-16314", "CNV-16315"},
		"VMT-014": {"CNV-16316", "CNV-16317", "CNV-16318", "CNV-16319"},
		"VMT-015": {"CNV-16320", "CNV-16321"},
	}
	for _, s := range Catalogue().Scenarios() {
		if !slices.Equal(s.Polarion, want[s.ID]) {
			t.Errorf("%s: polarion %v, want %v", s.ID, s.Polarion, want[s.ID])
		}
	}
}

func TestScenarioFields(t *testing.T) {
	for _, tc := range []struct {
		id, tier, prio string
		requires       []string
	}{
		{"VMT-001", Tier1, P0, nil},
		{"VMT-002", Tier1, P0, nil},
		{"VMT-006", Tier1, P0, []string{RequiresVirtctl}},
		{"VMT-007", Tier1, P1, []string{RequiresVirtctl}},
		{"VMT-010", Tier3, P1, []string{RequiresWindowsImage}},
		{"VMT-012", Tier2, P1, nil},
		{"VMT-014", Tier2, P2, []string{RequiresTemplateOperator}},
		{"VMT-016", Tier1, P0, nil},
		{"VMT-024", Scale, P2, nil},
		{"VMT-030", Scale, P2, []string{RequiresMonitoring}},
	} {
		s, ok := Catalogue().Lookup(tc.id)
		if !ok {
			t.Fatalf("%s missing", tc.id)
		}
		if s.Tier != tc.tier || s.Priority != tc.prio || !slices.Equal(s.Requires, tc.requires) {
			t.Errorf("%s: tier %s priority %s requires %v; want %s %s %v", tc.id, s.Tier, s.Priority, s.Requires, tc.tier, tc.prio, tc.requires)
		}
	}
	s, _ := Catalogue().Lookup("VMT-024")
	if !s.InScope || !slices.Contains(s.Jira, "CNV-86058") || !strings.Contains(s.Note, "5.0.1") {
		t.Errorf("VMT-024 must be in scope, trace CNV-86058 and explain the 5.0.1 plan: %+v", s)
	}
}

func TestGARelevant(t *testing.T) {
	var got []string
	for _, s := range Catalogue().Scenarios() {
		if s.GARelevant() {
			got = append(got, s.ID)
		}
	}
	want := []string{"VMT-001", "VMT-002", "VMT-003", "VMT-004", "VMT-005", "VMT-006", "VMT-007", "VMT-008", "VMT-009", "VMT-010", "VMT-012", "VMT-016", "VMT-021", "VMT-023", "VMT-025", "VMT-029"}
	if !slices.Equal(got, want) {
		t.Errorf("GA-relevant = %v\nwant %v", got, want)
	}
	if n := len(Catalogue().GAChecklist()); n != 5 {
		t.Errorf("GA checklist has %d items, want the STP's 5", n)
	}
}

func TestAccessorsReturnCopies(t *testing.T) {
	s, _ := Catalogue().Lookup("VMT-012")
	s.Polarion[0] = "mutated"
	Catalogue().Scenarios()[0].Jira[0] = "mutated"
	Tiers()[0] = "mutated"
	again, _ := Catalogue().Lookup("VMT-012")
	if again.Polarion[0] != "CNV-16817" || Catalogue().Scenarios()[0].Jira[0] != JiraEpic || Tiers()[0] != Tier1 {
		t.Error("accessors leak the catalogue's slices")
	}
}

func TestLoadReportsEveryProblemWithoutPanicking(t *testing.T) {
	const head = "stp: {jira: CNV-1}\nscenarios:\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"not yaml", "scenarios: [", "scenarios.yaml"},
		{"unknown field", head + "  - {id: VMT-001, titel: x}\n", "unknown field"},
		{"bad id", head + "  - {id: VMT-1, title: t, story: s, jira: [CNV-1], source: {section: x, origin: y}}\n", `"VMT-1" does not match`},
		{"duplicate", head + strings.Repeat("  - {id: VMT-001, title: t, story: s, jira: [CNV-1], tier: tier1, priority: P0, inScope: true, source: {section: x, origin: y}}\n", 2), "duplicate scenario id"},
		{"jira without epic", head + "  - {id: VMT-001, title: t, story: s, jira: [CNV-2], tier: tier1, priority: P0, inScope: true, source: {section: x, origin: y}}\n", "must start with the STP key"},
		{"bad tier", head + "  - {id: VMT-001, title: t, story: s, jira: [CNV-1], tier: tier9, priority: P0, inScope: true, source: {section: x, origin: y}}\n", `tier "tier9"`},
		{"in scope without priority", head + "  - {id: VMT-001, title: t, story: s, jira: [CNV-1], tier: tier1, inScope: true, source: {section: x, origin: y}}\n", "needs a tier and a priority"},
		{"out of scope without reason", head + "  - {id: VMT-001, title: t, story: s, jira: [CNV-1], source: {section: x, origin: y}}\n", "needs a reason"},
		{"bad capability", head + "  - {id: VMT-001, title: t, story: s, jira: [CNV-1], tier: tier1, priority: P0, inScope: true, requires: [requires-gpu], source: {section: x, origin: y}}\n", `"requires-gpu" is not a capability`},
		{"upgrade as scenario behaviour", head + "  - {id: VMT-001, title: t, story: s, jira: [CNV-1], tier: tier1, priority: P0, inScope: true, behaviour: [upgrade-pre], source: {section: x, origin: y}}\n", "only Serial and disruptive"},
		{"jira that is no label", head + "  - {id: VMT-001, title: t, story: s, jira: [CNV-1, 'CNV/2'], tier: tier1, priority: P0, inScope: true, source: {section: x, origin: y}}\n", `"CNV/2" is not a Jira key`},
		{"polarion shaped like a used Jira key", head + "  - {id: VMT-001, title: t, story: s, jira: [CNV-1], polarion: [CNV-1], tier: tier1, priority: P0, inScope: true, source: {section: x, origin: y}}\n", "both a Jira key and a Polarion id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, errs := load([]byte(tc.yaml))
			if c == nil {
				t.Fatal("load returned no catalogue")
			}
			if !strings.Contains(fmt.Sprint(errs), tc.want) {
				t.Errorf("errors %v, want one containing %q", errs, tc.want)
			}
		})
	}
}
