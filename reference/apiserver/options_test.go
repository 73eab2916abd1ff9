package apiserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

const testKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`

// The server's own client is unthrottled unless --client-qps asks otherwise (issue 8: a
// client-go default of 5 QPS caps /process at 5 calls/s).
func TestClientRateLimitFlags(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args    []string
		qps     float32
		burst   int
		invalid string
	}{
		{args: nil, qps: -1, burst: 0},
		{args: []string{"--client-qps=5"}, qps: 5, burst: 10},
		{args: []string{"--client-qps=5", "--client-burst=1"}, qps: 5, burst: 1},
		{args: []string{"--client-qps=0"}, invalid: "--client-qps=0: want -1"},
		{args: []string{"--client-qps=-2"}, invalid: "--client-qps=-2: want -1"},
		{args: []string{"--client-qps=5", "--client-burst=0"}, invalid: "--client-burst=0: want at least 1"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			o := NewOptions()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(append([]string{"--kubeconfig=" + kubeconfig}, tc.args...)); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			if tc.invalid != "" {
				if err == nil || !strings.Contains(err.Error(), tc.invalid) {
					t.Fatalf("want an error containing %q, got %v", tc.invalid, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := o.clientConfig()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.QPS != tc.qps || cfg.Burst != tc.burst || cfg.RateLimiter != nil {
				t.Fatalf("client QPS %v burst %d limiter %v; want %v/%d", cfg.QPS, cfg.Burst, cfg.RateLimiter, tc.qps, tc.burst)
			}
		})
	}
}
