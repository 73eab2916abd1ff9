package tiers

import (
	"slices"
	"strings"
	"testing"
)

func TestVocabularyLabelsAreValidAndDistinctIgnoringCase(t *testing.T) {
	seen := map[string]string{}
	for _, l := range Vocabulary() {
		if !validLabel(l) {
			t.Errorf("%q is not a valid ginkgo label", l)
		}
		// ginkgo's label filters ignore case, so two labels differing only in case
		// could not be told apart by a lane.
		if other, dup := seen[strings.ToLower(l)]; dup {
			t.Errorf("%q and %q differ only in case", l, other)
		}
		seen[strings.ToLower(l)] = l
	}
	for _, l := range []string{InvalidScenario, InvalidLabel} {
		if !validLabel(l) {
			t.Errorf("sentinel %q is not a valid ginkgo label", l)
		}
	}
}

func TestTheFixedVocabulary(t *testing.T) {
	for _, tc := range []struct {
		got, want []string
	}{
		{Tiers(), []string{"tier1", "tier2", "tier3", "scale"}},
		{Priorities(), []string{"P0", "P1", "P2"}},
		{Capabilities(), []string{"requires-guest", "requires-windows-image", "requires-snapshot-storage", "requires-openshift", "requires-virtctl", "requires-template-operator", "requires-hco", "requires-v1beta1", "requires-monitoring"}},
		{Behaviours(), []string{"Serial", "upgrade-pre", "upgrade-post", "disruptive"}},
		{JiraKeys(), []string{"CNV-67254", "CNV-73392", "CNV-86058", "CNV-97433"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("got %v, want %v", tc.got, tc.want)
		}
	}
}

func TestKnown(t *testing.T) {
	for _, l := range []string{"tier1", "scale", "P2", "VMT-001", "VMT-018", "VMT-024", "VMT-028", "CNV-73392", "CNV-97433", "requires-hco", "Serial", "upgrade-post", "disruptive"} {
		if !Known(l) {
			t.Errorf("Known(%q) = false", l)
		}
	}
	for _, l := range []string{"", "serial", "Tier1", "p0", "VMT-099", "vmt-001", "CNV-16314", "requires-kind", "requires-gpu", InvalidScenario, InvalidLabel, "conformance"} {
		if Known(l) {
			t.Errorf("Known(%q) = true", l)
		}
	}
}

func TestKnownErrorMessageNamesTheSet(t *testing.T) {
	msg := Catalogue().describeVocabulary()
	for _, want := range []string{"tier1 tier2 tier3 scale", "P0 P1 P2", "VMT-001…VMT-030", "CNV-73392", "requires-guest", "upgrade-pre"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
}
