package tests

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/framework/windows"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// VMT-010: a Windows template gives a VM with the Windows settings it declares.
var _ = Describe("A Windows template", tiers.Scenario("VMT-010"), func() {
	var ns, dsNamespace, dsName string

	BeforeEach(func(ctx SpecContext) {
		ns = namespace.New(ctx)
		dsNamespace, dsName = windows.DataSource(ctx)
	})

	createWindowsVM := func(ctx SpecContext, name string) *kubevirtv1.VirtualMachineInstance {
		GinkgoHelper()
		opts := append(windows.Settings(),
			fixtures.WithRootDiskFromDataSource(fixtures.Ref("NAME")+"-root", fixtures.Ref("DATA_SOURCE_NAMESPACE"), fixtures.Ref("DATA_SOURCE_NAME"), windows.RootDiskSize))
		tpl := createTemplate(ctx, ns, fixtures.Template("windows",
			fixtures.WithParameter("NAME", fixtures.Required()),
			fixtures.WithParameter("DATA_SOURCE_NAME", fixtures.Value(dsName)),
			fixtures.WithParameter("DATA_SOURCE_NAMESPACE", fixtures.Value(dsNamespace)),
			fixtures.WithVMName(fixtures.Ref("NAME")),
			fixtures.WithVMOptions(opts...),
		))
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.CreateSubresource, params{"NAME": name})
		Expect(call.Err).NotTo(HaveOccurred(), "%s", call)
		startVM(ctx, ns, name)
		awaitDataVolumeSucceeded(ctx, ns, name+"-root")
		awaitVMReady(ctx, ns, name)
		vmi, err := framework.Admin().KubeVirt.KubevirtV1().VirtualMachineInstances(ns).Get(ctx, name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		return vmi
	}

	It("runs a VM whose VMI carries the template's Windows settings", func(ctx SpecContext) {
		vmi := createWindowsVM(ctx, "vm-windows")
		d := vmi.Spec.Domain
		Expect(d.Firmware).NotTo(BeNil())
		Expect(d.Firmware.Bootloader.EFI).NotTo(BeNil())
		Expect(d.Firmware.Bootloader.EFI.SecureBoot).To(HaveValue(BeTrue()))
		Expect(d.Devices.TPM).NotTo(BeNil())
		Expect(d.Devices.TPM.Persistent).To(HaveValue(BeTrue()))
		Expect(d.Features).NotTo(BeNil())
		Expect(d.Features.Hyperv).NotTo(BeNil())
		Expect(d.Features.Hyperv.Relaxed).To(HaveField("Enabled", HaveValue(BeTrue())))
		Expect(d.Devices.Disks).To(ContainElement(SatisfyAll(HaveField("Name", "rootdisk"), HaveField("Disk.Bus", kubevirtv1.DiskBusSATA))))
		Expect(d.Devices.Interfaces).To(HaveLen(1))
		Expect(vmi.Spec.Networks).To(ContainElement(HaveField("Pod", Not(BeNil()))))
	})

	It("boots Windows with the guest agent connected", tiers.Requires(tiers.RequiresGuest), func(ctx SpecContext) {
		createWindowsVM(ctx, "vm-windows-boot")
		Eventually(func(ctx SpecContext) (*kubevirtv1.VirtualMachineInstance, error) {
			return framework.Admin().KubeVirt.KubevirtV1().VirtualMachineInstances(ns).Get(ctx, "vm-windows-boot", metav1.GetOptions{})
		}).WithContext(ctx).WithTimeout(wait.VMStart).Should(wait.Reach(wait.HaveCondition("AgentConnected", "True"), wait.VMIFinal, wait.Deleting), "Windows to boot")
	})
})
