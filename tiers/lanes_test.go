package tiers

import (
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

func TestEveryLaneParses(t *testing.T) {
	for _, l := range Lanes() {
		if _, err := types.ParseLabelFilter(l.Expr); err != nil {
			t.Errorf("lane %s: %q: %v", l.Name, l.Expr, err)
		}
		for _, word := range strings.FieldsFunc(l.Expr, func(r rune) bool { return strings.ContainsRune("()!&| ", r) }) {
			if !Known(word) {
				t.Errorf("lane %s uses %q, which is not in the vocabulary", l.Name, word)
			}
		}
	}
	want := []string{"tier1", "tier2", "tier3", "nightly", "ga-readiness", "hermetic", "upgrade-pre", "upgrade-post", "scale"}
	if !slices.Equal(LaneNames(), want) {
		t.Errorf("lanes = %v, want %v", LaneNames(), want)
	}
}

// specLabels is what a spec of scenario id carries, plus extra spec-level labels.
func specLabels(t *testing.T, id string, extra ...string) []string {
	t.Helper()
	s, ok := Catalogue().Lookup(id)
	if !ok {
		t.Fatalf("no %s", id)
	}
	return append(s.Labels(), extra...)
}

func TestLanesSelectWhatTheyShould(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels []string
		lanes  []string
	}{
		{"tier1 P0 API spec", specLabels(t, "VMT-003"), []string{"tier1", "nightly", "ga-readiness", "hermetic"}},
		{"tier1 P0 guest spec", specLabels(t, "VMT-001", RequiresGuest), []string{"tier1", "nightly", "ga-readiness", "hermetic"}},
		{"tier1 P1 CLI spec", specLabels(t, "VMT-007", RequiresOpenShift), []string{"tier1", "nightly", "ga-readiness", "hermetic"}},
		{"tier1 P2 cross-namespace", specLabels(t, "VMT-011"), []string{"tier1", "nightly", "hermetic"}},
		{"tier3 P1 Windows", specLabels(t, "VMT-010", RequiresGuest), []string{"tier3", "ga-readiness"}},
		{"tier2 P2 admission", specLabels(t, "VMT-013"), []string{"tier2", "nightly", "hermetic"}},
		{"tier2 P2 disruptive Serial gate toggle", specLabels(t, "VMT-014", Serial), []string{"tier2", "nightly", "hermetic"}},
		{"upgrade pre phase", specLabels(t, "VMT-012", UpgradePre), []string{"upgrade-pre"}},
		{"upgrade post phase", specLabels(t, "VMT-012", UpgradePost, RequiresSnapshotStorage), []string{"upgrade-post"}},
		{"scale", specLabels(t, "VMT-024"), []string{"scale"}},
		{"no labels", nil, nil},
	} {
		var got []string
		for _, l := range Lanes() {
			if types.MustParseLabelFilter(l.Expr)(tc.labels) {
				got = append(got, l.Name)
			}
		}
		if !slices.Equal(got, tc.lanes) {
			t.Errorf("%s %v: selected by %v, want %v", tc.name, tc.labels, got, tc.lanes)
		}
	}
}

func TestLaneUnknownNamesTheKnownLanes(t *testing.T) {
	if _, err := Lane("tier4"); err == nil || !strings.Contains(err.Error(), "tier1 tier2 tier3 nightly ga-readiness hermetic upgrade-pre upgrade-post scale") {
		t.Errorf("err = %v", err)
	}
	if _, err := LabelFilter("nope", nil); err == nil {
		t.Error("LabelFilter accepted an unknown lane")
	}
}

func TestLabelFilter(t *testing.T) {
	got, err := LabelFilter("hermetic", []string{RequiresWindowsImage, RequiresGuest, RequiresGuest})
	if err != nil {
		t.Fatal(err)
	}
	hermetic, _ := Lane("hermetic")
	if want := "(" + hermetic + ") && !requires-guest && !requires-windows-image"; got != want {
		t.Errorf("filter = %q, want %q", got, want)
	}
	f := types.MustParseLabelFilter(got)
	if f(specLabels(t, "VMT-001", RequiresGuest)) {
		t.Error("guest spec selected on a cluster without guests")
	}
	if !f(specLabels(t, "VMT-001")) {
		t.Error("API-level spec of the same scenario not selected")
	}
	if f(specLabels(t, "VMT-010")) {
		t.Error("Windows scenario selected without a Windows image (and outside its tier)")
	}

	if got, _ := LabelFilter("tier1", nil); got != "tier1 && !upgrade-pre && !upgrade-post" {
		t.Errorf("nothing missing: %q", got)
	}
	_, err = LabelFilter("nightly", []string{"requires-gpu"})
	if err == nil || !strings.Contains(err.Error(), `"requires-gpu" is not a capability`) || !strings.Contains(err.Error(), RequiresHCO) {
		t.Errorf("err = %v", err)
	}
	if _, err := LabelFilter("nightly", []string{"tier1"}); err == nil {
		t.Error("a tier passed as a missing capability")
	}
}
