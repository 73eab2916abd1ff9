package tiers

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// SpecInfo is what the catalogue check needs to know about one spec.
type SpecInfo struct {
	Text     string   // full text: container texts and the It text
	Location string   // file:line of the It
	Labels   []string // all labels, container labels included
	Serial   bool     // decorated with ginkgo.Serial (itself or through a container)
	Pending  bool     // pending specs are checked but do not count as coverage
}

// SpecsFromReport turns a ginkgo report (from ginkgo.PreviewSpecs or a --json-report)
// into SpecInfos, one per It; setup and suite nodes are left out.
func SpecsFromReport(report types.Report) []SpecInfo {
	var out []SpecInfo
	for _, r := range report.SpecReports {
		if r.LeafNodeType != types.NodeTypeIt {
			continue
		}
		out = append(out, SpecInfo{
			Text:     r.FullText(),
			Location: r.LeafNodeLocation.String(),
			Labels:   r.Labels(),
			Serial:   r.IsSerial,
			Pending:  r.State == types.SpecStatePending,
		})
	}
	return out
}

// CatalogueCheck is the result of CheckCatalogue.
type CatalogueCheck struct {
	Specs int // specs checked
	// Problems each fail the check: one line per problem, naming the spec's location.
	Problems []error
	// Uncovered lists in-scope scenarios without a runnable (non-pending) spec. They are
	// Problems too when the check is strict.
	Uncovered []string
	// Covered counts runnable specs per in-scope scenario id.
	Covered map[string]int
	Strict  bool
}

// Err is nil when the check passed, else all problems joined, one per line.
func (c CatalogueCheck) Err() error { return errors.Join(c.Problems...) }

