package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/fixtures/crds"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	apiserverlocal "github.com/vmt-conformance/vmt-conformance/reference/apiserver/local"
	templatecrd "github.com/vmt-conformance/vmt-conformance/reference/config/crd"
)

// Provider is the hermetic lane: it owns its control plane and stops it in Down.
type Provider struct {
	opts       Options
	cp         *ControlPlane
	stopServer func() error
}

// NewProvider returns a local provider; Up starts the control plane with every CRD fixture.
func NewProvider(assetsDir string, progress io.Writer) *Provider {
	return &Provider{opts: Options{AssetsDir: assetsDir, Progress: progress}}
}

// NewProviderWithOptions is NewProvider with every control-plane option (name, state root,
// start timeout); Options.CRDs is ignored: Up installs the provider's own set.
func NewProviderWithOptions(opts Options) *Provider { return &Provider{opts: opts} }

// Name implements cluster.Provider.
func (p *Provider) Name() string { return "local" }

// Up starts the control plane and installs the KubeVirt, CDI, snapshot and Template CRDs.
func (p *Provider) Up(ctx context.Context) error {
	defs, err := crds.Load(crds.Sets()...)
	if err != nil {
		return fmt.Errorf("loading CRD fixtures: %w", err)
	}
	templates, err := templatecrd.CustomResourceDefinitions()
	if err != nil {
		return fmt.Errorf("loading the template CRDs: %w", err)
	}
	opts := p.opts
	opts.CRDs = append(defs, templates...)
	cp, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	p.cp = cp
	// Interim until the simulator's operator role deploys the reference implementation.
	stop, err := apiserverlocal.StartWithOptions(ctx, cp.RESTConfig(), apiserverlocal.Options{FrontProxyCA: cp.FrontProxyCA, Dir: cp.Dir()})
	if err != nil {
		_ = p.Down(ctx)
		return fmt.Errorf("starting the template API server: %w", err)
	}
	p.stopServer = stop
	return nil
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
	cs.Set(cluster.OpenShift, true, "the local lane installs the template.openshift.io Template CRD")
	cs.Set(cluster.SnapshotStorage, false, "the KubeVirt/CDI simulator is not part of the local lane yet")
	cs.Set(cluster.TemplateOperator, false, "the KubeVirt/CDI simulator is not part of the local lane yet")
	cs.Set(cluster.Virtctl, false, "decided by the framework from --vmt.virtctl")
	return cs, nil
}

// CollectArtifacts copies the control plane's logs.
func (p *Provider) CollectArtifacts(_ context.Context, dir string) error {
	if p.cp == nil {
		return nil
	}
	src := filepath.Join(p.cp.Dir(), "logs")
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
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
	return nil
}

// Down stops everything Up started.
func (p *Provider) Down(context.Context) error {
	if p.cp == nil {
		return nil
	}
	var errs []error
	if p.stopServer != nil {
		errs = append(errs, p.stopServer())
		p.stopServer = nil
	}
	errs = append(errs, p.cp.Stop())
	p.cp = nil
	return errors.Join(errs...)
}
