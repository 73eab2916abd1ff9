package tests

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/framework/virtctl"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// Identity of the source VM, which a capture must strip (limitation L3).
const (
	sourceMAC    = "02:00:00:aa:bb:cc"
	sourceSerial = "vmt-source-serial"
	sourceUUID   = "5d307ca9-b3ef-428c-8861-06e72d69f223"
)

// createRunningSource creates a running VM with a DataVolume-backed disk and a fixed
// identity in ns, and waits until it is ready.
func createRunningSource(ctx SpecContext, ns, name string) *kubevirtv1.VirtualMachine {
	GinkgoHelper()
	createObject(ctx, withNamespace(fixtures.VM(name,
		fixtures.WithRunStrategy(kubevirtv1.RunStrategyAlways),
		fixtures.WithBlankDataVolumeDisk("data", name+"-data", "1Gi"),
		fixtures.WithPodNetwork(sourceMAC),
		fixtures.WithFirmwareIdentity(sourceSerial, sourceUUID),
	), ns))
	return awaitVMReady(ctx, ns, name)
}

// capturedIdentity is what a capture keeps of the source VM's interface MACs, firmware
// serial and UUID, in the captured template and in a VM made from it.
type capturedIdentity struct {
	MAC, Firmware               OmegaMatcher // the template's VM
	CreatedMAC, CreatedFirmware OmegaMatcher // a VM made from the template
}

// expectedIdentity is the release's capturedIdentity: nothing of it from v0.1.8
// (release.StripsMACSerialUUID, limitation L3), all of it before.
func expectedIdentity() capturedIdentity {
	GinkgoHelper()
	return byRelease(release.StripsMACSerialUUID,
		capturedIdentity{
			MAC: BeEmpty(),
			// stripUniqueIdentifiers clears serial and uuid of the firmware it finds and keeps
			// the (now empty) firmware: internal/controller/
			// virtualmachinetemplaterequest_controller.go@v0.1.8:907-910, @v0.2.2:940-943.
			Firmware:   SatisfyAll(Not(BeNil()), HaveField("Serial", BeEmpty()), HaveField("UUID", BeEmpty())),
			CreatedMAC: Not(Equal(sourceMAC)),
			// KubeVirt (not virt-template) may give the new VM a firmware UUID of its own.
			CreatedFirmware: SatisfyAll(Not(BeNil()), HaveField("Serial", BeEmpty()), HaveField("UUID", Not(BeEquivalentTo(sourceUUID)))),
		},
		capturedIdentity{
			MAC:             Equal(sourceMAC),
			Firmware:        SatisfyAll(Not(BeNil()), HaveField("Serial", sourceSerial), HaveField("UUID", BeEquivalentTo(sourceUUID))),
			CreatedMAC:      Equal(sourceMAC),
			CreatedFirmware: SatisfyAll(Not(BeNil()), HaveField("Serial", sourceSerial), HaveField("UUID", BeEquivalentTo(sourceUUID))),
		})
}

// capturedName is a captured template's NAME parameter and what /process without NAME
// answers.
type capturedName struct {
	Parameter          OmegaMatcher // an element of spec.parameters
	ProcessWithoutName OmegaMatcher // the *subresourceCall
}

// expectedCapturedName is the release's capturedName: required with a vm-xxxxx generator
// from v0.2.0 (release.CapturedNameGenerated), required without one before, so /process
// without NAME is refused.
func expectedCapturedName() capturedName {
	GinkgoHelper()
	return byRelease(release.CapturedNameGenerated,
		capturedName{
			Parameter: SatisfyAll(HaveField("Name", "NAME"), HaveField("Required", true),
				HaveField("Generate", fixtures.ExpressionGenerator), HaveField("From", MatchRegexp(`\[.+\]\{\d+\}`))),
			ProcessWithoutName: SatisfyAll(haveStatus(http.StatusOK),
				HaveField("Processed.VirtualMachine.Name", MatchRegexp(`^vm-[a-z0-9]{5}$`))),
		},
		capturedName{
			Parameter: SatisfyAll(HaveField("Name", "NAME"), HaveField("Required", true), HaveField("Generate", BeEmpty())),
			ProcessWithoutName: SatisfyAll(haveStatus(http.StatusUnprocessableEntity),
				HaveField("Err", MatchError(ContainSubstring("parameter 'NAME' is required and a value must be specified")))),
		})
}

