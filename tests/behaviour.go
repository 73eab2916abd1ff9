package tests

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"

	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
)

// byRelease is the one outcome a spec expects where virt-template releases differ
// (framework/release): with when the release under test has behaviour id, without
// otherwise. The choice is data, not a skipped check, and the spec's report records which
// release's outcome it checked ("release behaviour <ID>").
//
//	stripped := byRelease(release.StripsMACSerialUUID, BeEmpty(), Equal(sourceMAC))
func byRelease[T any](id release.ID, with, without T) T {
	GinkgoHelper()
	b, _ := release.Lookup(id) // Has panics on an unknown id
	rel := framework.Release()
	has := rel.Has(id)
	what, out := b.Before, without
	if has {
		what, out = b.Description, with
	}
	if what == "" {
		what = b.Description
	}
	AddReportEntry("release behaviour "+string(id), fmt.Sprintf("virt-template %s (%s): has=%t (%s since %s): %s",
		rel.Version(), framework.SUT().ExpectedReleaseSource, has, id, b.Since, what))
	return out
}
