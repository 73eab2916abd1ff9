package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	cliflag "k8s.io/component-base/cli/flag"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/controller"
	"github.com/vmt-conformance/vmt-conformance/reference/emulation"
	"github.com/vmt-conformance/vmt-conformance/reference/faults"
)

const name = "vmt-template-controller"

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// enableWebhooksEnv set to "false" disables the webhook server, as upstream.
const enableWebhooksEnv = "ENABLE_WEBHOOKS"

// config is everything the flags and the environment decide.
type config struct {
	metricsAddr, probeAddr                           string
	leaderElect, secureMetrics, enableHTTP2          bool
	webhookCertPath, webhookCertName, webhookCertKey string
	metricsCertPath, metricsCertName, metricsCertKey string
	cipherSuites, minTLSVersion                      string
	kubeconfig, webhookHost                          string
	webhookPort                                      int
	enableWebhooks                                   bool
	zap                                              zap.Options
	faults                                           faults.Set
	tlsOpts                                          []func(*tls.Config)
	// release is the virt-template release played (--emulate-release).
	release release.Version
}

// parse reads the flags; help is reported as flag.ErrHelp, after the usage went to stdout.
func parse(args []string, stdout io.Writer, getenv func(string) string) (*config, error) {
	c := &config{release: emulation.Default}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by the caller
	fs.StringVar(&c.metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	fs.StringVar(&c.probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to (/healthz, /readyz).")
	fs.BoolVar(&c.leaderElect, "leader-elect", false,
		"Enable leader election for controller manager. Enabling this will ensure there is only one active controller manager.")
	fs.BoolVar(&c.secureMetrics, "metrics-secure", true,
		"If set, the metrics endpoint is served securely via HTTPS. Use --metrics-secure=false to use HTTP instead.")
	fs.StringVar(&c.webhookCertPath, "webhook-cert-path", "", "The directory that contains the webhook certificate.")
	fs.StringVar(&c.webhookCertName, "webhook-cert-name", "tls.crt", "The name of the webhook certificate file.")
	fs.StringVar(&c.webhookCertKey, "webhook-cert-key", "tls.key", "The name of the webhook key file.")
	fs.StringVar(&c.metricsCertPath, "metrics-cert-path", "", "The directory that contains the metrics server certificate.")
	fs.StringVar(&c.metricsCertName, "metrics-cert-name", "tls.crt", "The name of the metrics server certificate file.")
	fs.StringVar(&c.metricsCertKey, "metrics-cert-key", "tls.key", "The name of the metrics server key file.")
	fs.BoolVar(&c.enableHTTP2, "enable-http2", false, "If set, HTTP/2 will be enabled for the metrics and webhook servers")
	fs.StringVar(&c.cipherSuites, "tls-cipher-suites", "", "Comma-separated list of cipher suites for the server. "+
		"If omitted, the default Go cipher suites will be used. Preferred values: "+
		strings.Join(cliflag.PreferredTLSCipherNames(), ", ")+".")
	fs.StringVar(&c.minTLSVersion, "tls-min-version", "", "Minimum TLS version supported. Possible values: "+
		strings.Join(cliflag.TLSPossibleVersions(), ", "))
	c.zap.BindFlags(fs)
	// Additions for running outside a cluster.
	fs.StringVar(&c.kubeconfig, "kubeconfig", "",
		"(addition) Path to a kubeconfig. Default: in-cluster configuration, or $KUBECONFIG.")
	fs.StringVar(&c.webhookHost, "webhook-host", "",
		"(addition) The address the webhook server listens on; empty means all interfaces.")
	fs.IntVar(&c.webhookPort, "webhook-port", webhook.DefaultPort, "(addition) The port the webhook server listens on.")
	fs.Var(emulation.Flag{V: &c.release}, emulation.FlagName, "(addition) "+emulation.Usage)
	// The flag package prints usage on every error; only --help should.
	fs.Usage = func() {}
	usage := func() {
		fmt.Fprintf(stdout, "Usage of %s:\n", name)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		fmt.Fprintf(stdout, "\nEnvironment:\n  %s=false\tdisable the validating webhooks and their server\n", enableWebhooksEnv)
		fmt.Fprintf(stdout, "  %s=<fault,...>\tinject deliberate bugs for the suite's self-tests (%s)\n", faults.EnvVar, faults.KnownList())
	}

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.webhookPort < 1 || c.webhookPort > 65535 {
		return nil, fmt.Errorf("--webhook-port must be within 1-65535, got %d", c.webhookPort)
	}
	if c.webhookHost != "" && net.ParseIP(c.webhookHost) == nil && strings.ContainsAny(c.webhookHost, ":/ ") {
		return nil, fmt.Errorf("--webhook-host must be a host name or IP address, got %q", c.webhookHost)
	}
	for flagName, addr := range map[string]string{"--metrics-bind-address": c.metricsAddr, "--health-probe-bind-address": c.probeAddr} {
		if err := checkBindAddress(addr); err != nil {
			return nil, fmt.Errorf("%s: %w", flagName, err)
		}
	}
	if !c.enableHTTP2 {
		// HTTP/2 stays off by default (Rapid Reset and Stream Cancellation CVEs), as upstream.
		c.tlsOpts = append(c.tlsOpts, func(t *tls.Config) { t.NextProtos = []string{"http/1.1"} })
	}
	if c.cipherSuites != "" {
		ids, err := cliflag.TLSCipherSuites(strings.Split(c.cipherSuites, ","))
		if err != nil {
			return nil, fmt.Errorf("--tls-cipher-suites: %w", err)
		}
		c.tlsOpts = append(c.tlsOpts, func(t *tls.Config) { t.CipherSuites = ids })
	}
	if c.minTLSVersion != "" {
		v, err := cliflag.TLSVersion(c.minTLSVersion)
		if err != nil {
			return nil, fmt.Errorf("--tls-min-version: %w", err)
		}
		c.tlsOpts = append(c.tlsOpts, func(t *tls.Config) { t.MinVersion = v })
	}
	c.enableWebhooks = getenv(enableWebhooksEnv) != "false"
	var err error
	if c.faults, err = faults.FromEnv(getenv); err != nil {
		return nil, err
	}
	return c, nil
}

// checkBindAddress accepts "0" (disabled) and host:port with a numeric port.
func checkBindAddress(addr string) error {
	if addr == "0" || addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("invalid port %q", port)
	}
	return nil
}

func (c *config) restConfig() (*rest.Config, error) {
	if c.kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("loading --kubeconfig %s: %w", c.kubeconfig, err)
		}
		return cfg, nil
	}
	return ctrl.GetConfig()
}

