// Package config holds the suite's configuration: flags, each with an environment variable
// that sets its default, validated in one place with errors that say what to do.
//
// With `go test`/`ginkgo`, flags go after the package (ginkgo ... ./tests -- -vmt.provider=local);
// environment variables work everywhere and are what the runner (cmd/vmt-e2e) sets.
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/internal/kubeconfig"
)

// Providers the suite knows.
var Providers = []string{"existing", "local", "kind"}

// Config is the suite's configuration after flags and environment.
type Config struct {
	// Provider is existing | local | kind.
	Provider string
	// Kubeconfig for the existing provider (or written by local).
	Kubeconfig string
	// Capabilities overrides detection: "+guest,-virtctl".
	Capabilities string
	// ArtifactsDir receives reports and per-failure dumps.
	ArtifactsDir string
	// KeepOnFailure keeps a failed spec's namespace for inspection.
	KeepOnFailure bool
	// SkipCleanupCheck skips the end-of-run wait for everything the run created to be gone
	// (framework/cleanup); the report then says the cleanup was not checked.
	SkipCleanupCheck bool
	// CleanEarlierRuns deletes, when the run starts, what earlier runs left on the cluster
	// (objects labelled vmt-conformance.io/e2e=true of another run id, not kept on purpose).
	CleanEarlierRuns bool
	// Virtctl is the virtctl binary (real virtctl or our reference CLI); "" = look on PATH.
	Virtctl string
	// InstallNamespace is where KubeVirt and the template components run.
	InstallNamespace string
	// ExpectRelease forces the virt-template release whose behaviour the specs expect
	// (framework.Release); "" = the release detected on the cluster (framework/sut).
	ExpectRelease string
	// LocalAssets holds the local provider's control-plane binaries.
	LocalAssets string
	// GoldenImage is an existing DataSource "namespace/name" to adopt; "" = provision one.
	GoldenImage string
	// WindowsImage is a Windows DataSource "namespace/name" to adopt.
	WindowsImage string
	// Scale sizes and judges the scale lane (VMT-024).
	Scale Scale
	// Dumps bounds the per-failed-spec artifact dumps.
	Dumps Dumps
	// Kind configures the kind provider.
	Kind Kind
	// Local configures the local provider (its profile).
	Local Local

	// NoCluster says the run needs no cluster (ginkgo --dry-run, set by the suite from
	// GinkgoConfiguration): Validate then skips the cluster checks (the kubeconfig), which
	// the provider makes again when it comes up.
	NoCluster bool
	// InCluster is set by Validate when the existing provider will use the pod's service
	// account (no kubeconfig found, in-cluster environment present); Kubeconfig is then "".
	InCluster *kubeconfig.InCluster

	envErrors []error
	// registered is set by Register: only then do the flag-only settings (Scale) exist.
	registered bool
}

// Register adds the suite's flags (and the named intervals') to fs, with defaults taken from
// the environment.
func Register(fs *flag.FlagSet) *Config {
	c := &Config{registered: true}
	c.str(fs, &c.Provider, "vmt.provider", "VMT_PROVIDER", "existing", "cluster provider: "+strings.Join(Providers, " | "))
	c.str(fs, &c.Kubeconfig, "vmt.kubeconfig", "KUBECONFIG", "", "kubeconfig of the cluster under test (existing provider)")
	c.str(fs, &c.Capabilities, "vmt.capabilities", "VMT_CAPABILITIES", "", `declare capabilities detection cannot know, e.g. "+guest,-virtctl"`)
	c.str(fs, &c.ArtifactsDir, "vmt.artifacts", "VMT_ARTIFACTS", "_output/artifacts", "directory for reports and failure dumps")
	c.boolean(fs, &c.KeepOnFailure, "vmt.keep-on-failure", "VMT_KEEP_ON_FAILURE", false, "keep a failed spec's namespace and objects")
	c.boolean(fs, &c.SkipCleanupCheck, "vmt.skip-cleanup-check", "VMT_SKIP_CLEANUP_CHECK", false, "do not wait at the end for everything the run created to be gone, nor report leftovers")
	c.boolean(fs, &c.CleanEarlierRuns, "vmt.clean-earlier-runs", "VMT_CLEAN_EARLIER_RUNS", true, "at start, delete what earlier runs left on the cluster (not what they kept on purpose); false when several runs share a cluster at once")
	c.str(fs, &c.Virtctl, "vmt.virtctl", "VMT_VIRTCTL", "", "virtctl binary (real virtctl or bin/vmt-virtctl); empty: look up virtctl on PATH")
	c.str(fs, &c.InstallNamespace, "vmt.install-namespace", "VMT_INSTALL_NAMESPACE", "kubevirt", "namespace of KubeVirt and the template components")
	c.str(fs, &c.ExpectRelease, "vmt.expect-release", "VMT_EXPECT_RELEASE", "", `virt-template release whose behaviour the specs expect, e.g. v0.1.8 or "unknown" (newest); default: the release detected on the cluster`)
	c.str(fs, &c.LocalAssets, "vmt.local-assets", "VMT_LOCAL_ASSETS", "", "control-plane binaries for the local provider (default: ci/kube/build.sh's cache)")
	c.str(fs, &c.GoldenImage, "vmt.golden-image", "VMT_GOLDEN_IMAGE", "", "DataSource namespace/name to adopt as golden image (default: provision one)")
	c.str(fs, &c.WindowsImage, "vmt.windows-image", "VMT_WINDOWS_IMAGE", "", "Windows DataSource namespace/name (needed by requires-windows-image specs)")
	c.Scale.register(c, fs)
	c.Dumps.register(c, fs)
	c.Kind.register(c, fs)
	c.Local.register(c, fs)
	wait.Register(fs, c.envError)
	return c
}

