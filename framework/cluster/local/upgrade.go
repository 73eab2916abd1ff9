package local

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Upgrade plays a KubeVirt upgrade on the running cluster (VMT-012): it stops the simulator
// and starts it again playing profile to, whose virt-operator role deploys to's virt-template
// release over the objects of the one before (CRDs, APIServices, webhooks, Deployments;
// templates, requests and VMs stay). It returns once the KubeVirt CR reports Available with
// status.observedKubeVirtVersion to.KubeVirtVersion, which the operator role writes only when
// the new release is in force (CRDs established and in discovery, APIServices available);
// from then on Profile() is to. The wait is bounded by the provider's start timeout.
func (p *Provider) Upgrade(ctx context.Context, to Profile) error {
	if p.cp == nil {
		return errors.New("local: Upgrade before Up")
	}
	binDir, err := ResolveBinaries(ctx, p.progress())
	if err != nil {
		return err
	}
	from := p.profile
	fmt.Fprintf(p.progress(), "upgrading the local cluster from %s to %s\n", from, to)
	begin := time.Now()
	if err := p.sim.stop(); err != nil {
		return fmt.Errorf("stopping the %s simulator: %w", from.Name, err)
	}
	p.sim = nil
	timeout := p.opts.StartTimeout
	if timeout == 0 {
		timeout = defaultStartTimeout
	}
	sim, err := startSimulator(ctx, p.cp, binDir, to, timeout)
	if err != nil {
		return fmt.Errorf("upgrading to %s: %w", to, err)
	}
	p.sim, p.profile = sim, to
	fmt.Fprintf(p.progress(), "  %-35s %v\n", "upgraded to "+to.Name, time.Since(begin).Round(time.Millisecond))
	return nil
}
