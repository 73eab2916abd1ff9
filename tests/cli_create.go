package tests

import (
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/rbac"
	"github.com/vmt-conformance/vmt-conformance/framework/virtctl"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// VMT-006 with --create: the VM is made by the cluster (/create), not by the CLI. virtctl
// calls only the subresource (createRemote: CreateVirtualMachine, kubevirt/kubevirt
// pkg/virtctl/template/process/process.go@v1.8.4 and @v1.9.0:375-386), and the server
// creates the VM with its own client (virtClient in
// internal/apiserver/storage/virtualmachinetemplate/create.go@v0.1.8:88 and
// v1beta1/create.go@v0.2.2). A user who may call /create on the template but may not create
// VirtualMachines therefore succeeds; a CLI that processed and then created the VM itself
// would be refused.
var _ = Describe("virtctl template process --create", tiers.Scenario("VMT-006"), func() {
	It("creates the VM on the server for a user who may not create VirtualMachines", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		tpl := createTemplate(ctx, ns, cliTemplate())

		By("granting a user /create on the template only: no /process, no template read, no VirtualMachine rights")
		user := rbac.User("cli-create-only")
		user.Grant(ctx, ns, rbac.CreateFromTemplates(tpl.Name))

		By("checking the user may not create a VirtualMachine itself")
		allowed, err := user.Can(ctx, ns, "create", "kubevirt.io", "virtualmachines", "", "")
		Expect(err).NotTo(HaveOccurred())
		Expect(allowed).To(BeFalse(), "the user may create VirtualMachines directly")
		_, err = user.Clients.KubeVirt.KubevirtV1().VirtualMachines(ns).Create(ctx, fixtures.VM("vm-direct"), metav1.CreateOptions{})
		Expect(err).To(beForbidden(), "a client-side create of the rendered VM")

		By("running virtctl template process --create as that user")
		res := virtctl.Template(ctx, []string{"process", tpl.Name, "-n", ns, "--create", "-p", "NAME=vm-server-side", "-p", "CPU=2"},
			virtctl.As(user.User, user.Groups...))
		Expect(res.Err).NotTo(HaveOccurred(), "--create as a user without VirtualMachine rights: %s", res)
		Expect(res.Stdout).To(MatchRegexp(`(?m)^`+regexp.QuoteMeta("virtualmachine.kubevirt.io/vm-server-side created")+`$`), "%s", res)

		By("reading the VM the server created, field by field against what was asked")
		got, err := getVM(ctx, ns, "vm-server-side")
		Expect(err).NotTo(HaveOccurred(), "the VM made through /create")
		Expect(got.Namespace).To(Equal(ns), "the template's namespace")
		Expect(got.Spec.Template.Spec.Domain.CPU).NotTo(BeNil())
		Expect(got.Spec.Template.Spec.Domain.CPU.Cores).To(BeEquivalentTo(2), "CPU=2")
		Expect(got.Labels).To(HaveKeyWithValue("suffix", MatchRegexp(`^s-[a-z0-9]{6}$`)), "the generated SUFFIX")
		Expect(vmsIn(ns)(ctx)).To(ConsistOf("vm-server-side"))

		By("checking the same user cannot render the template on the client: --local reads it, which needs get")
		local := virtctl.Template(ctx, []string{"process", tpl.Name, "--local", "-n", ns, "-p", "NAME=vm-local"},
			virtctl.As(user.User, user.Groups...))
		Expect(local.Err).To(HaveOccurred(), "%s", local)
		Expect(local.Stderr).To(ContainSubstring("error fetching remote VirtualMachineTemplate %s/%s: ", ns, tpl.Name), "%s", local)
		Expect(local.Stderr).To(ContainSubstring("forbidden"), "%s", local)
	})
})
