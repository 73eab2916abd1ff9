package tests

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/goldenimage"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/rbac"
	"github.com/vmt-conformance/vmt-conformance/framework/virtctl"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// goldenTemplate boots from the DataSource named by DATA_SOURCE_NAMESPACE/DATA_SOURCE_NAME,
// sized by the namespaced instance type u1.small; the VM is halted until started.
func goldenTemplate(dsNamespace, dsName string) *templatev1beta1.VirtualMachineTemplate {
	return fixtures.Template("golden",
		fixtures.WithParameter("NAME", fixtures.Generated("vm-[a-z0-9]{5}"), fixtures.Required()),
		fixtures.WithParameter("DATA_SOURCE_NAME", fixtures.Value(dsName)),
		fixtures.WithParameter("DATA_SOURCE_NAMESPACE", fixtures.Value(dsNamespace)),
		fixtures.WithVMName(fixtures.Ref("NAME")),
		fixtures.WithVMOptions(
			fixtures.WithInstancetype(fixtures.InstancetypeKind, "u1.small"),
			fixtures.WithRootDiskFromDataSource(fixtures.Ref("NAME")+"-root", fixtures.Ref("DATA_SOURCE_NAMESPACE"), fixtures.Ref("DATA_SOURCE_NAME"), goldenimage.Size),
		),
	)
}

// expectGoldenVM checks a VM made from goldenTemplate: its clone succeeds, it runs, and its
// VMI has the instance type's CPU and memory.
func expectGoldenVM(ctx SpecContext, ns, name, dsNamespace, dsName string) {
	GinkgoHelper()
	vm, err := getVM(ctx, ns, name)
	Expect(err).NotTo(HaveOccurred())
	Expect(vm.Spec.DataVolumeTemplates).To(HaveLen(1))
	ref := vm.Spec.DataVolumeTemplates[0].Spec.SourceRef
	Expect(ref).NotTo(BeNil())
	Expect(ref.Kind).To(Equal("DataSource"))
	Expect(ref.Name).To(Equal(dsName))
	Expect(ref.Namespace).To(HaveValue(Equal(dsNamespace)))

	By("starting the VM and waiting for its disk and for it to run")
	startVM(ctx, ns, name)
	awaitDataVolumeSucceeded(ctx, ns, name+"-root")
	awaitVMReady(ctx, ns, name)
	vmi, err := framework.Admin().KubeVirt.KubevirtV1().VirtualMachineInstances(ns).Get(ctx, name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	Expect(vmi.Status.Phase).To(Equal(kubevirtv1.Running))
	cpu := vmi.Spec.Domain.CPU
	Expect(cpu).NotTo(BeNil())
	Expect(cpu.Sockets*max(cpu.Cores, 1)*max(cpu.Threads, 1)).To(BeEquivalentTo(1), "u1.small has 1 vCPU")
	Expect(vmi.Spec.Domain.Memory).NotTo(BeNil())
	Expect(vmi.Spec.Domain.Memory.Guest.String()).To(Equal("2Gi"), "u1.small has 2Gi")
}

// VMT-001: a running VM from a boot-source template, declaratively and from the CLI.
var _ = Describe("A VM from a boot-source template", tiers.Scenario("VMT-001"), func() {
	var ns, dsNamespace, dsName string

	BeforeEach(func(ctx SpecContext) {
		ns = namespace.New(ctx)
		dsNamespace, dsName = goldenimage.DataSource(ctx)
		createObject(ctx, withNamespace(fixtures.Instancetype("u1.small", 1, "2Gi"), ns))
	})

	It("creates a running VM through process and create", func(ctx SpecContext) {
		By("creating the template and waiting for it to be Ready")
		tpl := createTemplate(ctx, ns, goldenTemplate(dsNamespace, dsName))
		awaitTemplateReady(ctx, ns, tpl.Name)

		By("processing it with NAME=vm-golden and creating the result")
		out := process(ctx, ns, tpl.Name, params{"NAME": "vm-golden"})
		Expect(out.VirtualMachine.Name).To(Equal("vm-golden"))
		vm := out.VirtualMachine.DeepCopy()
		vm.Namespace = ns
		Expect(framework.Admin().Client.Create(ctx, vm)).To(Succeed())

		expectGoldenVM(ctx, ns, "vm-golden", dsNamespace, dsName)
	})

	It("creates a running VM with virtctl process | kubectl create", tiers.Requires(tiers.RequiresVirtctl), func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, goldenTemplate(dsNamespace, dsName))
		awaitTemplateReady(ctx, ns, tpl.Name)

		res := virtctl.Template(ctx, []string{"process", tpl.Name, "-n", ns, "-p", "NAME=vm-golden-cli"})
		Expect(res.Err).NotTo(HaveOccurred(), "%s", res)
		out, err := kubectl(ctx, res.Stdout, "create", "-n", ns, "-f", "-")
		Expect(err).NotTo(HaveOccurred(), "kubectl create: %s", out)
		expectGoldenVM(ctx, ns, "vm-golden-cli", dsNamespace, dsName)
	})

	It("boots the guest from the cloned disk", tiers.Requires(tiers.RequiresGuest), func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, goldenTemplate(dsNamespace, dsName))
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, "create", params{"NAME": "vm-boot"})
		Expect(call.Err).NotTo(HaveOccurred(), "%s", call)
		expectGoldenVM(ctx, ns, "vm-boot", dsNamespace, dsName)

		By("waiting for the guest agent to connect")
		Eventually(func(ctx SpecContext) (*kubevirtv1.VirtualMachineInstance, error) {
			return framework.Admin().KubeVirt.KubevirtV1().VirtualMachineInstances(ns).Get(ctx, "vm-boot", metav1.GetOptions{})
		}).WithContext(ctx).WithTimeout(wait.VMStart).Should(wait.Reach(wait.HaveCondition("AgentConnected", "True"), wait.VMIFinal, wait.Deleting), "the guest booted from the cloned disk")
	})
})

