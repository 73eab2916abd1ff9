package tests

import (
	"fmt"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/featuregate"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// existingWorkload creates, with the capability on, a template, a VM from it and a request,
// and returns the namespace.
func existingWorkload(ctx SpecContext) string {
	GinkgoHelper()
	ns := namespace.New(ctx)
	tpl := createTemplate(ctx, ns, namedTemplate("before"))
	call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.CreateSubresource, params{"NAME": "vm-before"})
	Expect(call).To(haveStatus(http.StatusOK), "%s", call)
	createObject(ctx, fixtures.Request(ns, "vm-before", fixtures.WithRequestNamespace(ns)))
	return ns
}

// VMT-014 (CNV-16316…16319): with the capability disabled, template workflows are
// unavailable. virt-operator (KubeVirt v1.8.4 and v1.9.0 alike, see featuregate.Components)
// deletes the template Deployments, APIServices, webhook configuration, request policy and
// its binding, and the CRDs, so existing templates and requests are lost (stp-scenarios.md
// §11.5) while VMs made from templates stay.
var _ = Describe("Template capability disabled", tiers.Scenario("VMT-014"), Serial, func() {
	It("removes the components and the template API, and keeps VMs made from templates", func(ctx SpecContext) {
		ns := existingWorkload(ctx)

		By("disabling the Template capability")
		featuregate.SetTemplate(ctx, false)

		By("checking every component virt-operator deploys for templates is gone, the Deployments included")
		for _, c := range featuregate.Components() {
			_, err := c.Get(ctx)
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s after disabling the Template capability: %v", c, err)
		}
		AddReportEntry("existing templates and requests after disabling", "lost: virt-operator deleted the template CRDs (not in its install strategy without the gate), and with them every template and request")

		By("creating a template and a request")
		for _, obj := range []ctrlclient.Object{withNamespace(namedTemplate("after"), ns), fixtures.Request(ns, "vm-before", fixtures.WithRequestNamespace(ns))} {
			err := framework.Admin().Client.Create(ctx, obj)
			Expect(meta.IsNoMatchError(err) || apierrors.IsNotFound(err)).To(BeTrue(), "creating a %T without the template API must find no such kind; got %v", obj, err)
		}

		By("calling /process")
		call := callSubresource(ctx, framework.Admin(), ns, "before", core.ProcessSubresource, params{"NAME": "x"})
		Expect(call.Status).To(Equal(http.StatusNotFound), "%s", call)

		By("checking the VM made from a template is still there")
		Expect(vmsIn(ns)(ctx)).To(ConsistOf("vm-before"))
	})
})

// gateCycles is how many times VMT-015 turns the capability off and on again.
const gateCycles = 3

// VMT-015 (CNV-16320, CNV-16321): after re-enabling, template workflows recover, each time;
// objects from before the disable do not come back. Ordered: the capture spec starts its
// request right after the toggling spec's last re-enable (a gate cycle of its own would cost
// the hermetic lane another ~5 s); filtered without snapshot storage, the toggling still runs.
var _ = Describe("Template capability re-enabled", tiers.Scenario("VMT-015"), Serial, Ordered, func() {
	It("brings the components back and template workflows work again, over repeated toggling", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		tpl := createTemplate(ctx, ns, namedTemplate("before"))
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.CreateSubresource, params{"NAME": "vm-before"})
		Expect(call).To(haveStatus(http.StatusOK), "%s", call)
		for cycle := 1; cycle <= gateCycles; cycle++ {
			By(fmt.Sprintf("cycle %d/%d: disabling and re-enabling the Template capability", cycle, gateCycles))
			featuregate.SetTemplate(ctx, false)
			featuregate.SetTemplate(ctx, true)

			By(fmt.Sprintf("cycle %d/%d: checking the templates from before the disable are gone", cycle, gateCycles))
			var list templatev1beta1.VirtualMachineTemplateList
			Expect(framework.Admin().Client.List(ctx, &list, ctrlInNamespace(ns))).To(Succeed())
			Expect(list.Items).To(BeEmpty(), "templates in %s after re-enabling: those from before the disable are lost with the CRD", ns)

			By(fmt.Sprintf("cycle %d/%d: creating a template, processing it and making a VM", cycle, gateCycles))
			name := fmt.Sprintf("after-%d", cycle)
			tpl := createTemplate(ctx, ns, namedTemplate(name))
			awaitTemplateReady(ctx, ns, tpl.Name)
			processed := process(ctx, ns, tpl.Name, params{"NAME": "vm-" + name})
			Expect(processed.VirtualMachine.Name).To(Equal("vm-" + name))
			call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.CreateSubresource, params{"NAME": "vm-" + name})
			Expect(call).To(haveStatus(http.StatusOK), "%s", call)
			Expect(vmsIn(ns)(ctx)).To(ContainElement("vm-"+name), "the VM /create made in cycle %d", cycle)
		}
		AddReportEntry("templates from before the disable after re-enabling", "gone")
		By("checking the VMs of every cycle and from before are all still there")
		want := []string{"vm-before"}
		for cycle := 1; cycle <= gateCycles; cycle++ {
			want = append(want, fmt.Sprintf("vm-after-%d", cycle))
		}
		Expect(vmsIn(ns)(ctx)).To(ConsistOf(want))
	})

	It("finishes a capture started after the last re-enable", tiers.Requires(tiers.RequiresSnapshotStorage), func(ctx SpecContext) {
		By("checking the template components are up, as the toggling left them")
		featuregate.AwaitComponents(ctx, true)
		ns := namespace.New(ctx)
		createObject(ctx, withNamespace(fixtures.VM("capture-source"), ns))

		By("capturing a VM into a template and waiting for the request to finish")
		req := createObject(ctx, fixtures.Request(ns, "capture-source", fixtures.WithRequestNamespace(ns), fixtures.WithTemplateName("captured")))
		done := awaitRequestDone(ctx, ns, req.Name)
		Expect(done.Status.TemplateRef.Name).To(Equal("captured"))
		awaitTemplateReady(ctx, ns, "captured")
		call := callSubresource(ctx, framework.Admin(), ns, "captured", core.CreateSubresource, params{"NAME": "vm-from-capture"})
		Expect(call).To(haveStatus(http.StatusOK), "%s", call)
	})
})
