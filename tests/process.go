package tests

import (
	"encoding/json"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// VMT-003: the cluster expands a template with the caller's parameters into a VM
// definition and creates nothing (stp-scenarios.md §1; virt-template.md §3.2, §4).
var _ = Describe("Processing a template on the server", tiers.Scenario("VMT-003"), func() {
	var ns string

	BeforeEach(func(ctx SpecContext) {
		ns = namespace.New(ctx)
	})

	// everyKind has one parameter of each kind the STP lists: required, static value,
	// generated, optional without value, and one typed into a non-string field.
	everyKind := func() *templatev1beta1.VirtualMachineTemplate {
		return fixtures.Template("every-kind",
			fixtures.WithParameter("NAME", fixtures.Required()),
			fixtures.WithParameter("TIER", fixtures.Value("gold")),
			fixtures.WithParameter("SUFFIX", fixtures.Generated("gen-[a-z0-9]{8}")),
			fixtures.WithParameter("OWNER"),
			fixtures.WithParameter("CPU", fixtures.Value("2")),
			fixtures.WithVMName(fixtures.Ref("NAME")),
			fixtures.WithVMOptions(fixtures.WithVMNamespace("hard-coded-elsewhere")),
			fixtures.WithField("metadata.labels.tier", fixtures.Ref("TIER")),
			fixtures.WithField("metadata.labels.suffix", fixtures.Ref("SUFFIX")),
			fixtures.WithField("metadata.annotations.owner", fixtures.Ref("OWNER")),
			fixtures.WithTypedField("spec.template.spec.domain.cpu.cores", "CPU"),
			fixtures.WithMessage("VM ${NAME} has ${CPU} cores"),
		)
	}

	It("substitutes every parameter kind, types ${{X}} values and creates nothing", func(ctx SpecContext) {
		By("creating a template with a required, a static, a generated, an optional and a typed parameter")
		tpl := createTemplate(ctx, ns, everyKind())

		By("processing it with NAME=vm-a and CPU=4")
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.ProcessSubresource, params{"NAME": "vm-a", "CPU": "4"})
		Expect(call.Err).NotTo(HaveOccurred(), "processing: %s", call)
		Expect(call.Status).To(Equal(http.StatusOK))
		out := call.Processed

		By("checking the answer names the template and carries a kubevirt.io/v1 VirtualMachine")
		Expect(out.Kind).To(Equal("ProcessedVirtualMachineTemplate"))
		Expect(out.TemplateRef).NotTo(BeNil())
		Expect(out.TemplateRef.Namespace).To(Equal(ns))
		Expect(out.TemplateRef.Name).To(Equal(tpl.Name))
		vm := out.VirtualMachine
		Expect(vm).NotTo(BeNil())
		Expect(vm.APIVersion).To(Equal(kubevirtv1.GroupVersion.String()))
		Expect(vm.Kind).To(Equal("VirtualMachine"))

		By("checking every parameter was substituted")
		Expect(vm.Name).To(Equal("vm-a"), "required parameter from the caller")
		Expect(vm.Labels).To(HaveKeyWithValue("tier", "gold"), "static value")
		Expect(vm.Labels).To(HaveKeyWithValue("suffix", MatchRegexp(`^gen-[a-z0-9]{8}$`)), "generated from gen-[a-z0-9]{8}")
		Expect(vm.Annotations).To(HaveKeyWithValue("owner", ""), "optional parameter without value is the empty string")
		Expect(vm.Spec.Template.Spec.Domain.CPU).NotTo(BeNil())
		Expect(vm.Spec.Template.Spec.Domain.CPU.Cores).To(BeEquivalentTo(4), "${{CPU}} is a number, overridden by the caller")
		Expect(vm.Namespace).To(BeEmpty(), "a hard-coded VM namespace is removed")
		Expect(out.Message).To(Equal("VM vm-a has 4 cores"))
		raw, err := json.Marshal(vm)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(raw)).NotTo(ContainSubstring("${"), "no placeholder left in the rendered VM")

		By("checking no VirtualMachine was created")
		Consistently(vmsIn(ns)).WithContext(ctx).WithTimeout(wait.Settle).Should(BeEmpty(), "VMs in the template's namespace after /process")
	})

	It("generates a new value per call unless the caller passes one", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, everyKind())

		By("processing twice without SUFFIX")
		first := process(ctx, ns, tpl.Name, params{"NAME": "vm-a"})
		second := process(ctx, ns, tpl.Name, params{"NAME": "vm-a"})
		Expect(first.VirtualMachine.Labels["suffix"]).To(MatchRegexp(`^gen-[a-z0-9]{8}$`))
		Expect(second.VirtualMachine.Labels["suffix"]).NotTo(Equal(first.VirtualMachine.Labels["suffix"]), "generated values differ between calls")

		By("processing with SUFFIX=chosen")
		chosen := process(ctx, ns, tpl.Name, params{"NAME": "vm-a", "SUFFIX": "chosen"})
		Expect(chosen.VirtualMachine.Labels).To(HaveKeyWithValue("suffix", "chosen"), "a passed value suppresses the generator")
		Expect(chosen.VirtualMachine.Spec.Template.Spec.Domain.CPU.Cores).To(BeEquivalentTo(2), "the template's default CPU")
	})

	It("answers 409 Conflict for a parameter the template does not declare", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, everyKind())

		By("processing with an unknown key")
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.ProcessSubresource, params{"NAME": "vm-a", "UNKNOWN": "x"})
		Expect(call).To(haveStatus(http.StatusConflict), "%s", call)
		Expect(apierrors.IsConflict(call.Err)).To(BeTrue(), "%s", call)
		Expect(call.Err).To(MatchError(ContainSubstring("parameter UNKNOWN not found in template")))
		Consistently(vmsIn(ns)).WithContext(ctx).WithTimeout(wait.Settle).Should(BeEmpty())
	})

	It("answers 422 Invalid when a required parameter has no value", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, everyKind())

		By("processing without NAME")
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.ProcessSubresource, params{})
		Expect(call).To(haveStatus(http.StatusUnprocessableEntity), "%s", call)
		Expect(apierrors.IsInvalid(call.Err)).To(BeTrue(), "%s", call)
		Expect(causeFields(call.Err)).To(ContainElement("spec.parameters[0].value"))
		Expect(call.Err).To(MatchError(ContainSubstring("parameter 'NAME' is required and a value must be specified")))
	})

	It("never renders a template that references an undefined parameter: admission refuses it", func(ctx SpecContext) {
		// One outcome on every supported release: the webhook checks references first and
		// refuses (release.WebhookRejectsUndefinedRefs, v0.1.0+), before it decides to skip
		// rendering for a required parameter without value or generator, which is only a
		// warning (release.WebhookRendersTemplate): ValidateCreate in
		// internal/webhook/v1alpha1/virtualmachinetemplate_webhook.go@v0.1.8 and ValidateTemplate
		// in internal/webhook/v1beta1/virtualmachinetemplate_webhook.go@v0.2.2.
		By("creating a template that references ${UNDEFINED} while its required NAME has no value")
		tpl := fixtures.Template("undefined-ref",
			fixtures.WithParameter("NAME", fixtures.Required()),
			fixtures.WithVMName(fixtures.Ref("NAME")),
			fixtures.WithField("metadata.labels.app", fixtures.Ref("UNDEFINED")),
		)
		err := framework.Admin().Client.Create(ctx, withNamespace(tpl, ns))
		Expect(err).To(beForbidden(), "admission refuses the template")
		Expect(err).To(MatchError(ContainSubstring("denied the request")))
		Expect(err).To(MatchError(ContainSubstring(`spec.virtualMachine: Invalid value: "UNDEFINED": references undefined parameter UNDEFINED`)))

		By("checking /process has no such template to render")
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.ProcessSubresource, params{"NAME": "vm-a"})
		Expect(call).To(haveStatus(http.StatusInternalServerError), "%s", call)
		Expect(call.Err).To(MatchError(ContainSubstring(`"undefined-ref" not found`)))
		Expect(vmsIn(ns)(ctx)).To(BeEmpty())
	})

	It("answers 422 Invalid when a typed value does not fit its field", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, everyKind())

		By("processing with CPU=many, a string for the integer cpu.cores")
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.ProcessSubresource, params{"NAME": "vm-a", "CPU": "many"})
		Expect(call).To(haveStatus(http.StatusUnprocessableEntity), "%s", call)
		Expect(call.Err).To(MatchError(ContainSubstring("cpu.cores")))
	})

	It("processes a template with an unused parameter and only warns about it", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, fixtures.Template("unused",
			fixtures.WithParameter("NAME", fixtures.Value("vm-unused")),
			fixtures.WithParameter("UNUSED", fixtures.Value("x")),
			fixtures.WithVMName(fixtures.Ref("NAME")),
		))

		By("processing it")
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.ProcessSubresource, params{})
		Expect(call.Err).NotTo(HaveOccurred(), "%s", call)
		Expect(call.Processed.VirtualMachine.Name).To(Equal("vm-unused"))
		Expect(call.Warnings).To(ContainElement(ContainSubstring("UNUSED is defined but never referenced")), "API warnings")
	})

	It("reports a template that does not exist as an error and creates nothing", func(ctx SpecContext) {
		By("processing a template name that is not in the namespace")
		call := callSubresource(ctx, framework.Admin(), ns, "no-such-template", core.ProcessSubresource, params{})
		// Upstream wraps the failed read into 500 InternalError "error getting
		// VirtualMachineTemplate: …" (processTemplate in
		// internal/apiserver/storage/virtualmachinetemplate/process.go@v0.1.8 and @v0.2.2).
		Expect(call).To(haveStatus(http.StatusInternalServerError), "%s", call)
		Expect(call.Err).To(MatchError(ContainSubstring(`error getting VirtualMachineTemplate: `)))
		Expect(call.Err).To(MatchError(ContainSubstring(`"no-such-template" not found`)))
		Expect(vmsIn(ns)(ctx)).To(BeEmpty())
	})
})

// causeFields lists the field of every cause of an API status error.
func causeFields(err error) []string {
	var out []string
	if status, ok := err.(apierrors.APIStatus); ok && status.Status().Details != nil {
		for _, c := range status.Status().Details.Causes {
			out = append(out, c.Field)
		}
	}
	return out
}
