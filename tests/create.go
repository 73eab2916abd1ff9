package tests

import (
	"net/http"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/rbac"
	"github.com/vmt-conformance/vmt-conformance/framework/virtctl"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// smallTemplate is a well-formed template whose defaults give a complete VM sized by the
// namespaced instance type "u1.small" (1 vCPU, 2Gi, as the common instance type), the
// post-#131 wording of VMT-004.
func smallTemplate(name string) *templatev1beta1.VirtualMachineTemplate {
	return fixtures.Template(name,
		fixtures.WithParameter("NAME", fixtures.Generated("vm-[a-z0-9]{5}"), fixtures.Required()),
		fixtures.WithVMName(fixtures.Ref("NAME")),
		fixtures.WithVMOptions(fixtures.WithInstancetype(fixtures.InstancetypeKind, "u1.small")),
	)
}

// VMT-004: a VM from a template in one step (virt-template.md §3.2, §3.4).
var _ = Describe("Creating a VM from a template in one step", tiers.Scenario("VMT-004"), func() {
	var ns string

	BeforeEach(func(ctx SpecContext) {
		ns = namespace.New(ctx)
		createObject(ctx, withNamespace(fixtures.Instancetype("u1.small", 1, "2Gi"), ns))
	})

	It("creates the VM in the template's namespace with the fields the server assigns", func(ctx SpecContext) {
		By("saving a well-formed template that uses the u1.small instance type")
		tpl := createTemplate(ctx, ns, smallTemplate("small"))

		By("posting ProcessOptions with NAME=vm-one-step to /create")
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.CreateSubresource, params{"NAME": "vm-one-step"})
		Expect(call.Err).NotTo(HaveOccurred(), "%s", call)
		Expect(call.Status).To(Equal(http.StatusOK))

		By("checking the answer is the created VM")
		vm := call.Processed.VirtualMachine
		Expect(vm).NotTo(BeNil())
		Expect(vm.Name).To(Equal("vm-one-step"))
		Expect(vm.Namespace).To(Equal(ns), "the template's namespace")
		Expect(vm.UID).NotTo(BeEmpty(), "server-assigned uid")
		Expect(vm.ResourceVersion).NotTo(BeEmpty(), "server-assigned resourceVersion")

		By("reading the VM back from the template's namespace")
		got, err := getVM(ctx, ns, "vm-one-step")
		Expect(err).NotTo(HaveOccurred())
		Expect(got.UID).To(Equal(vm.UID))
		Expect(got.Spec.Instancetype).NotTo(BeNil())
		Expect(got.Spec.Instancetype.Kind).To(Equal(fixtures.InstancetypeKind))
		Expect(got.Spec.Instancetype.Name).To(Equal("u1.small"))
	})

	It("generates the VM name from the template's defaults", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, smallTemplate("small"))

		By("posting empty ProcessOptions to /create")
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.CreateSubresource, params{})
		Expect(call.Err).NotTo(HaveOccurred(), "%s", call)
		name := call.Processed.VirtualMachine.Name
		Expect(name).To(MatchRegexp(`^vm-[a-z0-9]{5}$`))
		Expect(vmsIn(ns)(ctx)).To(ConsistOf(name))
	})

	It("refuses /create with 403 to a user without the create permission", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, smallTemplate("small"))

		By("granting a user /process but not /create on the template")
		processOnly := rbac.User("process-only")
		processOnly.Grant(ctx, ns, rbac.ProcessTemplates(tpl.Name), rbac.ViewTemplates())

		By("checking the user can process the template")
		processed := callSubresource(ctx, processOnly.Clients, ns, tpl.Name, core.ProcessSubresource, params{"NAME": "vm-denied"})
		Expect(processed).To(haveStatus(http.StatusOK), "%s", processed)

		By("posting to /create as that user")
		call := callSubresource(ctx, processOnly.Clients, ns, tpl.Name, core.CreateSubresource, params{"NAME": "vm-denied"})
		Expect(call).To(haveStatus(http.StatusForbidden), "%s", call)
		Expect(call.Err).To(beForbidden())
		Consistently(vmsIn(ns)).WithContext(ctx).WithTimeout(wait.Settle).Should(BeEmpty(), "VMs after a refused /create")
	})

	It("creates the VM with virtctl template process --create", tiers.Requires(tiers.RequiresVirtctl), func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, smallTemplate("small"))

		By("running virtctl template process --create")
		res := virtctl.Template(ctx, []string{"process", tpl.Name, "-n", ns, "--create", "-p", "NAME=vm-cli"})
		Expect(res.Err).NotTo(HaveOccurred(), "%s", res)
		Expect(res.Stdout).To(MatchRegexp(`(?m)^` + regexp.QuoteMeta("virtualmachine.kubevirt.io/vm-cli created") + `$`))

		By("finding the VM in the template's namespace")
		got, err := getVM(ctx, ns, "vm-cli")
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Spec.Instancetype.Name).To(Equal("u1.small"))
	})
})

// withNamespace sets the namespace of any object and returns it.
func withNamespace[T metav1.Object](obj T, ns string) T {
	obj.SetNamespace(ns)
	return obj
}
