package cluster

import (
	"slices"
	"strings"
	"testing"

	"github.com/vmt-conformance/vmt-conformance/tiers"
)

func TestOverrideAndRoundTrip(t *testing.T) {
	cs := NewCapabilities()
	cs.Set(Guest, true, "virt-handler ready")
	if err := cs.Override("-guest, +virtctl,requires-openshift"); err != nil {
		t.Fatal(err)
	}
	if cs.Has(Guest) || !cs.Has(Virtctl) || !cs.Has(OpenShift) {
		t.Fatalf("overrides not applied: offered %v", cs.Offered())
	}
	back, err := DecodeCapabilities(cs.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Offered(), cs.Offered()) || back.Reason(Virtctl) != cs.Reason(Virtctl) {
		t.Fatalf("round trip changed the set: %v vs %v", back.Offered(), cs.Offered())
	}
	if !slices.Contains(back.Missing(), Guest) {
		t.Fatalf("guest should be missing, got %v", back.Missing())
	}
}

func TestBadInputIsRefused(t *testing.T) {
	if err := NewCapabilities().Override("+wings"); err == nil || !strings.Contains(err.Error(), `unknown capability "wings"`) {
		t.Fatalf("want unknown capability error, got %v", err)
	}
	if _, err := DecodeCapabilities("guest"); err == nil {
		t.Fatal("want malformed entry error")
	}
}

// The provider's capabilities and the tiers vocabulary's capability labels are the same set.
func TestCapabilitiesMatchTheLabelVocabulary(t *testing.T) {
	var got []string
	for _, c := range All {
		got = append(got, c.Label())
	}
	want := tiers.Capabilities()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("cluster capabilities %v, tiers capability labels %v", got, want)
	}
}