// VMT-002: capture a reusable template from an existing VM (virt-template.md §6.3).
var _ = Describe("Capturing a template from an existing VM", tiers.Scenario("VMT-002"), func() {
	DescribeTable("captures a reusable, anonymised template",
		func(ctx SpecContext, crossNamespace bool) {
			source := namespace.New(ctx, "source")
			target := source
			if crossNamespace {
				target = namespace.New(ctx, "target")
			}

			By("creating a running source VM with a DataVolume disk")
			createRunningSource(ctx, source, "source-vm")

			// spec.templateLabels is v1beta1's (release.RequestTemplateLabels): VMT-026 captures with it.
			By("requesting a template named captured")
			req := createObject(ctx, fixtures.Request(source, "source-vm", fixtures.WithRequestNamespace(target),
				fixtures.WithTemplateName("captured")))

			By("waiting for the request to finish")
			done := awaitRequestDone(ctx, target, req.Name)
			Expect(done.Status.TemplateRef.Name).To(Equal("captured"))

			By("processing the captured template without NAME")
			tpl := awaitTemplateReady(ctx, target, "captured")
			name := expectedCapturedName()
			withoutName := callSubresource(ctx, framework.Admin(), target, "captured", core.ProcessSubresource, params{})
			Expect(withoutName).To(name.ProcessWithoutName, "/process without NAME: %s", withoutName)

			By("checking the captured template's RequestUID label and NAME parameter")
			Expect(tpl.Labels).To(HaveKeyWithValue(templatev1beta1.LabelRequestUID, string(req.UID)))
			Expect(tpl.Spec.Parameters).To(ContainElement(name.Parameter))

			By("checking the captured VM is anonymised and clones its disks from the target namespace")
			identity := expectedIdentity()
			vm := decodeCapturedVM(tpl)
			Expect(vm.Name).To(Equal(fixtures.Ref("NAME")))
			for _, iface := range vm.Spec.Template.Spec.Domain.Devices.Interfaces {
				Expect(iface.MacAddress).To(identity.MAC, "interface %s", iface.Name)
			}
			Expect(vm.Spec.Template.Spec.Domain.Firmware).To(identity.Firmware, "firmware serial and UUID")
			var dvVolumes []string
			for _, v := range vm.Spec.Template.Spec.Volumes {
				if v.DataVolume != nil {
					dvVolumes = append(dvVolumes, v.DataVolume.Name)
				}
			}
			Expect(dvVolumes).NotTo(BeEmpty())
			Expect(dvVolumes).To(HaveEach(HaveSuffix("-" + fixtures.Ref("NAME"))))
			Expect(vm.Spec.DataVolumeTemplates).NotTo(BeEmpty())
			for _, dvt := range vm.Spec.DataVolumeTemplates {
				Expect(dvt.Spec.Source).NotTo(BeNil())
				Expect(dvt.Spec.Source.PVC).NotTo(BeNil(), "DataVolumeTemplate %s clones a PVC", dvt.Name)
				Expect(dvt.Spec.Source.PVC.Namespace).To(Equal(target))
			}

			By("checking the cloned DataVolumes are labelled and owned by the template")
			dvs := &cdiv1beta1.DataVolumeList{}
			Expect(framework.Admin().Client.List(ctx, dvs, ctrlclient.InNamespace(target),
				ctrlclient.MatchingLabels{templatev1beta1.LabelRequestUID: string(req.UID)})).To(Succeed())
			Expect(dvs.Items).NotTo(BeEmpty())
			for _, dv := range dvs.Items {
				owner := metav1.GetControllerOf(&dv)
				Expect(owner).NotTo(BeNil(), "DataVolume %s has a controller", dv.Name)
				Expect(owner.Kind).To(Equal("VirtualMachineTemplate"))
				Expect(owner.UID).To(Equal(tpl.UID))
			}

			By("checking the temporary VirtualMachineSnapshot is gone")
			Eventually(func(ctx SpecContext) ([]snapshotv1beta1.VirtualMachineSnapshot, error) {
				list := &snapshotv1beta1.VirtualMachineSnapshotList{}
				err := framework.Admin().Client.List(ctx, list, ctrlclient.InNamespace(source),
					ctrlclient.MatchingLabels{templatev1beta1.LabelRequestUID: string(req.UID)})
				return list.Items, err
			}).WithContext(ctx).WithTimeout(wait.Medium).Should(wait.Reach(BeEmpty(), snapshotKeptAfterDone), "snapshots of the request in %s to be gone", source)

			By("creating a VM from the captured template with /create")
			call := callSubresource(ctx, framework.Admin(), target, "captured", core.CreateSubresource, params{"NAME": "vm-from-capture"})
			Expect(call.Err).NotTo(HaveOccurred(), "%s", call)
			created := awaitVMReady(ctx, target, "vm-from-capture")
			for _, iface := range created.Spec.Template.Spec.Domain.Devices.Interfaces {
				Expect(iface.MacAddress).To(identity.CreatedMAC, "interface %s of the VM made from the template", iface.Name)
			}
			Expect(created.Spec.Template.Spec.Domain.Firmware).To(identity.CreatedFirmware, "firmware of the VM made from the template")
		},
		Entry("in the VM's namespace", tiers.Requires(tiers.RequiresSnapshotStorage), false),
		Entry("in another namespace the user may write to", tiers.Requires(tiers.RequiresSnapshotStorage), true),
	)

	It("fails clearly when the source VM does not exist", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		req := createObject(ctx, fixtures.Request(ns, "no-such-vm", fixtures.WithRequestNamespace(ns)))

		By("waiting for the request to fail for good")
		got := awaitRequestFailed(ctx, ns, req.Name, templatev1beta1.ReasonFailed)
		Expect(readyMessage(got)).To(ContainSubstring("VirtualMachineSnapshot " + ns + "/"))
		// status.templateRef is set only once a template exists (setTemplateRef in
		// internal/controller/virtualmachinetemplaterequest_controller.go@v0.1.8:601-605, @v0.2.2:626-630).
		Expect(got.Status.TemplateRef).To(BeNil())
		templates := &templatev1beta1.VirtualMachineTemplateList{}
		Expect(framework.Admin().Client.List(ctx, templates, ctrlclient.InNamespace(ns))).To(Succeed())
		Expect(templates.Items).To(BeEmpty())
	})
})

