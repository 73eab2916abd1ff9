package tiers

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
)

// JUnit property names on every traced testcase.
const (
	PropScenario = "scenario"
	PropJira     = "jira"     // comma-separated Jira keys of the scenario
	PropPolarion = "polarion" // comma-separated Polarion ids of the scenario
	// PropPolarionID is the single test case for Polarion's importer: the spec's own
	// [test_id:X], else the scenario's only Polarion id; absent when ambiguous.
	PropPolarionID = "polarion-testcase-id"
	PropTier       = "tier"
	PropPriority   = "priority"
	PropRequires   = "requires" // comma-separated capability labels
	PropOutcome    = "outcome"  // passed, failed, filtered, not run, pending
	PropReason     = "reason"   // why it was filtered or not run
)

// junitTestCase is ginkgo's testcase with <properties> first, as Polarion's and Jenkins'
// importers read them.
type junitTestCase struct {
	Name       string                     `xml:"name,attr"`
	Classname  string                     `xml:"classname,attr"`
	Status     string                     `xml:"status,attr"`
	Time       float64                    `xml:"time,attr"`
	Owner      string                     `xml:"owner,attr,omitempty"`
	Properties *reporters.JUnitProperties `xml:"properties,omitempty"`
	Skipped    *reporters.JUnitSkipped    `xml:"skipped,omitempty"`
	Error      *reporters.JUnitError      `xml:"error,omitempty"`
	Failure    *reporters.JUnitFailure    `xml:"failure,omitempty"`
	SystemOut  string                     `xml:"system-out,omitempty"`
	SystemErr  string                     `xml:"system-err,omitempty"`
}

type junitTestSuite struct {
	Name       string                    `xml:"name,attr"`
	Package    string                    `xml:"package,attr"`
	Tests      int                       `xml:"tests,attr"`
	Disabled   int                       `xml:"disabled,attr"`
	Skipped    int                       `xml:"skipped,attr"`
	Errors     int                       `xml:"errors,attr"`
	Failures   int                       `xml:"failures,attr"`
	Time       float64                   `xml:"time,attr"`
	Timestamp  string                    `xml:"timestamp,attr"`
	Properties reporters.JUnitProperties `xml:"properties"`
	TestCases  []junitTestCase           `xml:"testcase"`
}

type junitTestSuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Tests    int              `xml:"tests,attr"`
	Disabled int              `xml:"disabled,attr"`
	Errors   int              `xml:"errors,attr"`
	Failures int              `xml:"failures,attr"`
	Time     float64          `xml:"time,attr"`
	Suites   []junitTestSuite `xml:"testsuite"`
}

// JUnitConfig is ginkgo's JUnit configuration: keep the defaults (timelines and output
// of failed specs are what a reader of the JUnit needs).
var JUnitConfig = reporters.JunitReportConfig{OmitSpecLabels: false}

