package tests

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
	instancetypev1beta1 "kubevirt.io/api/instancetype/v1beta1"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// VMT-009 with the cluster-wide kinds a cluster ships (the STP's u1.* are
// VirtualMachineClusterInstancetypes): the sizes and preferences differ from every default
// (1 vCPU, the template's own memory, sockets topology, virtio), so a VM that ignored them
// fails.
var _ = Describe("Templates with cluster-wide instance types and preferences", tiers.Scenario("VMT-009"), func() {
	It("sizes the VM by a VirtualMachineClusterInstancetype and shapes it by a VirtualMachineClusterPreference", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		// Cluster-scoped objects are shared by parallel specs: the names carry the namespace.
		itName, prefName := ns+"-c3m3", ns+"-sata"

		By("creating cluster instance type " + itName + " (3 vCPUs, 3Gi) and cluster preference " + prefName + " (cores, sata, e1000e)")
		createObject(ctx, fixtures.ClusterInstancetype(itName, 3, "3Gi"))
		pref := fixtures.ClusterPreference(prefName, kubevirtv1.DiskBusSATA, "e1000e")
		cores := instancetypev1beta1.Cores
		pref.Spec.CPU = &instancetypev1beta1.CPUPreferences{PreferredCPUTopology: &cores}
		createObject(ctx, pref)

		tpl := createTemplate(ctx, ns, fixtures.Template("cluster-sized",
			fixtures.WithParameter("NAME", fixtures.Required()),
			fixtures.WithParameter("INSTANCETYPE", fixtures.Value(itName)),
			fixtures.WithVMName(fixtures.Ref("NAME")),
			fixtures.WithVMOptions(
				fixtures.WithInstancetype(fixtures.ClusterInstancetypeKind, fixtures.Ref("INSTANCETYPE")),
				fixtures.WithPreference(fixtures.ClusterPreferenceKind, prefName),
				fixtures.WithPodNetwork(""),
			),
		))

		By("creating vm-cluster-sized through /create")
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.CreateSubresource, params{"NAME": "vm-cluster-sized"})
		Expect(call).To(haveStatus(http.StatusOK), "%s", call)
		vm, err := getVM(ctx, ns, "vm-cluster-sized")
		Expect(err).NotTo(HaveOccurred())
		Expect(vm.Spec.Instancetype).To(And(HaveField("Kind", fixtures.ClusterInstancetypeKind), HaveField("Name", itName)), "the cluster-wide kind is kept")
		Expect(vm.Spec.Preference).To(And(HaveField("Kind", fixtures.ClusterPreferenceKind), HaveField("Name", prefName)))
		Expect(vm.Spec.Template.Spec.Domain.CPU).To(BeNil(), "the template leaves sizing to the instance type")
		Expect(vm.Spec.Template.Spec.Domain.Memory).To(BeNil())

		By("starting it and reading the VMI KubeVirt built from the instance type and preference")
		startVM(ctx, ns, vm.Name)
		awaitVMReady(ctx, ns, vm.Name)
		vmi, err := framework.Admin().KubeVirt.KubevirtV1().VirtualMachineInstances(ns).Get(ctx, vm.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(vmi.Spec.Domain.Memory).NotTo(BeNil())
		Expect(vmi.Spec.Domain.Memory.Guest.String()).To(Equal("3Gi"), "guest memory of %s", itName)
		Expect(vmi.Spec.Domain.CPU).NotTo(BeNil())
		cpu := *vmi.Spec.Domain.CPU
		Expect([]uint32{cpu.Sockets, cpu.Cores, cpu.Threads}).To(Equal([]uint32{1, 3, 1}),
			"sockets, cores, threads: 3 vCPUs of %s spread over cores as %s prefers", itName, prefName)
		Expect(vmi.Spec.Domain.Devices.Disks).NotTo(BeEmpty())
		for _, d := range vmi.Spec.Domain.Devices.Disks {
			Expect(d.Disk).NotTo(BeNil(), "disk %s", d.Name)
			Expect(d.Disk.Bus).To(Equal(kubevirtv1.DiskBusSATA), "preferred disk bus on %s", d.Name)
		}
		Expect(vmi.Spec.Domain.Devices.Interfaces).To(ConsistOf(HaveField("Model", "e1000e")), "preferred interface model")
	})
})