// VMT-011: a VM in namespace B from a template stored in namespace A (process in A, create
// in B: /create always targets the template's namespace).
var _ = Describe("Using a template from another namespace", tiers.Scenario("VMT-011"), func() {
	It("creates a running VM in B from a template in A", func(ctx SpecContext) {
		shared := namespace.New(ctx, "templates")
		mine := namespace.New(ctx, "workloads")
		dsNamespace, dsName := goldenimage.DataSource(ctx)
		createObject(ctx, withNamespace(fixtures.Instancetype("u1.small", 1, "2Gi"), mine))
		tpl := createTemplate(ctx, shared, goldenTemplate(dsNamespace, dsName))
		awaitTemplateReady(ctx, shared, tpl.Name)

		By("granting a VM owner /process in A and VMs and DataVolumes in B")
		owner := rbac.User("cross-namespace-owner")
		owner.Grant(ctx, shared, rbac.ProcessTemplates(tpl.Name))
		owner.Grant(ctx, mine, rbac.ManageVMs(), rbac.CreateDataVolumes())

		By("processing in A and creating the VM in B")
		call := callSubresource(ctx, owner.Clients, shared, tpl.Name, "process", params{"NAME": "vm-cross"})
		Expect(call.Err).NotTo(HaveOccurred(), "%s", call)
		vm := call.Processed.VirtualMachine.DeepCopy()
		vm.Namespace = mine
		Expect(owner.Clients.Client.Create(ctx, vm)).To(Succeed())

		expectGoldenVM(ctx, mine, "vm-cross", dsNamespace, dsName)
		Expect(vmsIn(shared)(ctx)).To(BeEmpty(), "nothing is created in the template's namespace")
		raw, _ := json.Marshal(vm)
		Expect(string(raw)).NotTo(ContainSubstring(shared))
	})
})
