package tests

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/inforce"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/framework/sut"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// VMT-016 (draft VEP76-VirtOperator): the environment the template feature needs is there.
var _ = Describe("Environment readiness for VM templates", tiers.Scenario("VMT-016"), func() {
	It("serves the KubeVirt, instancetype, snapshot and CDI APIs templates build on", func(ctx SpecContext) {
		want := map[string][]string{
			"kubevirt.io/v1":                   {"virtualmachines", "virtualmachineinstances", "kubevirts"},
			"instancetype.kubevirt.io/v1beta1": {"virtualmachineclusterinstancetypes", "virtualmachinepreferences"},
			"snapshot.kubevirt.io/v1beta1":     {"virtualmachinesnapshots", "virtualmachinesnapshotcontents"},
			"cdi.kubevirt.io/v1beta1":          {"datavolumes", "datasources"},
		}
		for gv, resources := range want {
			By("reading discovery for " + gv)
			list, err := framework.Admin().Kube.Discovery().ServerResourcesForGroupVersion(gv)
			Expect(err).NotTo(HaveOccurred(), "discovery of %s", gv)
			var served []string
			for _, r := range list.APIResources {
				served = append(served, r.Name)
			}
			Expect(served).To(ContainElements(resources), "resources served by %s", gv)
		}
	})

	It("round-trips a VirtualMachine through the API", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		vm := fixtures.VM("readiness", fixtures.WithVMNamespace(ns), fixtures.WithCPUCores(2))

		By("creating a VirtualMachine")
		created, err := framework.Admin().KubeVirt.KubevirtV1().VirtualMachines(ns).Create(ctx, vm, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())

		By("reading it back unchanged")
		got, err := framework.Admin().KubeVirt.KubevirtV1().VirtualMachines(ns).Get(ctx, vm.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(got.UID).To(Equal(created.UID))
		Expect(got.Spec.Template.Spec.Domain.CPU.Cores).To(BeEquivalentTo(2))
		Expect(got.Spec.Template.Spec.Volumes).To(Equal(vm.Spec.Template.Spec.Volumes))
	})

	It("has the template components deployed and serving", tiers.Requires(tiers.RequiresTemplateOperator), func(ctx SpecContext) {
		install := framework.Config().InstallNamespace
		for _, name := range []string{"virt-template-apiserver", "virt-template-controller"} {
			By("waiting for Deployment " + install + "/" + name + " to be Available")
			Eventually(func(ctx SpecContext) (*appsv1.Deployment, error) {
				return framework.Admin().Kube.AppsV1().Deployments(install).Get(ctx, name, metav1.GetOptions{})
			}).WithContext(ctx).WithTimeout(wait.Long).Should(wait.HaveCondition("Available", "True"))
		}
		admin := framework.Admin()
		for _, crd := range []string{"virtualmachinetemplates.template.kubevirt.io", "virtualmachinetemplaterequests.template.kubevirt.io"} {
			By("checking CRD " + crd + " is Established and served")
			Expect(inforce.CRD(ctx, admin.Dynamic, admin.Kube.Discovery(), wait.Long, crd)).To(Succeed())
		}
		// One APIService per version the cluster serves (detected in discovery), which are
		// the release's: v1alpha1 and v1beta1 from v0.2.0 (release.ServesV1beta1), v1alpha1 before.
		served := framework.SUT().APIs.Subresources.Served
		Expect(served).To(byRelease(release.ServesV1beta1, ContainElements(sut.V1alpha1, sut.V1beta1), ConsistOf(sut.V1alpha1)),
			"versions of %s in discovery", core.SubresourceGroupName)
		for _, version := range served {
			name := version + "." + core.SubresourceGroupName
			By("checking APIService " + name + " is Available and served")
			Expect(inforce.APIService(ctx, admin.Dynamic, admin.Kube.Discovery(), wait.Long, name)).To(Succeed())
		}
	})

	It("rejects a VirtualMachine that breaks the KubeVirt schema", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		vm := fixtures.VM("no-template", fixtures.WithVMNamespace(ns))
		vm.Spec.Template = nil

		By("creating a VirtualMachine without spec.template")
		_, err := framework.Admin().KubeVirt.KubevirtV1().VirtualMachines(ns).Create(ctx, vm, metav1.CreateOptions{})
		Expect(err).To(MatchError(ContainSubstring("spec.template: Required value")))
	})
})

var apiServices = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