func (c *Config) envError(err error) { c.envErrors = append(c.envErrors, err) }

func (c *Config) str(fs *flag.FlagSet, p *string, name, env, def, usage string) {
	if v, ok := os.LookupEnv(env); ok && v != "" {
		def = v
	}
	fs.StringVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
}

func (c *Config) integer(fs *flag.FlagSet, p *int, name, env string, def int, usage string) {
	if v, ok := os.LookupEnv(env); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			c.envError(fmt.Errorf("%s=%q is not a whole number", env, v))
		} else {
			def = n
		}
	}
	fs.IntVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
}

func (c *Config) float(fs *flag.FlagSet, p *float64, name, env string, def float64, usage string) {
	if v, ok := os.LookupEnv(env); ok && v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			c.envError(fmt.Errorf("%s=%q is not a number", env, v))
		} else {
			def = f
		}
	}
	fs.Float64Var(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
}

func (c *Config) duration(fs *flag.FlagSet, p *time.Duration, name, env string, def time.Duration, usage string) {
	if v, ok := os.LookupEnv(env); ok && v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			c.envError(fmt.Errorf("%s=%q is not a duration (e.g. 250ms, 1s)", env, v))
		} else {
			def = d
		}
	}
	fs.DurationVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
}

func (c *Config) boolean(fs *flag.FlagSet, p *bool, name, env string, def bool, usage string) {
	if v, ok := os.LookupEnv(env); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			c.envError(fmt.Errorf("%s=%q is not a boolean (use true or false)", env, v))
		} else {
			def = b
		}
	}
	fs.BoolVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
}

// Validate checks the configuration and resolves defaults, returning every problem at once.
func (c *Config) Validate() error {
	errs := slices.Clone(c.envErrors)
	if !slices.Contains(Providers, c.Provider) {
		errs = append(errs, fmt.Errorf("unknown provider %q (known: %s)", c.Provider, strings.Join(Providers, ", ")))
	}
	if c.Provider == "existing" && !c.NoCluster {
		if err := c.resolveKubeconfig(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.ExpectRelease != "" {
		if _, err := release.Parse(c.ExpectRelease); err != nil {
			errs = append(errs, fmt.Errorf("--vmt.expect-release=%q (env VMT_EXPECT_RELEASE): want a virt-template release such as v0.1.8, or \"unknown\" for the newest behaviour", c.ExpectRelease))
		}
	}
	if err := validateRef("vmt.golden-image", c.GoldenImage); err != nil {
		errs = append(errs, err)
	}
	if err := validateRef("vmt.windows-image", c.WindowsImage); err != nil {
		errs = append(errs, err)
	}
	if c.registered {
		errs = append(errs, c.Scale.validate()...)
		errs = append(errs, wait.Validate()...)
	}
	errs = append(errs, c.Dumps.validate()...)
	if err := c.Local.validate(c.Provider); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// resolveKubeconfig applies kubeconfig.Resolve's order: --vmt.kubeconfig/KUBECONFIG, then
// ~/.kube/config, then the pod's service account.
func (c *Config) resolveKubeconfig() error {
	home, _ := os.UserHomeDir()
	r, err := kubeconfig.Resolve(kubeconfig.Sources{Explicit: c.Kubeconfig, Home: home, ServiceAccountDir: serviceAccountDir})
	if err != nil {
		return err
	}
	c.Kubeconfig, c.InCluster = r.Path, r.InCluster
	return nil
}

// serviceAccountDir is kubeconfig.ServiceAccountDir; tests point it at a fake.
var serviceAccountDir = kubeconfig.ServiceAccountDir

func validateRef(flagName, ref string) error {
	if ref == "" {
		return nil
	}
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("--%s=%q: want namespace/name", flagName, ref)
	}
	return nil
}

// SplitRef splits a validated "namespace/name".
func SplitRef(ref string) (namespace, name string) {
	namespace, name, _ = strings.Cut(ref, "/")
	return namespace, name
}
