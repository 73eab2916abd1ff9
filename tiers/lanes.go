package tiers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// LaneInfo is a named Ginkgo label-filter expression.
type LaneInfo struct {
	Name    string
	Expr    string
	Purpose string
}

// notUpgrade keeps upgrade-phase specs out of every lane but the upgrade lanes: an
// upgrade-post spec checks what an upgrade-pre spec left behind before an upgrade, so
// running either on its own (or both in one run) is meaningless.
const notUpgrade = "!" + UpgradePre + " && !" + UpgradePost

// lanes is the one place lanes are defined.
var lanes = []LaneInfo{
	{"tier1", Tier1 + " && " + notUpgrade, "Tier 1: one feature at a time, API contracts"},
	{"tier2", Tier2 + " && " + notUpgrade, "Tier 2: end-to-end, capability disable/re-enable, admission"},
	{"tier3", Tier3 + " && " + notUpgrade, "Tier 3: expensive specs (Windows guests), dedicated cycles"},
	{"nightly", "(" + Tier1 + " || " + Tier2 + ") && " + notUpgrade, "nightly against an existing cluster"},
	// Scale is a tier, so the P0/P1 selection would never meet it; it is excluded anyway
	// because the GA verdict must not depend on the scale lane.
	{"ga-readiness", "(" + P0 + " || " + P1 + ") && " + notUpgrade + " && !" + Scale, "P0 and P1 specs for the GA-readiness report (upgrade results come from the upgrade lanes)"},
	// The local (hermetic) provider adds !requires-guest etc. through LabelFilter.
	{"hermetic", "(" + Tier1 + " || " + Tier2 + ") && " + notUpgrade + " && !" + Scale, "what the local lane runs: Tier 1 and 2 without upgrade or scale"},
	{"upgrade-pre", UpgradePre, "before the upgrade: create what upgrade-post checks"},
	{"upgrade-post", UpgradePost, "after the upgrade: check what upgrade-pre created"},
	{"scale", Scale, "the scalability NFR (VMT-024); never part of GA"},
}

// Lanes returns every lane, in definition order.
func Lanes() []LaneInfo { return slices.Clone(lanes) }

// LaneNames returns the lane names, in definition order.
func LaneNames() []string {
	out := make([]string, len(lanes))
	for i, l := range lanes {
		out[i] = l.Name
	}
	return out
}

// Lane returns the label-filter expression of the named lane.
func Lane(name string) (string, error) {
	for _, l := range lanes {
		if l.Name == name {
			return l.Expr, nil
		}
	}
	return "", fmt.Errorf("tiers: unknown lane %q; known lanes: %s", name, strings.Join(LaneNames(), " "))
}

// LabelFilter returns the Ginkgo --label-filter for a lane on a cluster that lacks the
// given capabilities: "(<lane>) && !requires-x && !requires-y", capabilities sorted and
// deduplicated; just the lane expression when nothing is missing.
func LabelFilter(lane string, missingCapabilities []string) (string, error) {
	expr, err := Lane(lane)
	if err != nil {
		return "", err
	}
	missing := slices.Clone(missingCapabilities)
	slices.Sort(missing)
	missing = slices.Compact(missing)
	for _, c := range missing {
		if !IsCapability(c) {
			return "", fmt.Errorf("tiers: %q is not a capability; capabilities: %s", c, strings.Join(capabilityLabels, " "))
		}
	}
	if len(missing) > 0 {
		expr = "(" + expr + ") && !" + strings.Join(missing, " && !")
	}
	if _, err := types.ParseLabelFilter(expr); err != nil {
		return "", fmt.Errorf("tiers: lane %q gives an invalid label filter %q: %w", lane, expr, err)
	}
	return expr, nil
}