// WriteJUnit writes ginkgo's JUnit for the reports (one <testsuite> per suite), built by
// ginkgo's reporters library, with the traceability properties added to every testcase
// that traces to a scenario.
func (a *Analysis) WriteJUnit(reports []types.Report, path string) error {
	// ginkgo's reporter emits one testcase per SpecReport, in order (OmitSuiteSetupNodes is
	// off): testcase i of suite n is SpecReports[i] of report n.
	bySpec := map[[2]int]SpecResult{}
	for _, s := range a.Scenarios {
		for _, sp := range s.Specs {
			bySpec[[2]int{sp.suite, sp.index}] = sp
		}
	}
	tmp, err := os.MkdirTemp("", "vmt-junit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var out junitTestSuites
	for n, r := range reports {
		src := filepath.Join(tmp, fmt.Sprintf("suite-%d.xml", n))
		if err := reporters.GenerateJUnitReportWithConfig(r, src, JUnitConfig); err != nil {
			return fmt.Errorf("tiers: ginkgo JUnit: %w", err)
		}
		raw, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		var in junitTestSuites
		if err := xml.Unmarshal(raw, &in); err != nil {
			return fmt.Errorf("tiers: reading ginkgo's JUnit back: %w", err)
		}
		out.Tests += in.Tests
		out.Disabled += in.Disabled
		out.Errors += in.Errors
		out.Failures += in.Failures
		out.Time += in.Time
		for _, suite := range in.Suites {
			suite.Properties.Properties = append(suite.Properties.Properties,
				reporters.JUnitProperty{Name: "vmt-lane", Value: a.Run.Lane},
				reporters.JUnitProperty{Name: "vmt-provider", Value: a.Run.Provider},
				reporters.JUnitProperty{Name: "vmt-stp", Value: a.STP.Jira},
				reporters.JUnitProperty{Name: "vmt-verdict", Value: a.Verdict.String()})
			suite.Properties.Properties = append(suite.Properties.Properties, a.Run.SUT.junitProperties()...)
			for i, tc := range suite.TestCases {
				if sp, ok := bySpec[[2]int{n, i}]; ok && tc.Name == junitName(sp.report) {
					suite.TestCases[i].Properties = a.properties(sp)
					if tc.Skipped != nil && sp.Reason != "" && (sp.Outcome == OutcomeFiltered || sp.Outcome == OutcomeNotRun) {
						suite.TestCases[i].Skipped.Message = string(sp.Outcome) + ": " + sp.Reason
					}
				}
			}
			out.Suites = append(out.Suites, suite)
		}
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	buf.WriteString("\n")
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// junitName is the testcase name ginkgo's JUnit reporter gives a spec.
func junitName(sr types.SpecReport) string {
	name := fmt.Sprintf("[%s] %s", sr.LeafNodeType, sr.FullText())
	if labels := sr.Labels(); len(labels) > 0 && !JUnitConfig.OmitSpecLabels {
		name = fmt.Sprintf("%s [%s]", name, strings.Join(labels, ", "))
	}
	if semver := sr.SemVerConstraints(); len(semver) > 0 && !JUnitConfig.OmitSpecSemVerConstraints {
		name = fmt.Sprintf("%s [%s]", name, strings.Join(semver, ", "))
	}
	return strings.TrimSpace(name)
}

func (a *Analysis) properties(sp SpecResult) *reporters.JUnitProperties {
	s, _ := a.catalogue.Lookup(sp.Scenario)
	props := []reporters.JUnitProperty{
		{Name: PropScenario, Value: sp.Scenario},
		{Name: PropJira, Value: strings.Join(s.Jira, ",")},
	}
	if len(s.Polarion) > 0 {
		props = append(props, reporters.JUnitProperty{Name: PropPolarion, Value: strings.Join(s.Polarion, ",")})
	}
	if id := polarionTestCase(sp.Text, s.Polarion); id != "" {
		props = append(props, reporters.JUnitProperty{Name: PropPolarionID, Value: id})
	}
	props = append(props,
		reporters.JUnitProperty{Name: PropTier, Value: s.Tier},
		reporters.JUnitProperty{Name: PropPriority, Value: s.Priority})
	if len(sp.Requires) > 0 {
		props = append(props, reporters.JUnitProperty{Name: PropRequires, Value: strings.Join(sp.Requires, ",")})
	}
	props = append(props, reporters.JUnitProperty{Name: PropOutcome, Value: string(sp.Outcome)})
	if sp.Outcome == OutcomeFiltered || sp.Outcome == OutcomeNotRun {
		props = append(props, reporters.JUnitProperty{Name: PropReason, Value: sp.Reason})
	}
	return &reporters.JUnitProperties{Properties: props}
}

// polarionTestCase is the spec's [test_id:X] when it has one, else the scenario's only
// Polarion id.
func polarionTestCase(text string, scenarioIDs []string) string {
	if m := testIDPattern.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	if len(scenarioIDs) == 1 {
		return scenarioIDs[0]
	}
	return ""
}
