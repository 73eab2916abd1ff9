package catalogue_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"

	// The specs: importing the package registers every Describe with ginkgo.
	_ "github.com/vmt-conformance/vmt-conformance/tests"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// TestCatalogue lists every spec with ginkgo.PreviewSpecs (a dry run: no cluster, no
// spec or setup body runs, and RunSpecs is never called) and checks it against the
// catalogue: one in-scope scenario per spec, only known labels, scenario labels intact,
// and every in-scope scenario covered by at least one spec (a scenario without one fails).
func TestCatalogue(t *testing.T) {
	for _, err := range tiers.RegistrationErrors() {
		t.Error(err)
	}
	report := ginkgo.PreviewSpecs("vmt-conformance catalogue")
	res := tiers.CheckCatalogue(tiers.SpecsFromReport(report), true)
	t.Log(res.Summary())
	for _, p := range res.Problems {
		t.Error(p)
	}
}
