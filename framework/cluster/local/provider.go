package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/fixtures/crds"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
)

// Provider is the hermetic lane: it owns its control plane and stops it in Down.
type Provider struct {
	opts    Options
	profile Profile
	cp      *ControlPlane
	sim     *simulator
}

// faultsEnv is reference/faults.EnvVar: set, the simulator starts the template components
// with deliberate bugs (the suite's self-tests).
const faultsEnv = "VMT_REFERENCE_FAULTS"

// defaultStartTimeout bounds the provider's start-up, simulator included.
const defaultStartTimeout = 2 * time.Minute

// NewProvider returns a local provider; Up starts the control plane with every CRD fixture.
// It plays DefaultProfile unless WithProfile says otherwise.
func NewProvider(assetsDir string, progress io.Writer) *Provider {
	return NewProviderWithOptions(Options{AssetsDir: assetsDir, Progress: progress})
}

// NewProviderWithOptions is NewProvider with every control-plane option (name, state root,
// start timeout); Options.CRDs is ignored: Up installs the provider's own set.
func NewProviderWithOptions(opts Options) *Provider {
	p, err := LookupProfile(DefaultProfile)
	if err != nil {
		panic(err) // DefaultProfile is in the table (profile_test.go)
	}
	return &Provider{opts: opts, profile: p}
}

// WithProfile makes the provider play profile p (see LookupProfile); call it before Up.
func (p *Provider) WithProfile(pr Profile) *Provider {
	p.profile = pr
	return p
}

// Profile is the generation the provider plays: its name, KubeVirt version and the
// virt-template release that deploys (Profile.String prints all three).
func (p *Provider) Profile() Profile { return p.profile }

// Name implements cluster.Provider.
func (p *Provider) Name() string { return "local" }

// Up starts the control plane with the KubeVirt, CDI, snapshot and OpenShift Template CRDs,
// creates the KubeVirt CR with the profile's feature gates (Template among them) and starts
// the simulator playing the profile's KubeVirt version, whose virt-operator role deploys the
// reference template controller and API server (template CRDs included) emulating the
// virt-template release of that version. It returns when the KubeVirt CR reports Available.
func (p *Provider) Up(ctx context.Context) error {
	if f := os.Getenv(faultsEnv); f != "" {
		fmt.Fprintf(p.progress(), "WARNING: %s=%s: the reference implementation runs with deliberate faults; specs are meant to fail\n", faultsEnv, f)
	}
	fmt.Fprintf(p.progress(), "local profile %s\n", p.profile)
	binDir, err := ResolveBinaries(ctx, p.progress())
	if err != nil {
		return err
	}
	defs, err := crds.Load(crds.Sets()...)
	if err != nil {
		return fmt.Errorf("loading CRD fixtures: %w", err)
	}
	opts := p.opts
	opts.CRDs = defs
	if opts.StartTimeout == 0 {
		opts.StartTimeout = defaultStartTimeout
	}
	// The simulator starts while kube-controller-manager comes up; Start stops it again
	// (through Down below) when either fails.
	opts.Alongside = func(ctx context.Context, cp *ControlPlane) error {
		sim, err := startSimulator(ctx, cp, binDir, p.profile, opts.StartTimeout)
		p.sim = sim
		return err
	}
	cp, err := Start(ctx, opts)
	if err != nil {
		_ = p.sim.stop()
		p.sim = nil
		return err
	}
	p.cp = cp
	cp.Timings = append(cp.Timings, p.sim.timings...)
	for _, t := range p.sim.timings {
		fmt.Fprintf(p.progress(), "  %-35s %v (alongside the controller manager)\n", t.Phase, t.Duration.Round(time.Millisecond))
	}
	return nil
}

func (p *Provider) progress() io.Writer {
	if p.opts.Progress == nil {
		return io.Discard
	}
	return p.opts.Progress
}

// ControlPlane exposes the running control plane (timings, front-proxy CA, run directory).
func (p *Provider) ControlPlane() *ControlPlane { return p.cp }

// RESTConfig implements cluster.Provider.
func (p *Provider) RESTConfig() *rest.Config { return p.cp.RESTConfig() }

// KubeconfigPath implements cluster.Provider.
func (p *Provider) KubeconfigPath() string { return p.cp.KubeconfigPath() }

// Capabilities implements cluster.Provider: everything that lives at the API level. No guest
// ever boots here, no Windows image exists, and there is no HyperConverged operator.
func (p *Provider) Capabilities(context.Context) (cluster.Capabilities, error) {
	cs := cluster.NewCapabilities()
	cs.Set(cluster.Guest, false, "the local lane has no virt-handler: no guest boots")
	cs.Set(cluster.WindowsImage, false, "the local lane has no Windows image")
	cs.Set(cluster.HCO, false, "the local lane has no HyperConverged operator")
	cs.Set(cluster.Monitoring, false, "the local lane runs no monitoring stack (no Prometheus alerts API)")
	cs.Set(cluster.OpenShift, true, "the local lane installs the template.openshift.io Template CRD")
	cs.Set(cluster.SnapshotStorage, true, "the simulator snapshots PVC and DataVolume volumes (VolumeSnapshotClass installed)")
	cs.Set(cluster.TemplateOperator, true, "the simulator's virt-operator role deploys and removes virt-template with the Template gate")
	cs.Set(cluster.Virtctl, false, "decided by the framework from --vmt.virtctl")
	return cs, nil
}

// CollectArtifacts copies the logs of the control plane, the simulator and the template
// components it runs.
func (p *Provider) CollectArtifacts(_ context.Context, dir string) error {
	if p.cp == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, src := range []string{filepath.Join(p.cp.Dir(), "logs"), filepath.Join(p.cp.Dir(), "sim", "logs")} {
		entries, err := os.ReadDir(src)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			raw, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), raw, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// Down stops everything Up started.
func (p *Provider) Down(context.Context) error {
	if p.cp == nil {
		return nil
	}
	var errs []error
	errs = append(errs, p.sim.stop())
	p.sim = nil
	errs = append(errs, p.cp.Stop())
	p.cp = nil
	return errors.Join(errs...)
}