// run is the whole program; signals gives the context that ends on SIGTERM/SIGINT.
func run(args []string, stdout, stderr io.Writer, signals func() context.Context) int {
	c, err := parse(args, stdout, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v (see --help)\n", name, err)
		return exitUsage
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&c.zap), zap.WriteTo(stderr)))
	log := ctrl.Log.WithName("setup")
	fmt.Fprintln(stderr, emulation.Banner(name, c.release))
	if banner := c.faults.Banner(name); banner != "" {
		fmt.Fprintln(stderr, banner)
	}
	if err := start(signals(), c); err != nil {
		log.Error(err, "Controller manager failed")
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitError
	}
	return exitOK
}

func start(ctx context.Context, c *config) error {
	cfg, err := c.restConfig()
	if err != nil {
		return err
	}
	opts, err := controller.ManagerOptionsFor(cfg, c.release)
	if err != nil {
		return err
	}
	webhookOpts := webhook.Options{Host: c.webhookHost, Port: c.webhookPort, TLSOpts: c.tlsOpts}
	if c.webhookCertPath != "" {
		webhookOpts.CertDir, webhookOpts.CertName, webhookOpts.KeyName = c.webhookCertPath, c.webhookCertName, c.webhookCertKey
	}
	metricsOpts := metricsserver.Options{BindAddress: c.metricsAddr, SecureServing: c.secureMetrics, TLSOpts: c.tlsOpts}
	if c.secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	if c.metricsCertPath != "" {
		metricsOpts.CertDir, metricsOpts.CertName, metricsOpts.KeyName = c.metricsCertPath, c.metricsCertName, c.metricsCertKey
	}
	opts.Metrics = metricsOpts
	opts.WebhookServer = webhook.NewServer(webhookOpts)
	opts.HealthProbeBindAddress = c.probeAddr
	opts.LeaderElection = c.leaderElect

	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	if err := controller.Setup(mgr, controller.Options{
		EnableWebhooks:               c.enableWebhooks,
		FaultKeepSourceMAC:           c.faults.Has(faults.KeepSourceMAC),
		FaultNeverReconcileTemplates: c.faults.Has(faults.NeverReconcileTemplates),
		FaultKeepSnapshotOnDelete:    c.faults.Has(faults.KeepSnapshotOnDelete),
		FaultAdoptForeignTemplate:    c.faults.Has(faults.AdoptForeignTemplate),
		FaultCopySourceSecrets:       c.faults.Has(faults.CopySourceSecrets),
		Release:                      &c.release,
	}); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("Starting manager", "webhooks", c.enableWebhooks, "emulatedRelease", c.release.String())
	return mgr.Start(ctx)
}
