package tests

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// VMT-013, schema half: what the CRD itself refuses before any webhook runs
// (virt-template.md §2.2, §5.3). The webhook half (rendering at admission) is in
// tests/admission_webhook.go.
var _ = Describe("Template admission: the CRD schema", tiers.Scenario("VMT-013"), func() {
	var ns string

	BeforeEach(func(ctx SpecContext) {
		ns = namespace.New(ctx)
	})

	DescribeTable("refuses a template the schema forbids",
		func(ctx SpecContext, tpl *templatev1beta1.VirtualMachineTemplate, message string) {
			err := framework.Admin().Client.Create(ctx, withNamespace(tpl, ns))
			Expect(err).To(beInvalid(message))
		},
		Entry("an unknown generator", fixtures.Template("bad-generator",
			fixtures.WithParameter("NAME", func(p *templatev1beta1.Parameter) { p.Generate, p.From = "random", "vm-[a-z]{5}" })),
			`spec.parameters[0].generate: Unsupported value: "random"`),
		Entry("a generator input without a [range]{length} group", fixtures.Template("bad-from",
			fixtures.WithParameter("NAME", fixtures.Generated("vm-fixed"))),
			"spec.parameters[0].from"),
		Entry("no virtualMachine", func() *templatev1beta1.VirtualMachineTemplate {
			t := fixtures.Template("no-vm")
			t.Spec.VirtualMachine = nil
			return t
		}(), "spec.virtualMachine: Required value"),
	)
})
