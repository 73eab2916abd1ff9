package tests

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// VMT-009: templates honour instance types, preferences and supporting configuration.
var _ = Describe("Templates with instance types and preferences", tiers.Scenario("VMT-009"), func() {
	var ns string

	BeforeEach(func(ctx SpecContext) {
		ns = namespace.New(ctx)
		createObject(ctx, withNamespace(fixtures.Instancetype("u1.small", 1, "2Gi"), ns))
		createObject(ctx, withNamespace(fixtures.Instancetype("u1.medium", 1, "4Gi"), ns))
		createObject(ctx, withNamespace(fixtures.Preference("fedora", kubevirtv1.DiskBusVirtio, "virtio"), ns))
	})

	It("gives each VM the instance type, preference and cloud-init it asks for", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, fixtures.Template("sized",
			fixtures.WithParameter("NAME", fixtures.Required()),
			fixtures.WithParameter("INSTANCETYPE", fixtures.Value("u1.small")),
			fixtures.WithVMName(fixtures.Ref("NAME")),
			fixtures.WithVMOptions(
				fixtures.WithInstancetype(fixtures.InstancetypeKind, fixtures.Ref("INSTANCETYPE")),
				fixtures.WithPreference(fixtures.PreferenceKind, "fedora"),
				fixtures.WithPodNetwork(""),
				fixtures.WithCloudInitNoCloud("#cloud-config\nhostname: ${NAME}\n"),
			),
		))
		for _, tc := range []struct{ instancetype, memory string }{{"u1.small", "2Gi"}, {"u1.medium", "4Gi"}} {
			name := "vm-" + tc.instancetype[3:]
			By("creating " + name + " with INSTANCETYPE=" + tc.instancetype)
			call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.CreateSubresource, params{"NAME": name, "INSTANCETYPE": tc.instancetype})
			Expect(call.Err).NotTo(HaveOccurred(), "%s", call)
			vm := call.Processed.VirtualMachine
			Expect(vm.Spec.Instancetype).To(HaveField("Name", tc.instancetype))
			Expect(vm.Spec.Preference).To(HaveField("Name", "fedora"))

			By("starting it and reading the VMI")
			startVM(ctx, ns, name)
			awaitVMReady(ctx, ns, name)
			vmi, err := framework.Admin().KubeVirt.KubevirtV1().VirtualMachineInstances(ns).Get(ctx, name, metav1.GetOptions{})
			Expect(err).NotTo(HaveOccurred())
			Expect(vmi.Spec.Domain.Memory.Guest.String()).To(Equal(tc.memory), "guest memory of %s", tc.instancetype)
			cpu := vmi.Spec.Domain.CPU
			Expect(cpu.Sockets * max(cpu.Cores, 1) * max(cpu.Threads, 1)).To(BeEquivalentTo(1))
			for _, d := range vmi.Spec.Domain.Devices.Disks {
				Expect(d.Disk).NotTo(BeNil())
				Expect(d.Disk.Bus).To(Equal(kubevirtv1.DiskBusVirtio), "preferred disk bus on %s", d.Name)
			}
			for _, i := range vmi.Spec.Domain.Devices.Interfaces {
				Expect(i.Model).To(Equal("virtio"), "preferred interface model on %s", i.Name)
			}
			Expect(vmi.Spec.Volumes).To(ContainElement(HaveField("VolumeSource.CloudInitNoCloud.UserData", ContainSubstring("hostname: "+name))))
		}
	})

	It("inlines the instance type when capturing a VM that uses one (limitation L1)", tiers.Requires(tiers.RequiresSnapshotStorage), func(ctx SpecContext) {
		createObject(ctx, withNamespace(fixtures.VM("sized-source",
			fixtures.WithRunStrategy(kubevirtv1.RunStrategyAlways),
			fixtures.WithInstancetype(fixtures.InstancetypeKind, "u1.medium"),
			fixtures.WithPreference(fixtures.PreferenceKind, "fedora"),
			fixtures.WithBlankDataVolumeDisk("data", "sized-source-data", "1Gi"),
		), ns))
		awaitVMReady(ctx, ns, "sized-source")
		req := createObject(ctx, fixtures.Request(ns, "sized-source", fixtures.WithRequestNamespace(ns), fixtures.WithTemplateName("sized-captured")))
		awaitRequestDone(ctx, ns, req.Name)

		tpl := awaitTemplateReady(ctx, ns, "sized-captured")
		vm := decodeCapturedVM(tpl)
		Expect(vm.Spec.Instancetype).To(BeNil(), "no instancetype reference in a captured template")
		Expect(vm.Spec.Preference).To(BeNil(), "no preference reference in a captured template")
		Expect(vm.Spec.Template.Spec.Domain.Memory).NotTo(BeNil())
		Expect(vm.Spec.Template.Spec.Domain.Memory.Guest.String()).To(Equal("4Gi"), "u1.medium's memory, inlined")
	})
})
