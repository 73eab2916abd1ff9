package tiers

import (
	"fmt"
	"strings"
	"testing"
)

// spec builds a synthetic spec whose labels are what tiers.Scenario(id) gives plus extra.
func spec(t *testing.T, id string, extra ...string) SpecInfo {
	t.Helper()
	s := SpecInfo{Text: "spec of " + id, Location: "tests/x.go:1"}
	if id != "" {
		s.Labels = specLabels(t, id, extra...)
	} else {
		s.Labels = extra
	}
	return s
}

// oneSpecPerScenario covers every in-scope scenario correctly.
func oneSpecPerScenario(t *testing.T) []SpecInfo {
	var out []SpecInfo
	for _, s := range Catalogue().InScope() {
		sp := spec(t, s.ID)
		if s.ID == "VMT-014" || s.ID == "VMT-015" {
			sp.Labels, sp.Serial = append(sp.Labels, Serial), true
		}
		if s.ID == "VMT-012" {
			sp.Labels = append(sp.Labels, UpgradePre)
		}
		out = append(out, sp)
	}
	return out
}

func TestCheckPassesACompleteSuite(t *testing.T) {
	specs := oneSpecPerScenario(t)
	res := CheckCatalogue(specs, true)
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if len(res.Uncovered) != 0 || len(res.Covered) != 25 || res.Specs != 25 {
		t.Errorf("uncovered %v, covered %v", res.Uncovered, res.Covered)
	}
}

func TestCheckCoverageReportsOrFails(t *testing.T) {
	specs := oneSpecPerScenario(t)[2:] // drop VMT-001 and VMT-002
	specs[0].Pending = true            // VMT-003 only pending: not covered
	lenient := CheckCatalogue(specs, false)
	if lenient.Err() != nil {
		t.Errorf("lenient check failed: %v", lenient.Err())
	}
	if got := strings.Join(lenient.Uncovered, " "); got != "VMT-001 VMT-002 VMT-003" {
		t.Errorf("uncovered = %q", got)
	}
	if !strings.Contains(lenient.Summary(), "uncovered (reported, not failing: strict coverage is off): VMT-001 VMT-002 VMT-003") {
		t.Errorf("summary:\n%s", lenient.Summary())
	}
	strict := CheckCatalogue(specs, true)
	if err := strict.Err(); err == nil || !strings.Contains(err.Error(), "without a runnable spec: VMT-001 VMT-002 VMT-003") {
		t.Errorf("strict err = %v", err)
	}
}

func TestCheckEmptySuite(t *testing.T) {
	res := CheckCatalogue(nil, false)
	if res.Err() != nil || len(res.Uncovered) != 25 {
		t.Errorf("err %v, uncovered %v", res.Err(), res.Uncovered)
	}
}

func TestCheckFindsBadSpecs(t *testing.T) {
	serialOK := func(s SpecInfo) SpecInfo { s.Labels = append(s.Labels, Serial); s.Serial = true; return s }
	for _, tc := range []struct {
		name string
		spec SpecInfo
		want string
	}{
		{"no scenario", spec(t, "", "tier1", "P0"), "has no scenario id"},
		{"two scenarios", spec(t, "VMT-003", "VMT-004"), "has 2 scenario ids (VMT-003 VMT-004)"},
		{"unknown label", spec(t, "VMT-003", "conformance"), `unknown label "conformance"; known labels: tiers tier1`},
		{"wrong case", spec(t, "VMT-003", "serial"), `unknown label "serial": did you mean "Serial"?`},
		{"sentinel", spec(t, "", InvalidScenario), "see tiers.RegistrationErrors()"},
		{"out of scope", spec(t, "", "VMT-022", "CNV-73392"), "claims out-of-scope scenario VMT-022 (out of this suite's scope"},
		{"extra tier", spec(t, "VMT-003", "tier2"), "tier labels [tier1 tier2], scenario VMT-003 is tier1"},
		{"missing priority", SpecInfo{Text: "x", Location: "l", Labels: []string{"VMT-003", "tier1", "CNV-73392"}}, "priority labels [], scenario VMT-003 is P0"},
		{"foreign Jira", spec(t, "VMT-003", "CNV-97433"), "Jira labels [CNV-73392 CNV-97433], scenario VMT-003 has [CNV-73392]"},
		{"hand-written id lacks capability", SpecInfo{Text: "x", Location: "l", Labels: []string{"VMT-006", "tier1", "P0", "CNV-73392"}}, `lacks requires-virtctl, which every spec of VMT-006 needs; use tiers.Scenario("VMT-006")`},
		{"gate toggle not Serial", spec(t, "VMT-014"), "every spec of VMT-014 must be decorated with ginkgo's Serial"},
		{"gate toggle without disruptive", serialOK(SpecInfo{Text: "x", Location: "l", Labels: []string{"VMT-015", "tier2", "P2", "CNV-73392", "CNV-97433", RequiresTemplateOperator}}), "lacks disruptive"},
		{"Serial label by hand", spec(t, "VMT-003", Serial), "Serial label without ginkgo's Serial decorator"},
		{"both upgrade phases", spec(t, "VMT-012", UpgradePre, UpgradePost), "belongs to one phase"},
		{"foreign test id", SpecInfo{Text: "[test_id:CNV-16320] VM after re-enable", Location: "l", Labels: specLabels(t, "VMT-012", UpgradePost)}, "[test_id:CNV-16320] is not a Polarion id of VMT-012"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := CheckCatalogue([]SpecInfo{tc.spec}, false)
			if err := fmt.Sprint(res.Problems); !strings.Contains(err, tc.want) {
				t.Errorf("problems %s\nwant one containing %q", err, tc.want)
			}
		})
	}
}

func TestCheckAcceptsGoodVariants(t *testing.T) {
	upgrade := spec(t, "VMT-012", UpgradePost, RequiresSnapshotStorage)
	upgrade.Text = "VMT-012 post-upgrade [test_id:CNV-16818] keeps templates Ready"
	dup := spec(t, "VMT-003", "tier1") // a repeated tier label is harmless
	res := CheckCatalogue([]SpecInfo{upgrade, dup}, false)
	if err := res.Err(); err != nil {
		t.Error(err)
	}
	if res.Covered["VMT-012"] != 1 || res.Covered["VMT-003"] != 1 {
		t.Errorf("covered = %v", res.Covered)
	}
}
