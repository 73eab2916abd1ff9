package tests

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/featuregate"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

const templateCRD = core.PluralResourceName + "." + core.GroupName

// crdGone is a getter for Eventually: true once the template CRD is deleted.
func crdGone(ctx SpecContext) (bool, error) {
	err := framework.Admin().Client.Get(ctx, types.NamespacedName{Name: templateCRD}, &apiextensionsv1.CustomResourceDefinition{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return false, err
}

// existingWorkload creates, with the capability on, a template, a VM from it and a request,
// and returns the namespace.
func existingWorkload(ctx SpecContext) string {
	GinkgoHelper()
	ns := namespace.New(ctx)
	tpl := createTemplate(ctx, ns, namedTemplate("before"))
	call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.CreateSubresource, params{"NAME": "vm-before"})
	Expect(call).To(haveStatus(http.StatusOK), "%s", call)
	createObject(ctx, fixtures.Request(ns, "vm-before", fixtures.WithRequestNamespace(ns)))
	return ns
}

// VMT-014 (CNV-16316…16319): with the capability disabled, template workflows are
// unavailable; virt-operator removes the CRDs, so existing templates and requests are lost
// (stp-scenarios.md §11.5) while VMs made from templates stay.
var _ = Describe("Template capability disabled", tiers.Scenario("VMT-014"), Serial, func() {
	It("removes the components and the template API, and keeps VMs made from templates", func(ctx SpecContext) {
		ns := existingWorkload(ctx)

		By("disabling the Template capability")
		featuregate.SetTemplate(ctx, false)

		By("checking the template CRD is gone, and with it the existing templates and requests")
		Eventually(crdGone).WithContext(ctx).WithTimeout(wait.Long).Should(BeTrue(), "CRD %s to be removed", templateCRD)
		AddReportEntry("existing templates and requests after disabling", "lost: the CRDs were removed (virt-operator removes CRDs not in its install strategy)")

		By("creating a template and a request")
		Expect(framework.Admin().Client.Create(ctx, withNamespace(namedTemplate("after"), ns))).NotTo(Succeed())
		Expect(framework.Admin().Client.Create(ctx, fixtures.Request(ns, "vm-before", fixtures.WithRequestNamespace(ns)))).NotTo(Succeed())

		By("calling /process")
		call := callSubresource(ctx, framework.Admin(), ns, "before", core.ProcessSubresource, params{"NAME": "x"})
		Expect(call.Status).To(Equal(http.StatusNotFound), "%s", call)

		By("checking the VM made from a template is still there")
		Expect(vmsIn(ns)(ctx)).To(ConsistOf("vm-before"))
	})
})

// VMT-015 (CNV-16320, CNV-16321): after re-enabling, template workflows recover; objects
// from before the disable do not come back.
var _ = Describe("Template capability re-enabled", tiers.Scenario("VMT-015"), Serial, func() {
	It("brings the components back and template workflows work again", func(ctx SpecContext) {
		ns := existingWorkload(ctx)

		By("disabling and re-enabling the Template capability")
		featuregate.SetTemplate(ctx, false)
		Eventually(crdGone).WithContext(ctx).WithTimeout(wait.Long).Should(BeTrue())
		featuregate.SetTemplate(ctx, true)

		By("waiting for the template CRD to be Established again")
		Eventually(func(ctx SpecContext) (*apiextensionsv1.CustomResourceDefinition, error) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			return crd, framework.Admin().Client.Get(ctx, types.NamespacedName{Name: templateCRD}, crd)
		}).WithContext(ctx).WithTimeout(wait.Long).Should(SatisfyAll(
			HaveField("DeletionTimestamp", BeNil()), // the CRD from before may still be terminating
			wait.HaveCondition("Established", "True"),
		), "CRD %s to be recreated and Established", templateCRD)

		By("stating what happened to the template from before")
		err := framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "before"}, &templatev1beta1.VirtualMachineTemplate{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "templates from before the disable are gone: %v", err)
		AddReportEntry("templates from before the disable after re-enabling", "gone")

		By("creating a new template, a VM from it and a request")
		tpl := createTemplate(ctx, ns, namedTemplate("after"))
		awaitTemplateReady(ctx, ns, tpl.Name)
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.CreateSubresource, params{"NAME": "vm-after"})
		Expect(call).To(haveStatus(http.StatusOK), "%s", call)
		createObject(ctx, fixtures.Request(ns, "vm-after", fixtures.WithRequestNamespace(ns)))
	})
})
