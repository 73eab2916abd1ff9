package tiers

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestScenarioLabels(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want []string
	}{
		{"VMT-003", []string{"VMT-003", "tier1", "P0", "CNV-73392"}},
		{"VMT-006", []string{"VMT-006", "tier1", "P0", "CNV-73392", "requires-virtctl"}},
		{"VMT-014", []string{"VMT-014", "tier2", "P2", "CNV-73392", "CNV-97433", "disruptive", "requires-template-operator"}},
		{"VMT-024", []string{"VMT-024", "scale", "P2", "CNV-73392", "CNV-86058"}},
	} {
		r := &registry{}
		got := r.scenario(Catalogue(), tc.id, "x.go:1")
		if !slices.Equal(got, tc.want) {
			t.Errorf("Scenario(%s) = %v, want %v", tc.id, got, tc.want)
		}
		if errs := r.errors(); len(errs) > 0 {
			t.Errorf("Scenario(%s) recorded %v", tc.id, errs)
		}
	}
}

func TestExportedHelpersOnGoodInput(t *testing.T) {
	before := len(RegistrationErrors())
	if got := Scenario("VMT-001"); !slices.Equal([]string(got), []string{"VMT-001", "tier1", "P0", "CNV-73392"}) {
		t.Errorf("Scenario = %v", got)
	}
	if got := Requires(RequiresGuest, RequiresVirtctl); !slices.Equal([]string(got), []string{RequiresGuest, RequiresVirtctl}) {
		t.Errorf("Requires = %v", got)
	}
	if got := Behaviour(UpgradePre); !slices.Equal([]string(got), []string{UpgradePre}) {
		t.Errorf("Behaviour = %v", got)
	}
	if after := RegistrationErrors(); len(after) != before || len(after) != 0 {
		t.Errorf("good calls recorded errors: %v", after)
	}
}

func TestUnknownScenarioIsRecordedNotPanicked(t *testing.T) {
	r := &registry{}
	got := r.scenario(Catalogue(), "VMT-099", "tests/process.go:12")
	if !slices.Equal(got, []string{InvalidScenario}) {
		t.Errorf("labels = %v, want only the sentinel", got)
	}
	errs := r.errors()
	if len(errs) != 1 {
		t.Fatalf("errors = %v", errs)
	}
	msg := errs[0].Error()
	for _, want := range []string{"tests/process.go:12", `Scenario("VMT-099")`, "unknown scenario id", "VMT-001", "VMT-024"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, "VMT-018") {
		t.Errorf("want one line listing in-scope ids only: %q", msg)
	}
	// Junk that ginkgo would reject as a label never reaches ginkgo.
	if got := r.scenario(Catalogue(), "VMT/003 || x", "a.go:1"); !slices.Equal(got, []string{InvalidScenario}) {
		t.Errorf("labels = %v", got)
	}
}

func TestOutOfScopeScenarioIsRecorded(t *testing.T) {
	r := &registry{}
	got := r.scenario(Catalogue(), "VMT-018", "a.go:3")
	if !slices.Equal(got, []string{"VMT-018", InvalidScenario}) {
		t.Errorf("labels = %v", got)
	}
	if msg := r.errors()[0].Error(); !strings.Contains(msg, "out of scope") || !strings.Contains(msg, "entry criterion") {
		t.Errorf("message %q should say why it is out of scope", msg)
	}
}

func TestRequiresAndBehaviourValidateNames(t *testing.T) {
	r := &registry{}
	got := r.labels(Catalogue(), "Requires", kindCapability, []string{RequiresGuest, "requires-gpu", "Requires-Guest", "tier1"}, "a.go:7")
	if !slices.Equal(got, []string{RequiresGuest, InvalidLabel, InvalidLabel, InvalidLabel}) {
		t.Errorf("labels = %v", got)
	}
	got = r.labels(Catalogue(), "Behaviour", kindBehaviour, []string{"serial", UpgradePost, Disruptive, RequiresGuest}, "a.go:8")
	if !slices.Equal(got, []string{InvalidLabel, UpgradePost, Disruptive, InvalidLabel}) {
		t.Errorf("labels = %v", got)
	}
	var msgs []string
	for _, e := range r.errors() {
		msgs = append(msgs, e.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`a\.go:7: tiers\.Requires\("requires-gpu"\): not one of: requires-guest .* requires-hco`),
		regexp.MustCompile(`Requires\("Requires-Guest"\): did you mean "requires-guest"\?`),
		regexp.MustCompile(`Behaviour\("serial"\): use ginkgo's Serial decorator`),
		regexp.MustCompile(`Behaviour\("requires-guest"\): not one of: upgrade-pre upgrade-post disruptive`),
	} {
		if !want.MatchString(all) {
			t.Errorf("errors lack %v:\n%s", want, all)
		}
	}
}

func TestRegistrationErrorsAreDeduplicated(t *testing.T) {
	r := &registry{}
	for range 3 {
		r.scenario(Catalogue(), "VMT-099", "loop.go:5")
	}
	if n := len(r.errors()); n != 1 {
		t.Errorf("%d errors, want 1", n)
	}
}

func TestCallerLocationNamesTheSpecFile(t *testing.T) {
	loc := func() string { return callerLocation() }() // helper frame, then this test
	if !regexp.MustCompile(`^tiers/register_test\.go:\d+$`).MatchString(loc) {
		t.Errorf("location %q", loc)
	}
}
