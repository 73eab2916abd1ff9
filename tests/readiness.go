package tests

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/featuregate"
	"github.com/vmt-conformance/vmt-conformance/framework/inforce"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/framework/sut"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
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
			}).WithContext(ctx).WithTimeout(wait.Long).Should(wait.Reach(wait.HaveCondition("Available", "True"), wait.RolloutFailed),
				"Deployment %s/%s to be Available", install, name)
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

	It("has the template admission objects deployed under upstream's names", func(ctx SpecContext) {
		admission := framework.Admin().Kube.AdmissionregistrationV1()
		versions := framework.SUT().APIs.Template.Served
		Expect(versions).NotTo(BeEmpty(), "versions of %s in discovery", core.GroupName)

		By("checking ValidatingWebhookConfiguration " + featuregate.WebhookConfiguration + " has one template webhook per served version")
		hooks, err := admission.ValidatingWebhookConfigurations().Get(ctx, featuregate.WebhookConfiguration, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred(), "the template webhook configuration")
		for _, version := range versions {
			name := "vvirtualmachinetemplate-" + version + ".kb.io"
			Expect(hooks.Webhooks).To(ContainElement(SatisfyAll(
				HaveField("Name", name),
				HaveField("FailurePolicy", HaveValue(Equal(admissionregistrationv1.Fail))),
				HaveField("Rules", ContainElement(SatisfyAll(
					HaveField("Rule.APIGroups", ConsistOf(core.GroupName)),
					HaveField("Rule.APIVersions", ConsistOf(version)),
					HaveField("Rule.Resources", ConsistOf(core.PluralResourceName)),
					HaveField("Operations", ConsistOf(admissionregistrationv1.Create, admissionregistrationv1.Update)),
				))),
			)), "webhook %s in %s", name, featuregate.WebhookConfiguration)
		}

		By("checking ValidatingAdmissionPolicy " + featuregate.RequestPolicy + " covers request creation in every served version")
		policy, err := admission.ValidatingAdmissionPolicies().Get(ctx, featuregate.RequestPolicy, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred(), "the request policy")
		Expect(policy.Spec.FailurePolicy).To(HaveValue(Equal(admissionregistrationv1.Fail)))
		Expect(policy.Spec.MatchConstraints).NotTo(BeNil())
		Expect(policy.Spec.MatchConstraints.ResourceRules).To(ContainElement(SatisfyAll(
			HaveField("RuleWithOperations.Rule.APIGroups", ConsistOf(core.GroupName)),
			HaveField("RuleWithOperations.Rule.APIVersions", ContainElements(versions)),
			HaveField("RuleWithOperations.Rule.Resources", ConsistOf(core.PluralRequestResourceName)),
			HaveField("RuleWithOperations.Operations", ContainElement(admissionregistrationv1.Create)),
		)), "resource rules of %s", featuregate.RequestPolicy)

		By("checking its binding " + featuregate.RequestPolicy + " denies")
		binding, err := admission.ValidatingAdmissionPolicyBindings().Get(ctx, featuregate.RequestPolicy, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred(), "the request policy binding")
		Expect(binding.Spec.PolicyName).To(Equal(featuregate.RequestPolicy))
		Expect(binding.Spec.ValidationActions).To(ContainElement(admissionregistrationv1.Deny))
	})

	It("reconciles a new template to Ready", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		By("creating a template")
		tpl := createTemplate(ctx, ns, namedTemplate("readiness"))

		// Upstream's template controller sets Ready=True/Reconciled, "VirtualMachineTemplate is
		// ready to be processed", with the template's generation (internal/controller/
		// virtualmachinetemplate_controller.go@v0.1.8:62-68 and @v0.2.2:62-68); it never sets
		// Ready=False, so only the bound ends a wait on a controller that never reconciles.
		By("waiting for the controller to report it Ready for its generation")
		Eventually(templateGetter(ns, tpl.Name)).WithContext(ctx).WithTimeout(wait.Medium).Should(wait.Reach(SatisfyAll(
			wait.HaveCondition(templatev1beta1.ConditionReady, "True", templatev1beta1.ReasonReconciled),
			WithTransform(readyGeneration, Equal(tpl.Generation)),
		), wait.Deleting), "template %s/%s to be Ready for generation %d (controller %s/virt-template-controller)", ns, tpl.Name, tpl.Generation, framework.Config().InstallNamespace)
		got, err := templateGetter(ns, tpl.Name)(ctx)
		Expect(err).NotTo(HaveOccurred())
		ready := meta.FindStatusCondition(got.Status.Conditions, templatev1beta1.ConditionReady)
		Expect(ready.Message).To(Equal("VirtualMachineTemplate is ready to be processed"))

		By("processing it")
		Expect(process(ctx, ns, tpl.Name, params{"NAME": "vm-ready"}).VirtualMachine.Name).To(Equal("vm-ready"))
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

// readyGeneration is the observedGeneration of a template's Ready condition (-1 without one).
func readyGeneration(t *templatev1beta1.VirtualMachineTemplate) int64 {
	if c := meta.FindStatusCondition(t.Status.Conditions, templatev1beta1.ConditionReady); c != nil {
		return c.ObservedGeneration
	}
	return -1
}

var apiServices = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
