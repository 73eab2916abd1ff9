package tests

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/monitoring"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/scale"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// VMT-030 (STP NFR Monitoring, out of scope for 5.0.0; carried in the scale lane): no
// unexpected critical alert fires while templates are processed and many VMs are created
// from them. The alerts firing before the load are recorded; after it, and for a settle
// window (wait.Medium, two evaluation intervals of a default Prometheus), a critical alert
// that was not firing before fails the spec, named with its labels and summary. Alerts that
// already fired before the run are reported, not judged: they are not this run's.
//
// Serial: the load shares the cluster with nothing else of the suite.
var _ = Describe("No critical alerts during template workloads", tiers.Scenario("VMT-030"), Serial, func() {
	It("fires no new critical alert during /process and bulk /create", func(ctx SpecContext) {
		kube := framework.Admin().Kube
		endpoint, why, ok := monitoring.Find(ctx, framework.Admin().Dynamic)
		Expect(ok).To(BeTrue(), "requires-monitoring: %s", why)
		fetch := func(ctx context.Context) ([]monitoring.Alert, error) { return monitoring.Fetch(ctx, kube, endpoint) }

		By("recording the alerts firing before the load (" + endpoint.String() + ")")
		before, err := fetch(ctx)
		Expect(err).NotTo(HaveOccurred())
		firingBefore := monitoring.Firing(before)
		AddReportEntry("monitoring: alerts firing before", fmt.Sprintf("%d: %v", len(firingBefore), firingBefore))

		s := newScaleSettings()
		ns := namespace.New(ctx)
		tpl := createTemplate(ctx, ns, scaleTemplate())
		By(fmt.Sprintf("processing the template %d times with %d clients", s.cfg.ProcessCalls, s.cfg.Clients))
		processed := scale.Run(ctx, s.cfg.ProcessCalls, s.cfg.Clients, func(ctx context.Context, i int) (int, error) {
			return s.post(ctx, ns, tpl.Name, core.ProcessSubresource, fmt.Sprintf("vm-%05d", i))
		})
		By(fmt.Sprintf("creating %d VMs through /create with %d clients", s.cfg.VMs, s.cfg.Clients))
		created := scale.Run(ctx, s.cfg.VMs, s.cfg.Clients, func(ctx context.Context, i int) (int, error) {
			return s.post(ctx, ns, tpl.Name, core.CreateSubresource, fmt.Sprintf("vm-%05d", i))
		})
		AddReportEntry("monitoring: load", fmt.Sprintf("/process: %s; /create: %s", processed, created))

		By("checking no critical alert began to fire, now and over the settle window")
		newCritical := func(ctx context.Context) ([]monitoring.Alert, error) {
			after, err := fetch(ctx)
			if err != nil {
				return nil, err
			}
			return monitoring.NewCritical(before, after), nil
		}
		Consistently(newCritical).WithContext(ctx).WithTimeout(wait.Medium).WithPolling(wait.Short).Should(BeEmpty(),
			"critical alerts that were not firing before the load (from %s)", endpoint)
	})
})
