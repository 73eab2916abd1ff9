package selftest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"k8s.io/client-go/discovery"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// upgradeTimeout bounds the whole upgrade play (builds, cluster up, two lanes, the upgrade,
// cluster down); it takes ~1-2 minutes on two cores with warm caches.
const upgradeTimeout = 8 * time.Minute

// TestUpgradeLanesAcrossASimulatedUpgrade plays VMT-012's upgrade on the hermetic cluster:
// a local cluster on the oldest profile (KubeVirt v1.8 / virt-template v0.1.8), the
// upgrade-pre lane against it as an existing cluster, the simulator upgraded to the newest
// profile (it deploys that release over the old objects), then the upgrade-post lane with the
// same artifacts directory (the state upgrade-pre left in upgrade-state/). Both lanes must
// pass with at least one spec each, and each run's system under test must show the release
// of its side of the upgrade: a post lane run against a cluster that was not upgraded would
// pass too, so the versions are what proves the upgrade happened.
func TestUpgradeLanesAcrossASimulatedUpgrade(t *testing.T) {
	if err := local.CheckAssets(local.DefaultAssetsDir()); err != nil {
		t.Fatalf("the upgrade play runs the local lane: %v", err)
	}
	profiles := local.Profiles()
	from, to := profiles[0], profiles[len(profiles)-1]
	if from.VirtTemplateVersion() == to.VirtTemplateVersion() {
		t.Fatalf("profiles %s and %s deploy the same virt-template: nothing to upgrade", from, to)
	}
	ctx, cancel := context.WithTimeout(context.Background(), upgradeTimeout)
	defer cancel()
	root := moduleRoot(t, ctx)
	dir := t.TempDir()
	bin := laneBinaries(t, ctx, root, dir)
	suite := compileSuite(t, ctx, root, dir)
	vmtE2E, ginkgo := runnerBinaries(t, ctx, root)
	t.Setenv(local.BinDirEnv, bin) // the provider below runs this checkout's simulator

	began := time.Now()
	var progress bytes.Buffer
	p := local.NewProviderWithOptions(local.Options{StateRoot: t.TempDir(), Progress: &progress}).WithProfile(from)
	if err := p.Up(ctx); err != nil {
		t.Fatalf("starting a local cluster on %s: %v\n%s", from, err, progress.String())
	}
	runDir := p.ControlPlane().Dir()
	t.Cleanup(func() {
		if err := p.Down(context.Background()); err != nil {
			t.Errorf("stopping the local cluster: %v", err)
		}
		if _, err := os.Stat(runDir); !os.IsNotExist(err) {
			t.Errorf("the cluster's run directory %s is still there after Down (%v)", runDir, err)
		}
	})
	t.Logf("local cluster up on %s in %v", from, time.Since(began).Round(100*time.Millisecond))

	artifacts := filepath.Join(dir, "artifacts")
	lane := func(name string, pr local.Profile) {
		t.Helper()
		start := time.Now()
		cmd := exec.CommandContext(ctx, vmtE2E, "--lane", name, "--provider", "existing", "--procs", "1",
			"--artifacts", artifacts, "--ginkgo", ginkgo, "--suite-binary", suite)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "KUBECONFIG="+p.KubeconfigPath(),
			"VMT_VIRTCTL="+filepath.Join(bin, "vmt-virtctl"), local.VirtctlKubeVirtVersionEnv+"="+pr.KubeVirtVersion,
			"VMT_PROFILE=", "VMT_EXPECT_RELEASE=", "VMT_ARTIFACTS=", "VMT_COMPONENT_LOGS=", "VMT_CAPABILITIES=",
			"VMT_REFERENCE_FAULTS=", "VMT_SUITE_BINARY=", "VMT_SKIP_CLEANUP_CHECK=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("lane %s on %s: %v\n%s", name, pr, err, tail(out))
		}
		passed := 0
		for _, s := range ranSpecs(t, filepath.Join(artifacts, "report.json"), out) {
			if !s.State.Is(types.SpecStatePassed) {
				t.Errorf("lane %s: %q %s: %s", name, s.FullText(), s.State, firstLines(s.Failure.Message, 4))
				continue
			}
			if !slices.Contains(s.Labels(), name) || !slices.Contains(s.Labels(), "VMT-012") {
				t.Errorf("lane %s ran %q, labelled %v", name, s.FullText(), s.Labels())
			}
			passed++
		}
		if passed == 0 {
			t.Fatalf("lane %s passed no spec:\n%s", name, tail(out))
		}
		expectSystemUnderTest(t, filepath.Join(artifacts, "run.json"), name, pr)
		t.Logf("lane %s on %s: %d specs passed; vmt-e2e ran for %v", name, pr, passed, time.Since(start).Round(100*time.Millisecond))
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "== summary") || strings.HasPrefix(line, "== finished") {
				t.Log(line)
			}
		}
	}

	lane(tiers.UpgradePre, from)

	start := time.Now()
	if err := p.Upgrade(ctx, to); err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if got := p.Profile().Name; got != to.Name {
		t.Fatalf("after Upgrade the provider plays %s, want %s", got, to.Name)
	}
	// Upgrade returns once the release is in force: discovery already answers with its
	// versions, without waiting here.
	dc, err := discovery.NewDiscoveryClientForConfig(p.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !release.For(to.VirtTemplateVersion()).Has(release.ServesV1beta1) {
		t.Fatalf("%s does not serve v1beta1: the upgrade would not change the API versions", to)
	}
	if _, err := dc.ServerResourcesForGroupVersion("template.kubevirt.io/v1beta1"); err != nil {
		t.Fatalf("right after the upgrade to %s, template.kubevirt.io/v1beta1 is not served: %v", to, err)
	}
	t.Logf("simulator upgraded to %s in %v", to, time.Since(start).Round(100*time.Millisecond))

	lane(tiers.UpgradePost, to)
	if _, err := os.Stat(filepath.Join(artifacts, "upgrade-state")); err != nil {
		t.Errorf("no upgrade state in the artifacts: %v", err)
	}
	t.Logf("upgrade played in %v (cluster up, both lanes, the upgrade)", time.Since(began).Round(100*time.Millisecond))
}