func readyMessage(r *templatev1beta1.VirtualMachineTemplateRequest) string {
	for _, c := range r.Status.Conditions {
		if c.Type == templatev1beta1.ConditionReady {
			return c.Message
		}
	}
	return ""
}

// VMT-008, second half: the capture the CLI starts ends with a reusable template.
var _ = Describe("virtctl template create until the template is ready", tiers.Scenario("VMT-008"), func() {
	It("ends with a template a VM runs from", tiers.Requires(tiers.RequiresSnapshotStorage), func(ctx SpecContext) {
		ns := namespace.New(ctx)
		createRunningSource(ctx, ns, "cli-source")

		By("running virtctl template create --vm-name cli-source --name cli-captured")
		res := virtctl.Template(ctx, []string{"create", "--vm-name", "cli-source", "--name", "cli-captured", "-n", ns})
		Expect(res.Err).NotTo(HaveOccurred(), "%s", res)
		m := requestCreated.FindStringSubmatch(res.Stdout)
		Expect(m).To(HaveLen(2), "%s", res)

		By("waiting for the request and creating a VM from the template")
		awaitRequestDone(ctx, ns, m[1])
		awaitTemplateReady(ctx, ns, "cli-captured")
		run := virtctl.Template(ctx, []string{"process", "cli-captured", "-n", ns, "--create", "-p", "NAME=vm-cli-captured"})
		Expect(run.Err).NotTo(HaveOccurred(), "%s", run)
		startVM(ctx, ns, "vm-cli-captured")
		awaitVMReady(ctx, ns, "vm-cli-captured")
	})
})

// VMT-028, behaviour half: only successful requests are deleted after their TTL.
var _ = Describe("Capture request TTL after success only", tiers.Scenario("VMT-028"), func() {
	It("deletes a finished request after its TTL and keeps the template", tiers.Requires(tiers.RequiresSnapshotStorage), func(ctx SpecContext) {
		ns := namespace.New(ctx)
		createRunningSource(ctx, ns, "ttl-source")
		req := createObject(ctx, fixtures.Request(ns, "ttl-source", fixtures.WithRequestNamespace(ns),
			fixtures.WithTemplateName("ttl-captured"), fixtures.WithTTLSecondsAfterFinished(0)))

		By("waiting for the request to be deleted once done")
		Eventually(func(ctx SpecContext) error {
			_, err := requestGetter(ns, req.Name)(ctx)
			return err
		}).WithContext(ctx).WithTimeout(wait.Long).Should(MatchError(ContainSubstring("not found")), "request %s/%s to be deleted", ns, req.Name)
		awaitTemplateReady(ctx, ns, "ttl-captured")
	})

	It("keeps a failed request whatever its TTL", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		req := createObject(ctx, fixtures.Request(ns, "no-such-vm", fixtures.WithRequestNamespace(ns), fixtures.WithTTLSecondsAfterFinished(0)))
		awaitRequestFailed(ctx, ns, req.Name, templatev1beta1.ReasonFailed)
		Consistently(requestGetter(ns, req.Name)).WithContext(ctx).WithTimeout(wait.Short).
			Should(wait.HaveCondition(templatev1beta1.ConditionReady, "False", templatev1beta1.ReasonFailed), "the failed request stays")
	})
})