// Summary is a short human-readable account of the check: coverage per scenario,
// uncovered scenarios and the number of problems.
func (c CatalogueCheck) Summary() string {
	var b strings.Builder
	ids := make([]string, 0, len(c.Covered))
	for id := range c.Covered {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	fmt.Fprintf(&b, "catalogue: %d specs; %d of %d in-scope scenarios covered", c.Specs, len(ids), len(ids)+len(c.Uncovered))
	for _, id := range ids {
		fmt.Fprintf(&b, "\n  %s: %d spec(s)", id, c.Covered[id])
	}
	if len(c.Uncovered) > 0 {
		verdict := "reported, not failing: strict coverage is off"
		if c.Strict {
			verdict = "failing: strict coverage"
		}
		fmt.Fprintf(&b, "\n  uncovered (%s): %s", verdict, strings.Join(c.Uncovered, " "))
	}
	fmt.Fprintf(&b, "\n  problems: %d (listed by Err)", len(c.Problems))
	return b.String()
}

// CheckCatalogue checks specs against the catalogue:
//   - every spec carries exactly one scenario id, and that scenario is in scope;
//   - every label is in the vocabulary;
//   - the spec's tier, priority and Jira labels are exactly its scenario's, and it carries
//     the scenario's required capabilities and behaviour (Serial via the decorator);
//   - a Serial label comes with the Serial decorator; no spec is both upgrade-pre and -post;
//   - "[test_id:X]" tags in the text name a Polarion id of the spec's scenario;
//   - every in-scope scenario has a runnable spec (a problem only when strict).
//
// It is pure: the catalogue test feeds it ginkgo.PreviewSpecs; a --list mode can too.
func CheckCatalogue(specs []SpecInfo, strict bool) CatalogueCheck {
	return checkCatalogue(defaultCatalogue, specs, strict)
}

var testIDPattern = regexp.MustCompile(`\[test_id:([^\]]*)\]`)

func checkCatalogue(c *ScenarioCatalogue, specs []SpecInfo, strict bool) CatalogueCheck {
	res := CatalogueCheck{Specs: len(specs), Covered: map[string]int{}, Strict: strict}
	for _, spec := range specs {
		problem := func(format string, args ...any) {
			res.Problems = append(res.Problems, fmt.Errorf("%s: %q: %s", spec.Location, spec.Text, fmt.Sprintf(format, args...)))
		}
		var scenarioIDs, tiersSeen, prios, jira []string
		hasSerialLabel := false
		for _, l := range dedupe(spec.Labels) {
			switch c.kindOf(l) {
			case kindScenario:
				scenarioIDs = append(scenarioIDs, l)
			case kindTier:
				tiersSeen = append(tiersSeen, l)
			case kindPriority:
				prios = append(prios, l)
			case kindJira:
				jira = append(jira, l)
			case kindBehaviour:
				hasSerialLabel = hasSerialLabel || l == Serial
			case kindUnknown:
				switch twin, ok := c.caseTwin(l); {
				case l == InvalidScenario || l == InvalidLabel:
					problem("label %q: a tiers helper was given a bad value; see tiers.RegistrationErrors()", l)
				case ok:
					problem("unknown label %q: did you mean %q?", l, twin)
				default:
					problem("unknown label %q; %s", l, c.describeVocabulary())
				}
			}
		}
		if hasSerialLabel && !spec.Serial {
			problem("carries the %s label without ginkgo's Serial decorator", Serial)
		}
		if slices.Contains(spec.Labels, UpgradePre) && slices.Contains(spec.Labels, UpgradePost) {
			problem("is both %s and %s; an upgrade spec belongs to one phase", UpgradePre, UpgradePost)
		}

		switch len(scenarioIDs) {
		case 0:
			problem("has no scenario id; decorate it or a container with tiers.Scenario(id)")
			continue
		case 1:
		default:
			problem("has %d scenario ids (%s); a spec implements exactly one scenario", len(scenarioIDs), strings.Join(scenarioIDs, " "))
			continue
		}
		s, _ := c.Lookup(scenarioIDs[0])
		if !s.InScope {
			problem("claims out-of-scope scenario %s (%s)", s.ID, s.Reason)
			continue
		}
		if !slices.Equal(tiersSeen, []string{s.Tier}) {
			problem("tier labels %v, scenario %s is %s; the tier comes from tiers.Scenario only", tiersSeen, s.ID, s.Tier)
		}
		if !slices.Equal(prios, []string{s.Priority}) {
			problem("priority labels %v, scenario %s is %s; the priority comes from tiers.Scenario only", prios, s.ID, s.Priority)
		}
		if !sameSet(jira, s.Jira) {
			problem("Jira labels %v, scenario %s has %v", jira, s.ID, s.Jira)
		}
		for _, req := range s.Requires {
			if !slices.Contains(spec.Labels, req) {
				problem("lacks %s, which every spec of %s needs; use tiers.Scenario(%q) rather than a hand-written label", req, s.ID, s.ID)
			}
		}
		for _, b := range s.Behaviour {
			switch {
			case b == Serial && !spec.Serial:
				problem("every spec of %s must be decorated with ginkgo's Serial", s.ID)
			case b != Serial && !slices.Contains(spec.Labels, b):
				problem("lacks %s, which every spec of %s carries", b, s.ID)
			}
		}
		for _, m := range testIDPattern.FindAllStringSubmatch(spec.Text, -1) {
			if !slices.Contains(s.Polarion, m[1]) {
				problem("[test_id:%s] is not a Polarion id of %s (%v)", m[1], s.ID, s.Polarion)
			}
		}
		if !spec.Pending {
			res.Covered[s.ID]++
		}
	}
	for _, s := range c.scenarios {
		if s.InScope && res.Covered[s.ID] == 0 {
			res.Uncovered = append(res.Uncovered, s.ID)
		}
	}
	if strict && len(res.Uncovered) > 0 {
		res.Problems = append(res.Problems, fmt.Errorf("in-scope scenarios without a runnable spec: %s", strings.Join(res.Uncovered, " ")))
	}
	return res
}

// dedupe keeps the first of repeated labels, as ginkgo's SpecReport.Labels does.
func dedupe(labels []string) []string {
	var out []string
	for _, l := range labels {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
