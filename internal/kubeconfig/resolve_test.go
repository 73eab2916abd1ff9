package kubeconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// fakeWorld is a home directory, a service-account mount and an environment, each present
// or not, for the resolution order.
type fakeWorld struct {
	explicit   string // "" | "file" | "missing"
	homeConfig bool
	podEnv     bool
	token      bool
}

func (w fakeWorld) sources(t *testing.T) (Sources, map[string]string) {
	t.Helper()
	root := t.TempDir()
	paths := map[string]string{}
	s := Sources{Home: filepath.Join(root, "home"), ServiceAccountDir: filepath.Join(root, "sa")}
	mustWrite := func(p, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	switch w.explicit {
	case "file":
		s.Explicit = filepath.Join(root, "explicit.kubeconfig")
		mustWrite(s.Explicit, "apiVersion: v1\nkind: Config\n")
	case "missing":
		s.Explicit = filepath.Join(root, "nope.kubeconfig")
	}
	paths["explicit"] = s.Explicit
	paths["home"] = filepath.Join(s.Home, ".kube", "config")
	if w.homeConfig {
		mustWrite(paths["home"], "apiVersion: v1\nkind: Config\n")
	} else if err := os.MkdirAll(s.Home, 0o755); err != nil {
		t.Fatal(err)
	}
	if w.token {
		mustWrite(filepath.Join(s.ServiceAccountDir, "token"), "tok")
		mustWrite(filepath.Join(s.ServiceAccountDir, "ca.crt"), "ca")
		mustWrite(filepath.Join(s.ServiceAccountDir, "namespace"), "vmt-conformance\n")
	}
	env := map[string]string{"HOSTNAME": "vmt-conformance-abc12"}
	if w.podEnv {
		env["KUBERNETES_SERVICE_HOST"] = "10.96.0.1"
		env["KUBERNETES_SERVICE_PORT"] = "443"
	}
	s.Getenv = func(k string) string { return env[k] }
	return s, paths
}

func TestResolveOrder(t *testing.T) {
	cases := []struct {
		name  string
		world fakeWorld
		want  string // "explicit" | "home" | "in-cluster" | error substring
	}{
		{"explicit wins over everything", fakeWorld{explicit: "file", homeConfig: true, podEnv: true, token: true}, "explicit"},
		{"a missing explicit file is an error, not a fall-through", fakeWorld{explicit: "missing", homeConfig: true, podEnv: true, token: true}, "does not exist (from KUBECONFIG or --vmt.kubeconfig)"},
		{"home config before the service account", fakeWorld{homeConfig: true, podEnv: true, token: true}, "home"},
		{"service account when nothing else", fakeWorld{podEnv: true, token: true}, "in-cluster"},
		{"token without the pod environment", fakeWorld{token: true}, "no kubeconfig for the existing provider"},
		{"pod environment without a token", fakeWorld{podEnv: true}, "is automountServiceAccountToken off?"},
		{"nothing at all", fakeWorld{}, "no kubeconfig for the existing provider: set KUBECONFIG or --vmt.kubeconfig, run inside a pod"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, paths := tc.world.sources(t)
			r, err := Resolve(s)
			switch tc.want {
			case "explicit", "home":
				if err != nil || r.InCluster != nil || r.Path != paths[tc.want] {
					t.Fatalf("want kubeconfig %s, got %+v, %v", paths[tc.want], r, err)
				}
				if !strings.HasPrefix(r.Line(), "using kubeconfig "+paths[tc.want]) {
					t.Fatalf("line %q", r.Line())
				}
			case "in-cluster":
				if err != nil || r.InCluster == nil || r.Path != "" {
					t.Fatalf("want the service account, got %+v, %v", r, err)
				}
				c := r.InCluster
				if c.Namespace != "vmt-conformance" || c.Pod != "vmt-conformance-abc12" || c.Server() != "https://10.96.0.1:443" ||
					c.TokenFile != filepath.Join(s.ServiceAccountDir, "token") || c.CAFile != filepath.Join(s.ServiceAccountDir, "ca.crt") {
					t.Fatalf("in-cluster %+v", c)
				}
				if want := "using the in-cluster service account of pod vmt-conformance/vmt-conformance-abc12, API server https://10.96.0.1:443"; r.Line() != want {
					t.Fatalf("line %q, want %q", r.Line(), want)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("want an error containing %q, got %+v, %v", tc.want, r, err)
				}
				if strings.Contains(tc.want, "no kubeconfig") && !errors.Is(err, ErrNoKubeconfig) {
					t.Fatalf("%v is not ErrNoKubeconfig", err)
				}
			}
		})
	}
}

func TestResolveNamesPodFromDownwardAPI(t *testing.T) {
	s, _ := fakeWorld{podEnv: true, token: true}.sources(t)
	base := s.Getenv
	s.Getenv = func(k string) string {
		switch k {
		case "POD_NAME":
			return "runner-xyz"
		case "SERVICE_ACCOUNT":
			return "vmt-conformance"
		}
		return base(k)
	}
	r, err := Resolve(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := "using the in-cluster service account (vmt-conformance) of pod vmt-conformance/runner-xyz, API server https://10.96.0.1:443"; r.Line() != want {
		t.Fatalf("line %q, want %q", r.Line(), want)
	}
}

// The kubeconfig for child processes references the token file (re-read when the kubelet
// rotates it) and holds no token.
func TestWriteForChildren(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("secret-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := &rest.Config{Host: "https://10.96.0.1:443", BearerToken: "secret-token", BearerTokenFile: tokenFile,
		TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(dir, "ca.crt")}}
	path, err := WriteForChildren(dir, in)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "secret-token") {
		t.Fatalf("the kubeconfig holds the token:\n%s", raw)
	}
	out, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	if out.Host != in.Host || out.BearerTokenFile != tokenFile || out.BearerToken != "secret-token" || out.CAFile != in.CAFile {
		t.Fatalf("loaded %+v", out)
	}
	if in.BearerToken != "secret-token" {
		t.Fatal("WriteForChildren changed its argument")
	}
}