// expectSystemUnderTest checks that run.json of lane names the KubeVirt and virt-template
// releases of profile pr, and that the template group serves what that release serves.
func expectSystemUnderTest(t *testing.T, path, lane string, pr local.Profile) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("lane %s: %v", lane, err)
	}
	var run struct {
		Lane string `json:"lane"`
		SUT  struct {
			KubeVirt     string `json:"kubevirt"`
			VirtTemplate string `json:"virtTemplate"`
			APIs         struct {
				Template struct {
					Served []string `json:"served"`
				} `json:"template"`
			} `json:"apis"`
		} `json:"systemUnderTest"`
	}
	if err := json.Unmarshal(raw, &run); err != nil {
		t.Fatalf("lane %s: %s: %v", lane, path, err)
	}
	if run.Lane != lane {
		t.Fatalf("%s is of lane %q, want %s", path, run.Lane, lane)
	}
	want := pr.VirtTemplateVersion().String()
	if run.SUT.KubeVirt != pr.KubeVirtVersion || run.SUT.VirtTemplate != want {
		t.Errorf("lane %s ran against KubeVirt %s / virt-template %s, want %s / %s (%s)", lane,
			run.SUT.KubeVirt, run.SUT.VirtTemplate, pr.KubeVirtVersion, want, pr.Name)
	}
	wantBeta := release.For(pr.VirtTemplateVersion()).Has(release.ServesV1beta1)
	if got := slices.Contains(run.SUT.APIs.Template.Served, "v1beta1"); got != wantBeta {
		t.Errorf("lane %s: template.kubevirt.io serves %s, v1beta1 expected: %v", lane, strings.Join(run.SUT.APIs.Template.Served, ", "), wantBeta)
	}
}
