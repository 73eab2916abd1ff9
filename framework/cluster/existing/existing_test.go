package existing

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// In a pod without a kubeconfig, Up uses the service account, says so in one line, and
// writes a kubeconfig for child processes that reaches the same server; Down removes it.
func TestUpInClusterWithoutKubeconfig(t *testing.T) {
	var sawToken string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawToken = r.Header.Get("Authorization")
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"34","gitVersion":"v1.34.0"}`))
	}))
	defer srv.Close()

	sa := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	for name, content := range map[string]string{"token": "pod-token", "namespace": "vmt-conformance", "ca.crt": string(ca)} {
		if err := os.WriteFile(filepath.Join(sa, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	t.Setenv("HOSTNAME", "vmt-conformance-abc12")
	t.Setenv("POD_NAME", "")
	t.Setenv("SERVICE_ACCOUNT", "")
	defer func(dir string, f func() (*rest.Config, error)) { serviceAccountDir, inClusterConfig = dir, f }(serviceAccountDir, inClusterConfig)
	serviceAccountDir = sa
	inClusterConfig = func() (*rest.Config, error) {
		return &rest.Config{Host: srv.URL, BearerToken: "pod-token", BearerTokenFile: filepath.Join(sa, "token"),
			TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(sa, "ca.crt")}}, nil
	}

	t.Setenv("TMPDIR", t.TempDir()) // where Up writes the kubeconfig for child processes
	var out bytes.Buffer
	p := New("", "", "kubevirt").WithProgress(&out)
	t.Cleanup(func() { _ = p.Down(context.Background()) })
	if err := p.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := "using the in-cluster service account of pod vmt-conformance/vmt-conformance-abc12, API server https://10.96.0.1:443\n"; out.String() != want {
		t.Fatalf("printed %q, want %q", out.String(), want)
	}
	if sawToken != "Bearer pod-token" {
		t.Fatalf("the server saw Authorization %q", sawToken)
	}
	path := p.KubeconfigPath()
	child, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("kubeconfig for child processes %s: %v", path, err)
	}
	if child.Host != srv.URL || child.BearerTokenFile != filepath.Join(sa, "token") || child.CAFile != filepath.Join(sa, "ca.crt") {
		t.Fatalf("child kubeconfig %+v", child)
	}
	if err := p.Down(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("Down left %s: %v", path, err)
	}
}

// Outside a pod, with nothing to resolve, Up fails saying what to set.
func TestUpWithoutAnything(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	err := New("", "", "kubevirt").Up(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no kubeconfig for the existing provider") {
		t.Fatalf("want the no-kubeconfig error, got %v", err)
	}
}
