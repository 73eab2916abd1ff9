package tiers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sampleSUT is a KubeVirt v1.8.0 cluster: virt-template v0.1.7, v1alpha1 only, learned
// from the KubeVirt mapping because the images are pinned by digest.
func sampleSUT() *SystemUnderTest {
	return &SystemUnderTest{
		KubeVirt:              "v1.8.0",
		VirtTemplate:          "v0.1.7",
		VirtTemplateSource:    "KubeVirt v1.8.0 deploys it (no version annotation; images pinned by digest)",
		ExpectedRelease:       "v0.1.7",
		ExpectedReleaseSource: "detected",
		APIs: APIVersions{
			Template:     GroupVersions{Group: "template.kubevirt.io", Served: []string{"v1alpha1"}, Preferred: "v1alpha1"},
			Subresources: GroupVersions{Group: "subresources.template.kubevirt.io", Served: []string{"v1alpha1"}, Preferred: "v1alpha1"},
			Speaks:       "v1alpha1",
		},
		Implementation: "virt-template-apiserver=quay.io/kubevirt/virt-template-apiserver@sha256:0a1b, virt-template-controller=quay.io/kubevirt/virt-template-controller@sha256:2c3d",
		Images: map[string]string{
			"virt-template-apiserver":  "quay.io/kubevirt/virt-template-apiserver@sha256:0a1b",
			"virt-template-controller": "quay.io/kubevirt/virt-template-controller@sha256:2c3d",
		},
	}
}

func TestRunInfoRoundTripKeepsTheSystemUnderTest(t *testing.T) {
	in := gaRun()
	in.SUT.Profile, in.SUT.Binary = "kubevirt-1.8", "vmt-template-controller"
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"systemUnderTest"`, `"virtTemplate":"v0.1.7"`, `"speaks":"v1alpha1"`, `"preferred":"v1alpha1"`, `"profile":"kubevirt-1.8"`, `"virtTemplateSource"`, `"implementation"`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("run.json lacks %s: %s", key, raw)
		}
	}
	var out RunInfo
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in.SUT, out.SUT) {
		t.Errorf("round trip changed the SUT:\n in %+v\nout %+v", in.SUT, out.SUT)
	}
}

// A plain ginkgo run has no run.json: the reports take the suite's sut.json.
func TestGenerateReportsReadsSUTFileWithoutRunJSON(t *testing.T) {
	_, reports, _ := sampleRun(t)
	dir := t.TempDir()
	raw, _ := json.Marshal(reports)
	if err := os.WriteFile(filepath.Join(dir, ReportJSONFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	sut, _ := json.Marshal(sampleSUT())
	if err := os.WriteFile(filepath.Join(dir, SUTFile), sut, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := GenerateReports(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Run.SUT == nil || a.Run.SUT.VirtTemplate != "v0.1.7" {
		t.Fatalf("SUT not read from %s: %+v", SUTFile, a.Run.SUT)
	}
	for _, f := range []string{GAMDFile, MatrixMDFile, GAHTMLFile, MatrixHTMLFile, GAJSONFile, JUnitFile} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if !strings.Contains(string(b), "v0.1.7") || !strings.Contains(string(b), "v1alpha1") {
			t.Errorf("%s does not name the system under test", f)
		}
	}
}

func TestUnknownSUTSaysNewestBehaviourAssumed(t *testing.T) {
	s := SystemUnderTest{ExpectedReleaseSource: "nothing on the cluster names the release"}
	text := strings.Join(s.Lines(), "\n")
	for _, want := range []string{"KubeVirt:", "unknown", "newest behaviour assumed", "none (template.kubevirt.io"} {
		if want == "none (template.kubevirt.io" {
			s.APIs.Template.Group = "template.kubevirt.io"
			text = strings.Join(s.Lines(), "\n")
		}
		if !strings.Contains(text, want) {
			t.Errorf("lines lack %q:\n%s", want, text)
		}
	}
	var nilSUT *SystemUnderTest
	if p := nilSUT.junitProperties(); len(p) != 1 || !strings.Contains(p[0].Value, "not detected") {
		t.Errorf("nil SUT properties: %+v", p)
	}
}
