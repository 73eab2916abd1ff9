package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/framework/sut"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// On a v1alpha1-only cluster the summary names the system under test and why
// requires-v1beta1 was filtered.
func TestPrintSUTNamesTheFilteredV1beta1(t *testing.T) {
	s := sut.SUT{SystemUnderTest: tiers.SystemUnderTest{
		KubeVirt: "v1.8.4", VirtTemplate: "v0.1.8", VirtTemplateSource: "annotation",
		ExpectedRelease: "v0.1.8", ExpectedReleaseSource: "detected",
		APIs: tiers.APIVersions{
			Template:     tiers.GroupVersions{Group: sut.TemplateGroup, Served: []string{"v1alpha1"}, Preferred: "v1alpha1"},
			Subresources: tiers.GroupVersions{Group: sut.SubresourceGroup, Served: []string{"v1alpha1"}, Preferred: "v1alpha1"},
			Speaks:       "v1alpha1",
		},
	}}
	caps := cluster.NewCapabilities()
	for _, c := range cluster.All {
		caps.Set(c, true, "")
	}
	s.SetCapability(caps)
	var b bytes.Buffer
	printSUT(&b, s, caps)
	for _, want := range []string{
		"== system under test: KubeVirt v1.8.4, virt-template v0.1.8 (annotation); API v1alpha1; specs expect v0.1.8 (detected)",
		"   filtered requires-v1beta1: virt-template v0.1.8 serves only v1alpha1",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	if !strings.Contains(declare(caps), "-v1beta1") {
		t.Errorf("the suite must be told v1beta1 is missing: %s", declare(caps))
	}
}
