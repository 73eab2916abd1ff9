package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	cluster "github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/internal/pki"
	templatecrd "github.com/vmt-conformance/vmt-conformance/reference/config/crd"
)

// Timing of the tests, all in one place.
const (
	clusterStartTimeout = 3 * time.Minute
	settle              = 30 * time.Second
	poll                = 100 * time.Millisecond
)

func noEnv(string) string { return "" }

func TestFlagErrorsAreOneLineAndExit2(t *testing.T) {
	cases := map[string][]string{
		"unknown flag":      {"--bogus"},
		"port out of range": {"--webhook-port", "70000"},
		"bad TLS version":   {"--tls-min-version", "TLS9"},
		"bad cipher":        {"--tls-cipher-suites", "NOPE"},
		"bad probe address": {"--health-probe-bind-address", "nowhere"},
		"stray argument":    {"extra"},
		"bad zap level":     {"--zap-log-level", "loud"},
		"non-numeric port":  {"--webhook-port", "x"},
		"bad metrics addr":  {"--metrics-bind-address", "1.2.3.4:port"},
		"bad webhook host":  {"--webhook-host", "a:b"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr, func() context.Context {
				t.Fatal("invalid flags must not start anything")
				return nil
			})
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if lines := strings.Count(stderr.String(), "\n"); lines != 1 || !strings.HasPrefix(stderr.String(), name0) {
				t.Errorf("stderr %q, want one line starting with %q", stderr.String(), name0)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

const name0 = name + ": "

func TestHelpDocumentsAdditions(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--help"}, &stdout, &stderr, nil); code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{"-leader-elect", "-metrics-bind-address", "-health-probe-bind-address", "-metrics-secure",
		"-webhook-cert-path", "-enable-http2", "-tls-min-version", "-zap-log-level",
		"-kubeconfig string\n    \t(addition)", "-webhook-host string\n    \t(addition)", "-webhook-port int\n    \t(addition)",
		"ENABLE_WEBHOOKS=false"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

func TestDefaultsAndEnvironment(t *testing.T) {
	c, err := parse(nil, &bytes.Buffer{}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.metricsAddr != "0" || c.probeAddr != ":8081" || c.webhookPort != 9443 || !c.secureMetrics || c.leaderElect || !c.enableWebhooks {
		t.Errorf("defaults: %+v", c)
	}
	if len(c.tlsOpts) != 1 {
		t.Errorf("HTTP/2 must be off by default")
	}
	c, err = parse(nil, &bytes.Buffer{}, func(k string) string { return map[string]string{enableWebhooksEnv: "false"}[k] })
	if err != nil || c.enableWebhooks {
		t.Errorf("ENABLE_WEBHOOKS=false: %v, enableWebhooks=%v", err, c != nil && c.enableWebhooks)
	}
	if _, err := parse([]string{"-h"}, &bytes.Buffer{}, noEnv); err != flag.ErrHelp {
		t.Errorf("-h: %v", err)
	}
}

// TestServesUntilCancelled runs the program as the hermetic lane does, waits for /readyz
// (caches synced and the webhook server answering TLS), then cancels as SIGTERM would and
// expects exit 0.
func TestServesUntilCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the hermetic control plane")
	}
	if err := cluster.CheckAssets(cluster.DefaultAssetsDir()); err != nil {
		t.Fatal(err)
	}
	templates, err := templatecrd.CustomResourceDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	// Only the template CRDs: the request controller waits behind its availability gate,
	// which must not hold readiness up.
	cp, err := cluster.Start(ctx, cluster.Options{CRDs: templates, StartTimeout: clusterStartTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()

	certDir := filepath.Join(cp.Dir(), "webhook-certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA("ca")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.Issue("webhook", pki.Server)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := kp.Write(certDir, "tls"); err != nil {
		t.Fatal(err)
	}
	webhookPort, probePort := freePort(t), freePort(t)

	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{
			"--kubeconfig", cp.KubeconfigPath(),
			"--webhook-cert-path", certDir,
			"--webhook-host", "127.0.0.1", "--webhook-port", strconv.Itoa(webhookPort),
			"--health-probe-bind-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(probePort)),
			"--metrics-bind-address", "0",
			"--zap-log-level", "error",
		}, &bytes.Buffer{}, &stderr, func() context.Context { return runCtx })
	}()

	readyz := fmt.Sprintf("http://127.0.0.1:%d/readyz?verbose", probePort)
	var last string
	err = wait.PollUntilContextTimeout(ctx, poll, settle, true, func(ctx context.Context) (bool, error) {
		select {
		case code := <-done:
			return false, fmt.Errorf("exited with %d: %s", code, stderr.String())
		default:
		}
		res, err := http.Get(readyz)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(res.Body)
		_ = res.Body.Close()
		last = body.String()
		return res.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("readyz: %v (last answer: %s)", err, last)
	}
	for _, check := range []string{"[+]informers ok", "[+]webhook ok"} {
		if !strings.Contains(last, check) {
			t.Errorf("readyz %q lacks %q", last, check)
		}
	}

	stop()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit code %d after cancellation: %s", code, stderr.String())
		}
	case <-time.After(settle):
		t.Fatal("did not shut down")
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
