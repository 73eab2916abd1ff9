package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// Plain `ginkgo --dry-run --label-filter=... ./tests` lists the specs on a machine with no
// cluster at all: no KUBECONFIG, an empty HOME (no ~/.kube/config), no pod environment,
// and the default provider (existing). It must select as many specs as
// `vmt-e2e --lane tier1 --list`, which dry-runs the same filter with -vmt.provider=local.
func TestGinkgoDryRunNeedsNoCluster(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	filter, err := tiers.Lane("tier1")
	if err != nil {
		t.Fatal(err)
	}

	// What the runner lists (with the developer's own environment).
	list := exec.CommandContext(ctx, "go", "run", "./cmd/vmt-e2e", "--lane", "tier1", "--list")
	list.Dir = root
	listOut, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("vmt-e2e --list: %v\n%s", err, listOut)
	}
	m := regexp.MustCompile(`(?m)^== (\d+) of \d+ specs`).FindSubmatch(listOut)
	if m == nil {
		t.Fatalf("vmt-e2e --list printed no spec count:\n%s", listOut)
	}
	want, _ := strconv.Atoi(string(m[1]))

	// Plain ginkgo, pinned (bin/ginkgo from `make tools`, else the module in go.mod), with no
	// cluster anywhere. The Go caches keep their real places: HOME only hides ~/.kube.
	ginkgo := []string{"go", "run", "github.com/onsi/ginkgo/v2/ginkgo"}
	if bin := filepath.Join(root, "bin", "ginkgo"); isExecutable(bin) {
		ginkgo = []string{bin}
	}
	report := filepath.Join(t.TempDir(), "dry-run.json")
	args := append(ginkgo[1:], "--dry-run", "--no-color", "--label-filter="+filter, "--json-report="+report, "./tests")
	cmd := exec.CommandContext(ctx, ginkgo[0], args...)
	cmd.Dir = root
	cmd.Env = noClusterEnv(t, t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("ginkgo --dry-run without a cluster: %v\n%s", err, out.String())
	}
	reports, err := tiers.ReadGinkgoReport(report)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, r := range reports {
		for _, sr := range r.SpecReports {
			if sr.LeafNodeType == types.NodeTypeIt && sr.State == types.SpecStatePassed {
				got++
			}
		}
	}
	if got == 0 || got != want {
		t.Fatalf("ginkgo --dry-run selected %d specs, vmt-e2e --lane tier1 --list %d\n%s", got, want, out.String())
	}
	if !strings.Contains(out.String(), "Will run "+strconv.Itoa(want)+" of") {
		t.Fatalf("ginkgo did not say it would run %d specs:\n%s", want, out.String())
	}
	t.Logf("ginkgo --dry-run --label-filter=%q ./tests: %d specs, no kubeconfig", filter, got)
}

// noClusterEnv is the test's environment without any way to a cluster, HOME=home, and the
// Go caches where `go env` has them.
func noClusterEnv(t *testing.T, home string) []string {
	t.Helper()
	goenv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	vals := strings.Split(strings.TrimSpace(string(goenv)), "\n")
	if len(vals) != 3 {
		t.Fatalf("go env: %q", goenv)
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "VMT_PROVIDER", "HOME", "GOCACHE", "GOMODCACHE", "GOPATH":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "GOCACHE="+vals[0], "GOMODCACHE="+vals[1], "GOPATH="+vals[2])
}

func isExecutable(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0
}
