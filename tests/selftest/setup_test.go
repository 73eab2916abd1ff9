package selftest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The set-up the self-tests share: building from this checkout what a lane run needs, and
// running the lane runner.

func moduleRoot(t *testing.T, ctx context.Context) string {
	t.Helper()
	raw, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(raw))
}

func build(t *testing.T, ctx context.Context, root, out, pkg string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if raw, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, raw)
	}
}

// laneBinaries builds the local lane's binaries (the simulator and the reference template
// components) of the module at root into dir/bin, and returns that directory, for
// local.BinDirEnv.
func laneBinaries(t *testing.T, ctx context.Context, root, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "bin")
	lane := exec.CommandContext(ctx, "go", "build", "-o", bin+string(filepath.Separator),
		"./cmd/vmt-sim", "./cmd/vmt-template-apiserver", "./cmd/vmt-template-controller", "./cmd/vmt-virtctl")
	lane.Dir = root
	if out, err := lane.CombinedOutput(); err != nil {
		t.Fatalf("building the lane binaries: %v\n%s", err, out)
	}
	return bin
}

// compileSuite compiles the suite (./tests of the module at root, with the build tags
// given) into dir/suite.test and returns its path.
func compileSuite(t *testing.T, ctx context.Context, root, dir string, tags ...string) string {
	t.Helper()
	suite := filepath.Join(dir, "suite.test")
	args := []string{"test", "-c"}
	if len(tags) > 0 {
		args = append(args, "-tags="+strings.Join(tags, ","))
	}
	compile := exec.CommandContext(ctx, "go", append(args, "-o", suite, "./tests")...)
	compile.Dir = root
	if out, err := compile.CombinedOutput(); err != nil {
		t.Fatalf("compiling the suite: %v\n%s", err, out)
	}
	return suite
}

// runnerBinaries builds the lane runner and the ginkgo CLI it drives into a directory of
// their own.
func runnerBinaries(t *testing.T, ctx context.Context, root string) (vmtE2E, ginkgo string) {
	t.Helper()
	bin := t.TempDir()
	vmtE2E, ginkgo = filepath.Join(bin, "vmt-e2e"), filepath.Join(bin, "ginkgo")
	build(t, ctx, root, vmtE2E, "./cmd/vmt-e2e")
	build(t, ctx, root, ginkgo, "github.com/onsi/ginkgo/v2/ginkgo")
	return vmtE2E, ginkgo
}

// runE2E runs vmt-e2e on lane with the local provider, one process and the artifacts in
// artifacts, on the suite compiled with the self-test tag and focused on focus, with env
// added to this process's environment. It returns the run's output (stdout and stderr)
// and its error.
func runE2E(t *testing.T, ctx context.Context, root, vmtE2E, ginkgo, lane, artifacts, focus string, env ...string) (string, error) {
	t.Helper()
	start := time.Now()
	cmd := exec.CommandContext(ctx, vmtE2E,
		"--lane", lane, "--provider", "local", "--procs", "1", "--artifacts", artifacts,
		"--ginkgo", ginkgo, "--suite", "./tests",
		"--", "--focus", focus)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -tags="+selfTestTag))
	cmd.Env = append(cmd.Env, env...)
	cmd.Env = append(cmd.Env, "VMT_ARTIFACTS=", "VMT_COMPONENT_LOGS=", "VMT_CAPABILITIES=")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	err := cmd.Run()
	t.Logf("vmt-e2e ran for %s", time.Since(start).Round(time.Second))
	return log.String(), err
}
