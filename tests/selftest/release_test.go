package selftest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
)

// releaseTimeout bounds compiling the suite and two runs of the kubevirt-1.8 profile
// (~20-30 s each on two cores with warm caches: cluster up, three VMT-002 specs, teardown).
const releaseTimeout = 5 * time.Minute

// What the release self-test runs and expects; must match tests/capture.go and
// framework/release (CapturedNameGenerated: v0.2.0+).
const (
	releaseFilter   = "VMT-002 && !requires-v1beta1"
	releaseProfile  = "kubevirt-1.8" // KubeVirt v1.8.4 deploys virt-template v0.1.8
	forcedRelease   = "v0.2.2"       // KubeVirt v1.9's
	detectedRelease = "v0.1.8"
	nameRequired    = "parameter 'NAME' is required and a value must be specified"
	nameEntry       = "release behaviour CapturedNameGenerated"
)

// captureSpecs are the VMT-002 captures, which check the captured NAME parameter.
var captureSpecs = []string{"in the VM's namespace", "in another namespace the user may write to"}

// TestDetectedReleaseDecidesTheExpectations is issue 13's proof that detecting the release
// matters: on the kubevirt-1.8 profile (virt-template v0.1.8, v1alpha1 only), forcing the
// expectations of KubeVirt v1.9's v0.2.2 (--vmt.expect-release, VMT_EXPECT_RELEASE) makes the
// capture specs fail where v0.1.8 behaves otherwise: they expect NAME's generator and get
// v0.1.8's 422 for /process without NAME. The same specs pass with the release detected.
//
// Forcing the release forces expectations, not the cluster's API: the suite still speaks
// v1alpha1 and the v1beta1 capability stays detected (a spec that needs v1beta1 is filtered
// by what the cluster serves, not by what a release promises), so the failure is about a
// behaviour, not a missing API.
func TestDetectedReleaseDecidesTheExpectations(t *testing.T) {
	if err := local.CheckAssets(local.DefaultAssetsDir()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	dir := t.TempDir()
	suite := compileSuite(t, ctx, moduleRoot(t, ctx), dir)

	run := func(t *testing.T, name, expect string) ([]types.SpecReport, []byte, error) {
		t.Helper()
		report := filepath.Join(dir, name, "report.json")
		cmd := exec.CommandContext(ctx, suite,
			"-ginkgo.label-filter="+releaseFilter,
			"-ginkgo.json-report="+report,
			"-ginkgo.no-color",
			"-vmt.provider=local",
			"-vmt.local.profile="+releaseProfile,
			"-vmt.artifacts="+filepath.Join(dir, name, "artifacts"))
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "VMT_EXPECT_RELEASE="+expect, "VMT_PROFILE=", local.BinDirEnv+"=",
			"VMT_TEMPLATE_APISERVER_ARGS=", "VMT_ARTIFACTS=", "VMT_COMPONENT_LOGS=", "VMT_CAPABILITIES=")
		began := time.Now()
		out, err := cmd.CombinedOutput()
		t.Logf("profile %s, VMT_EXPECT_RELEASE=%q, --label-filter=%q: ran in %v", releaseProfile, expect, releaseFilter, time.Since(began).Round(time.Second))
		return ranSpecs(t, report, out), out, err
	}

	t.Run("forced v0.2.2 expectations fail on v0.1.8", func(t *testing.T) {
		specs, out, err := run(t, "forced", forcedRelease)
		if err == nil {
			t.Fatalf("the suite passed expecting %s on %s: detection would not matter\n%s", forcedRelease, releaseProfile, tail(out))
		}
		byText := map[string]types.SpecReport{}
		for _, s := range specs {
			byText[s.LeafNodeText] = s
		}
		passed := 0
		for _, s := range specs {
			if s.State.Is(types.SpecStatePassed) {
				passed++
			}
		}
		if passed == 0 {
			t.Errorf("no spec of %q passed: the lane itself may be broken\n%s", releaseFilter, tail(out))
		}
		for _, text := range captureSpecs {
			s, ok := byText[text]
			switch {
			case !ok:
				t.Errorf("spec %q did not run", text)
				continue
			case !s.State.Is(types.SpecStateFailureStates):
				t.Errorf("spec %q %s expecting %s on %s; it must fail", text, s.State, forcedRelease, releaseProfile)
				continue
			case s.Failure.FailureNodeType != types.NodeTypeIt:
				t.Errorf("spec %q failed in its %s, not in its body: %s", text, s.Failure.FailureNodeType, s.Failure.Message)
			}
			for _, want := range []string{"/process without NAME", "HTTP 422", nameRequired} {
				if !strings.Contains(s.Failure.Message, want) {
					t.Errorf("the failure of %q does not name v0.1.8's answer (lacks %q):\n%s", text, want, s.Failure.Message)
				}
			}
			expectEntry(t, s, "virt-template "+forcedRelease, "forced by --vmt.expect-release", "has=true")
			t.Logf("failed as it must, %s:\n%s", s.Failure.Location, firstLines(s.Failure.Message, 4))
		}
	})

	t.Run("the detected v0.1.8 passes", func(t *testing.T) {
		specs, out, err := run(t, "detected", "")
		if err != nil {
			t.Fatalf("the same specs failed with the release detected: %v\n%s", err, tail(out))
		}
		for _, s := range specs {
			if !s.State.Is(types.SpecStatePassed) {
				t.Errorf("spec %q: %s", s.LeafNodeText, s.State)
			}
		}
		for _, text := range captureSpecs {
			for _, s := range specs {
				if s.LeafNodeText == text {
					expectEntry(t, s, "virt-template "+detectedRelease+" (detected)", "has=false", nameRequired)
				}
			}
		}
	})
}

// expectEntry checks the spec recorded which release's CapturedNameGenerated outcome it
// checked, and that the record says each of want.
func expectEntry(t *testing.T, s types.SpecReport, want ...string) {
	t.Helper()
	for _, e := range s.ReportEntries {
		if e.Name != nameEntry {
			continue
		}
		got := e.StringRepresentation()
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("spec %q: report entry %q lacks %q", s.LeafNodeText, got, w)
			}
		}
		return
	}
	t.Errorf("spec %q has no report entry %q", s.LeafNodeText, nameEntry)
}
