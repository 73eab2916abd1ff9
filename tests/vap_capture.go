package tests

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/rbac"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// VMT-021 followed to the end: a VM owner who is no admin captures a VM of another namespace
// with exactly the rights upstream's capture policy asks for (config/admission/
// vmtr_authz_vap.yaml@v0.1.8 and @v0.2.2: create on virtualmachinetemplaterequests/source for
// the VM in its namespace, create on DataVolumes and templates in the request's namespace),
// and the controller does the rest with its own identity; a user without the source right is
// refused before anything is snapshotted.
var _ = Describe("Capture by a VM owner who is no admin", tiers.Scenario("VMT-021"), func() {
	It("ends with a ready template for the owner with the source right, and with nothing for one without",
		tiers.Requires(tiers.RequiresSnapshotStorage), func(ctx SpecContext) {
			source := namespace.New(ctx, "source")
			target := namespace.New(ctx, "target")
			createRunningSource(ctx, source, "owned-vm")
			awaitCapturePolicy(ctx, target)

			owner := rbac.ServiceAccount(ctx, target, "vm-owner")
			owner.Grant(ctx, target, rbac.ManageRequests(), rbac.CreateDataVolumes(), rbac.CreateTemplates())
			owner.Grant(ctx, source, rbac.RequestSource("owned-vm"))
			outsider := rbac.ServiceAccount(ctx, target, "outsider")
			outsider.Grant(ctx, target, rbac.ManageRequests(), rbac.CreateDataVolumes(), rbac.CreateTemplates())

			By("a user without the source right asks for a capture of " + source + "/owned-vm")
			denied := fixtures.Request(source, "owned-vm", fixtures.WithRequestNamespace(target), fixtures.WithTemplateName("outsider-copy"))
			err := outsider.Clients.Client.Create(ctx, denied)
			if err == nil {
				DeferCleanup(deleteIgnoringNotFound, ctrlObject(denied))
			}
			Expect(err).To(beDeniedByCapturePolicy("User is not allowed to use VirtualMachine "+source+"/owned-vm as a source for VirtualMachineTemplateRequests"),
				"a capture of %s/owned-vm into %s by %s, without create on virtualmachinetemplaterequests/source there, must be refused at admission",
				source, target, outsider.User)
			snaps := &snapshotv1beta1.VirtualMachineSnapshotList{}
			Expect(framework.Admin().Client.List(ctx, snaps, ctrlclient.InNamespace(source))).To(Succeed())
			Expect(snaps.Items).To(BeEmpty(), "no snapshot of %s/owned-vm for a refused capture", source)

			By("the VM owner with the source right asks for a capture")
			req := fixtures.Request(source, "owned-vm", fixtures.WithRequestNamespace(target), fixtures.WithTemplateName("owner-copy"))
			Expect(owner.Clients.Client.Create(ctx, req)).To(Succeed(), "the VM owner's capture request")
			DeferCleanup(deleteIgnoringNotFound, ctrlObject(req))

			By("following the capture to a ready template")
			done := awaitRequestDone(ctx, target, req.Name)
			Expect(done.Status.TemplateRef.Name).To(Equal("owner-copy"))
			tpl := awaitTemplateReady(ctx, target, "owner-copy")
			Expect(tpl.Labels).To(HaveKeyWithValue(templatev1beta1.LabelRequestUID, string(req.UID)))
			vm := decodeCapturedVM(tpl)
			Expect(vm.Spec.DataVolumeTemplates).To(ConsistOf(HaveField("Spec.Source.PVC.Namespace", target)))

			By("the VM owner reads the outcome of its own request")
			seen := &templatev1beta1.VirtualMachineTemplateRequest{}
			Expect(owner.Clients.Client.Get(ctx, ctrlclient.ObjectKeyFromObject(req), seen)).To(Succeed())
			Expect(readyMessage(seen)).To(Equal(readyMessage(done)))
			Expect(seen.Status.TemplateRef).To(HaveField("Name", "owner-copy"))

			templates := &templatev1beta1.VirtualMachineTemplateList{}
			Expect(framework.Admin().Client.List(ctx, templates, ctrlclient.InNamespace(target))).To(Succeed())
			Expect(templates.Items).To(ConsistOf(HaveField("Name", "owner-copy")), "only the owner's capture made a template")
		})
})
