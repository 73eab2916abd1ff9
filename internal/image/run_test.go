package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// laneRun bounds the tier1 lane from the unpacked image (about a minute alone; more beside
// the other packages of make unit).
const laneRun = 15 * time.Minute

// The suite side of a run comes only from the image: its filesystem unpacked, its entrypoint
// and environment as the config says (paths below the unpack directory, as a chroot would
// see them), no Go toolchain on PATH. The runner, ginkgo, the compiled suite, the reference
// CLI and kubectl are the image's. What the local provider itself needs is not part of the
// suite image and comes from this machine: the control plane (ci/kube/build.sh's cache,
// VMT_LOCAL_ASSETS) and the lane binaries vmt-sim and the template components (VMT_BIN_DIR).
func TestTier1FromTheUnpackedImage(t *testing.T) {
	r, img := image(t, Suite)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	extract(t, img, root)
	inRoot := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }

	assets := os.Getenv("VMT_LOCAL_ASSETS")
	if assets == "" {
		assets = local.DefaultAssetsDir()
	}
	if err := local.CheckAssets(assets); err != nil {
		t.Fatal(err)
	}
	laneBins := os.Getenv(local.BinDirEnv)
	if laneBins == "" {
		laneBins = t.TempDir()
		cmd := exec.Command("go", "build", "-o", laneBins+string(filepath.Separator), "./cmd/vmt-sim", "./cmd/vmt-template-apiserver", "./cmd/vmt-template-controller")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the lane binaries: %v\n%s", err, out)
		}
	}
	if laneBins, err = filepath.Abs(laneBins); err != nil {
		t.Fatal(err)
	}

	// The image's environment, its absolute paths below root.
	var env []string
	for _, kv := range cf.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(v, "/") {
			v = inRoot(v)
		}
		env = append(env, k+"="+v)
	}
	env = append(env,
		"VMT_CACHE_DIR="+local.DefaultCacheDir(), // the local lane's cluster state
		"VMT_LOCAL_ASSETS="+assets,
		local.BinDirEnv+"="+laneBins,
		"VMT_VIRTCTL="+inRoot(BinDir+"/vmt-virtctl"), // the local lane drives the reference CLI
	)
	path := inRoot(BinDir)
	if !slices.Contains(env, "PATH="+path) {
		t.Fatalf("the image's PATH is not %s: %q", BinDir, cf.Config.Env)
	}
	for _, tool := range []string{"go", "gofmt"} {
		if _, err := os.Stat(filepath.Join(path, tool)); err == nil {
			t.Fatalf("%s is in the image", tool)
		}
	}
	artifacts := inRoot(Artifacts)

	ctx, cancel := context.WithTimeout(context.Background(), laneRun)
	defer cancel()
	args := append(append([]string{}, cf.Config.Entrypoint[1:]...), "--lane", "tier1", "--provider", "local", "--procs", "2")
	cmd := exec.CommandContext(ctx, inRoot(cf.Config.Entrypoint[0]), args...)
	cmd.Env = env
	cmd.Dir = inRoot(cf.Config.WorkingDir)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start).Round(100 * time.Millisecond)
	text := out.String()
	if err != nil {
		t.Fatalf("tier1 from the unpacked image %s failed after %s: %v\n%s", r.Ref, took, err, tail(text, 80))
	}
	t.Logf("tier1 from the unpacked image %s: %s\n%s", r.Ref, took, tail(text, 25))
	for _, want := range []string{
		"== precompiled suite " + inRoot(SuiteBinary), // not compiled: no go on PATH
		"== running: ginkgo run",
		"cleanup verified",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the run's output lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed$`).FindStringSubmatch(text); m == nil || m[2] != "0" || m[1] == "0" {
		t.Errorf("want specs passed and none failed; summary line %q", m)
	}
	for _, f := range []string{"run.json", "report.json"} {
		if _, err := os.Stat(filepath.Join(artifacts, f)); err != nil {
			t.Errorf("the run wrote no %s into the image's artifacts directory %s: %v", f, Artifacts, err)
		}
	}
	// The specs that pipe into `kubectl create -f -` ran with the image's kubectl (the only
	// one on PATH) and the reference CLI of the image.
	reports, err := tiers.ReadGinkgoReport(filepath.Join(artifacts, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	piped := 0
	for _, rep := range reports {
		for _, sr := range rep.SpecReports {
			if strings.Contains(sr.LeafNodeText, "kubectl create") && sr.State == types.SpecStatePassed {
				piped++
			}
		}
	}
	if piped == 0 {
		t.Error("no spec piping into kubectl create passed: the image's kubectl was not exercised")
	}
	t.Logf("%d specs piped into the image's kubectl", piped)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
