package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadFor is load with a fake service-account mount and pod environment (podEnv) and with
// NoCluster set as the suite sets it for ginkgo --dry-run.
func loadFor(t *testing.T, podEnv, noCluster bool, env map[string]string) (*Config, error) {
	t.Helper()
	sa := t.TempDir()
	if err := os.WriteFile(filepath.Join(sa, "token"), []byte("tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sa, "namespace"), []byte("vmt-conformance"), 0o600); err != nil {
		t.Fatal(err)
	}
	defer func(d string) { serviceAccountDir = d }(serviceAccountDir)
	serviceAccountDir = sa
	host, port := "", ""
	if podEnv {
		host, port = "10.96.0.1", "443"
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", host)
	t.Setenv("KUBERNETES_SERVICE_PORT", port)
	t.Setenv("VMT_PROVIDER", "")
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	for k, v := range env {
		t.Setenv(k, v)
	}
	c := Register(flag.NewFlagSet("test", flag.ContinueOnError))
	c.NoCluster = noCluster
	return c, c.Validate()
}

func TestExistingProviderInsideAPod(t *testing.T) {
	c, err := loadFor(t, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kubeconfig != "" || c.InCluster == nil || c.InCluster.Namespace != "vmt-conformance" {
		t.Fatalf("want the service account, got kubeconfig %q, in-cluster %+v", c.Kubeconfig, c.InCluster)
	}

	// A kubeconfig, when there is one, still wins inside a pod.
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = loadFor(t, true, false, map[string]string{"KUBECONFIG": kc})
	if err != nil || c.Kubeconfig != kc || c.InCluster != nil {
		t.Fatalf("want kubeconfig %s, got %q, %+v, %v", kc, c.Kubeconfig, c.InCluster, err)
	}
}

// ginkgo --dry-run needs no cluster: the missing kubeconfig is not an error then, and is
// one for a real run; other configuration errors stay errors in a dry run.
func TestNoClusterSkipsOnlyTheClusterChecks(t *testing.T) {
	if _, err := loadFor(t, false, true, nil); err != nil {
		t.Fatalf("dry run without a kubeconfig: %v", err)
	}
	if _, err := loadFor(t, false, false, nil); err == nil || !strings.Contains(err.Error(), "no kubeconfig for the existing provider") {
		t.Fatalf("real run without a kubeconfig: want the no-kubeconfig error, got %v", err)
	}
	if _, err := loadFor(t, false, true, map[string]string{"VMT_KEEP_ON_FAILURE": "maybe"}); err == nil || !strings.Contains(err.Error(), "VMT_KEEP_ON_FAILURE") {
		t.Fatalf("dry run with a bad setting: want its error, got %v", err)
	}
}
