package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	for _, k := range []string{"VMT_PROVIDER", "KUBECONFIG", "VMT_KEEP_ON_FAILURE", "VMT_GOLDEN_IMAGE", "VMT_TIMEOUT_SCALE", "VMT_INTERVAL_SHORT", "VMT_SCALE_CLIENTS", "VMT_SCALE_MAX_P99", "VMT_SCALE_MIN_PROCESS_RPS", "VMT_EXPECT_RELEASE", "KUBERNETES_SERVICE_HOST"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", t.TempDir())
	for k, v := range env {
		t.Setenv(k, v)
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c := Register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return c, c.Validate()
}

func TestValidateErrors(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string // "" = valid
	}{
		{"local needs no kubeconfig", nil, []string{"-vmt.provider=local"}, ""},
		{"existing with a kubeconfig", map[string]string{"KUBECONFIG": kubeconfig}, nil, ""},
		{"unknown provider", nil, []string{"-vmt.provider=kvm"}, `unknown provider "kvm" (known: existing, local, kind)`},
		{"unknown provider from env", map[string]string{"VMT_PROVIDER": "kvm"}, nil, `unknown provider "kvm"`},
		{"no kubeconfig", nil, nil, "no kubeconfig for the existing provider: set KUBECONFIG"},
		{"missing kubeconfig file", map[string]string{"KUBECONFIG": "/nonexistent/kubeconfig"}, nil, "kubeconfig /nonexistent/kubeconfig does not exist"},
		{"boolean env", map[string]string{"VMT_KEEP_ON_FAILURE": "maybe"}, []string{"-vmt.provider=local"}, `VMT_KEEP_ON_FAILURE="maybe" is not a boolean`},
		{"golden image ref", nil, []string{"-vmt.provider=local", "-vmt.golden-image=fedora"}, `--vmt.golden-image="fedora": want namespace/name`},
		{"interval env", map[string]string{"VMT_INTERVAL_SHORT": "soon"}, []string{"-vmt.provider=local"}, `VMT_INTERVAL_SHORT="soon" is not a positive duration`},
		{"scale clients env", map[string]string{"VMT_SCALE_CLIENTS": "four"}, []string{"-vmt.provider=local"}, `VMT_SCALE_CLIENTS="four" is not a whole number`},
		{"scale p99 env", map[string]string{"VMT_SCALE_MAX_P99": "fast"}, []string{"-vmt.provider=local"}, `VMT_SCALE_MAX_P99="fast" is not a duration`},
		{"scale rate env", map[string]string{"VMT_SCALE_MIN_PROCESS_RPS": "lots"}, []string{"-vmt.provider=local"}, `VMT_SCALE_MIN_PROCESS_RPS="lots" is not a number`},
		{"no VMs", nil, []string{"-vmt.provider=local", "-vmt.scale.vms=0"}, `--vmt.scale.vms=0: want at least 1`},
		{"zero p99", nil, []string{"-vmt.provider=local", "-vmt.scale.max-p99=0s"}, `--vmt.scale.max-p99=0s: want a positive duration`},
		{"timeout scale env", map[string]string{"VMT_TIMEOUT_SCALE": "-1"}, []string{"-vmt.provider=local"}, `VMT_TIMEOUT_SCALE="-1" must be a positive number`},
		{"expected release", map[string]string{"VMT_EXPECT_RELEASE": "v0.1.8"}, []string{"-vmt.provider=local"}, ""},
		{"expected release unknown", nil, []string{"-vmt.provider=local", "-vmt.expect-release=unknown"}, ""},
		{"bad expected release", map[string]string{"VMT_EXPECT_RELEASE": "latest"}, []string{"-vmt.provider=local"}, `--vmt.expect-release="latest" (env VMT_EXPECT_RELEASE): want a virt-template release`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.env, tc.args...)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestScaleDefaultsAndEnv(t *testing.T) {
	c, err := load(t, nil, "-vmt.provider=local")
	if err != nil {
		t.Fatal(err)
	}
	want := Scale{ProcessCalls: 1000, Clients: 4, VMs: 500, MinProcessRate: 100, MinCreateRate: 20, MaxP99: 500 * time.Millisecond}
	if c.Scale != want {
		t.Fatalf("defaults: got %+v, want %+v", c.Scale, want)
	}
	c, err = load(t, map[string]string{"VMT_SCALE_CLIENTS": "8", "VMT_SCALE_MAX_P99": "50ms", "VMT_SCALE_MIN_PROCESS_RPS": "300"}, "-vmt.provider=local", "-vmt.scale.clients=2")
	if err != nil {
		t.Fatal(err)
	}
	if c.Scale.Clients != 2 || c.Scale.MaxP99 != 50*time.Millisecond || c.Scale.MinProcessRate != 300 {
		t.Fatalf("flag over env over default: got %+v", c.Scale)
	}
}
