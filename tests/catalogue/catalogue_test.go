package catalogue_test

import (
	"flag"
	"testing"

	"github.com/onsi/ginkgo/v2"

	// The specs: importing the package registers every Describe with ginkgo.
	_ "github.com/vmt-conformance/vmt-conformance/tests"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// strictCoverage makes an in-scope scenario without a runnable spec fail the check rather
// than be reported. Try it early with: go test ./tests/catalogue/ -args -strict-coverage
//
// TODO(#6): default to true once every in-scope scenario has a spec.
var strictCoverage = flag.Bool("strict-coverage", false, "fail when an in-scope scenario has no runnable spec")

// TestCatalogue lists every spec with ginkgo.PreviewSpecs (a dry run: no cluster, no
// spec or setup body runs, and RunSpecs is never called) and checks it against the
// catalogue: one in-scope scenario per spec, only known labels, scenario labels intact,
// coverage of every in-scope scenario.
func TestCatalogue(t *testing.T) {
	for _, err := range tiers.RegistrationErrors() {
		t.Error(err)
	}
	report := ginkgo.PreviewSpecs("vmt-conformance catalogue")
	res := tiers.CheckCatalogue(tiers.SpecsFromReport(report), *strictCoverage)
	t.Log(res.Summary())
	for _, p := range res.Problems {
		t.Error(p)
	}
}
