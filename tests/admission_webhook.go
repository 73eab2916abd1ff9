package tests

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// VMT-013, webhook half: templates whose defaults always render an invalid VM are refused;
// valid ones are accepted and Ready (virt-template.md §5.1; Polarion CNV-16314, CNV-16315).
var _ = Describe("Template admission: rendering the defaults", tiers.Scenario("VMT-013"), func() {
	var ns string

	BeforeEach(func(ctx SpecContext) {
		ns = namespace.New(ctx)
	})

	DescribeTable("refuses a template whose defaults render an invalid VM",
		func(ctx SpecContext, tpl *templatev1beta1.VirtualMachineTemplate, message string) {
			By("creating it through the version the suite speaks, " + framework.TemplateVersion())
			err := framework.Admin().Client.Create(ctx, withNamespace(tpl.DeepCopy(), ns))
			Expect(err).To(beForbidden())
			Expect(err).To(MatchError(ContainSubstring("denied the request")))
			Expect(err).To(MatchError(ContainSubstring(message)))

			By("creating it through v1alpha1")
			err = framework.Admin().Client.Create(ctx, withNamespace(fixtures.TemplateV1alpha1(tpl), ns))
			Expect(err).To(MatchError(ContainSubstring(message)))
		},
		Entry("a non-numeric default typed into cpu.cores", fixtures.Template("bad-cores",
			fixtures.WithParameter("CPU", fixtures.Value("many")),
			fixtures.WithTypedField("spec.template.spec.domain.cpu.cores", "CPU")),
			"processing validation failed"),
		Entry("an unknown field in the VM spec", fixtures.Template("unknown-field",
			fixtures.WithField("spec.bogus", "x")),
			`unknown field "spec.bogus"`),
		Entry("a reference to an undefined parameter", fixtures.Template("undefined",
			fixtures.WithField("metadata.labels.app", fixtures.Ref("UNDEFINED"))),
			"references undefined parameter UNDEFINED"),
		Entry("a parameter without a name", fixtures.Template("no-name",
			fixtures.WithParameter("", fixtures.Value("x"))),
			"parameter name is empty"),
		Entry("a duplicate parameter", fixtures.Template("duplicate",
			fixtures.WithParameter("A", fixtures.Value("1")), fixtures.WithParameter("A", fixtures.Value("2")),
			fixtures.WithField("metadata.labels.a", fixtures.Ref("A"))),
			`Duplicate value: "A"`),
	)

	It("refuses an update that makes a valid template invalid", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, fixtures.Template("valid",
			fixtures.WithParameter("CPU", fixtures.Value("2")),
			fixtures.WithTypedField("spec.template.spec.domain.cpu.cores", "CPU")))

		By("updating the CPU default to a string")
		got := awaitTemplateReady(ctx, ns, tpl.Name) // the controller's status write is done
		got.Spec.Parameters[0].Value = "many"
		err := framework.Admin().Client.Update(ctx, got)
		Expect(err).To(beForbidden())
		Expect(err).To(MatchError(ContainSubstring("processing validation failed")))

		By("checking the stored template kept its valid default")
		Expect(templateGetter(ns, tpl.Name)(ctx)).To(HaveField("Spec.Parameters", ContainElement(HaveField("Value", "2"))))
	})

	It("accepts a well-formed template with u1.small defaults and reports it Ready", func(ctx SpecContext) {
		createObject(ctx, withNamespace(fixtures.Instancetype("u1.small", 1, "2Gi"), ns))
		tpl := createTemplate(ctx, ns, smallTemplate("well-formed"))

		got := awaitTemplateReady(ctx, ns, tpl.Name)
		Expect(got.Status.Conditions).To(ContainElement(HaveField("Message", "VirtualMachineTemplate is ready to be processed")))

		By("creating a VM from it in one step (VMT-004 post-#131)")
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.CreateSubresource, params{})
		Expect(call).To(haveStatus(http.StatusOK), "%s", call)
	})

	It("accepts a template whose required parameter has no default and warns that it skipped rendering", func(ctx SpecContext) {
		wc := newWarningClient()
		tpl := withNamespace(fixtures.Template("needs-name",
			fixtures.WithParameter("NAME", fixtures.Required()),
			fixtures.WithVMName(fixtures.Ref("NAME")),
			fixtures.WithField("spec.bogus", "not checked while NAME has no value")), ns)
		Expect(wc.Create(ctx, tpl)).To(Succeed())
		DeferCleanup(deleteIgnoringNotFound, ctrlObject(tpl))
		Expect(wc.Warnings()).To(ContainElement(ContainSubstring(`processing validation skipped: required parameter "NAME" has neither value nor generator`)))
		awaitTemplateReady(ctx, ns, tpl.Name)
	})

	It("warns about a parameter the template never references", func(ctx SpecContext) {
		wc := newWarningClient()
		tpl := withNamespace(fixtures.Template("unused-param", fixtures.WithParameter("UNUSED", fixtures.Value("x"))), ns)
		Expect(wc.Create(ctx, tpl)).To(Succeed())
		DeferCleanup(deleteIgnoringNotFound, ctrlObject(tpl))
		Expect(wc.Warnings()).To(ContainElement(ContainSubstring("UNUSED is defined but never referenced")))
	})
})
