package previewtest_test

import (
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"

	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// ran records any spec or setup body that executed; a preview must run none.
var ran []string

var _ = BeforeSuite(func() { ran = append(ran, "BeforeSuite") })

var _ = Describe("Processing a template", tiers.Scenario("VMT-003"), func() {
	BeforeEach(func() { ran = append(ran, "BeforeEach") })
	It("substitutes parameters", func() { ran = append(ran, "It") })
	It("boots the result", tiers.Requires(tiers.RequiresGuest), func() { ran = append(ran, "It") })
	PIt("not written yet", func() {})
})

var _ = Describe("Disabling the capability", tiers.Scenario("VMT-014"), Serial, func() {
	It("[test_id:CNV-16316] rejects new templates", func() {})
})

var _ = DescribeTable("Upgrade", tiers.Scenario("VMT-012"),
	func() { ran = append(ran, "Entry") },
	Entry("before", tiers.Behaviour(tiers.UpgradePre)),
	Entry("after", tiers.Behaviour(tiers.UpgradePost)),
)

var _ = Describe("A typo", tiers.Scenario("VMT-099"), func() {
	It("is visibly broken", func() {})
})

func TestPreviewSpecsWithoutRunSpecs(t *testing.T) {
	report := PreviewSpecs("previewtest")
	if len(ran) > 0 {
		t.Errorf("a preview ran %v", ran)
	}
	specs := tiers.SpecsFromReport(report)
	byText := map[string]tiers.SpecInfo{}
	for _, s := range specs {
		byText[s.Text] = s
	}
	if len(specs) != 7 || len(byText) != 7 {
		t.Fatalf("%d specs: %+v", len(specs), specs)
	}

	guest := byText["Processing a template boots the result"]
	if want := []string{"VMT-003", "tier1", "P0", "CNV-73392", "requires-guest"}; !slices.Equal(guest.Labels, want) {
		t.Errorf("container and spec labels merged to %v, want %v", guest.Labels, want)
	}
	if !strings.Contains(guest.Location, "preview_test.go:") {
		t.Errorf("location %q", guest.Location)
	}
	if !byText["Processing a template not written yet"].Pending {
		t.Error("PIt not reported pending")
	}
	gate := byText["Disabling the capability [test_id:CNV-16316] rejects new templates"]
	if !gate.Serial || !slices.Contains(gate.Labels, tiers.Serial) || !slices.Contains(gate.Labels, tiers.Disruptive) {
		t.Errorf("Serial decorator not seen as label %q and IsSerial: %+v", tiers.Serial, gate)
	}
	if l := byText["Upgrade after"].Labels; !slices.Contains(l, tiers.UpgradePost) || !slices.Contains(l, "VMT-012") {
		t.Errorf("table entry labels %v", l)
	}
	broken := byText["A typo is visibly broken"]
	if !slices.Equal(broken.Labels, []string{tiers.InvalidScenario}) {
		t.Errorf("bad id gave labels %v", broken.Labels)
	}

	errs := tiers.RegistrationErrors()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "previewtest/preview_test.go:") || !strings.Contains(errs[0].Error(), `tiers.Scenario("VMT-099"): unknown scenario id`) {
		t.Errorf("registration errors = %v, want one naming this file and VMT-099", errs)
	}

	res := tiers.CheckCatalogue(specs, false)
	var problems []string
	for _, p := range res.Problems {
		problems = append(problems, p.Error())
	}
	if len(problems) != 2 || !strings.Contains(problems[0], "invalid-scenario") || !strings.Contains(problems[1], "has no scenario id") {
		t.Errorf("problems:\n%s", strings.Join(problems, "\n"))
	}
	if res.Covered["VMT-003"] != 2 || res.Covered["VMT-012"] != 2 || res.Covered["VMT-014"] != 1 {
		t.Errorf("covered %v", res.Covered)
	}
}
