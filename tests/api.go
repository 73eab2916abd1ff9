package tests

import (
	"encoding/json"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/client"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	templatev1alpha1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1alpha1"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// sameJSON matches raw JSON that decodes to the same value as want.
func sameJSON(want []byte) OmegaMatcher {
	var w any
	if err := json.Unmarshal(want, &w); err != nil {
		return BeNil() // fails with the offending input shown
	}
	return WithTransform(func(got []byte) (any, error) {
		var g any
		return g, json.Unmarshal(got, &g)
	}, Equal(w))
}

// warningClient is an admin controller-runtime client that records API warnings; it speaks
// the template API version the suite speaks (framework/client.Speaking), as the admin client does.
type warningClient struct {
	ctrlclient.Client
	warnings *warningCollector
}

func newWarningClient() *warningClient {
	GinkgoHelper()
	w := &warningCollector{}
	cfg := rest.CopyConfig(framework.Admin().Config)
	cfg.WarningHandler, cfg.WarningHandlerWithContext = w, nil
	c, err := ctrlclient.New(cfg, ctrlclient.Options{Scheme: client.Scheme})
	Expect(err).NotTo(HaveOccurred())
	return &warningClient{Client: client.Speaking(c, framework.TemplateVersion()), warnings: w}
}

func (w *warningClient) Warnings() []string {
	w.warnings.mu.Lock()
	defer w.warnings.mu.Unlock()
	return append([]string(nil), w.warnings.msgs...)
}

// VMT-025: v1alpha1 (deprecated, storage) and v1beta1 are both served, objects written in
// one are read in the other, and the subresources answer in both versions
// (virt-template.md §2.1, §3.1).
var _ = Describe("Both template API versions", tiers.Scenario("VMT-025"), func() {
	var ns string

	BeforeEach(func(ctx SpecContext) {
		ns = namespace.New(ctx)
	})

	It("serves a template written through v1alpha1 through v1beta1, and back", func(ctx SpecContext) {
		want := cliTemplate()

		By("creating a template through v1alpha1")
		alpha := withNamespace(fixtures.TemplateV1alpha1(want), ns)
		alpha.Name = "written-as-v1alpha1"
		wc := newWarningClient()
		Expect(wc.Create(ctx, alpha)).To(Succeed())
		DeferCleanup(deleteIgnoringNotFound, ctrlObject(alpha))
		Expect(wc.Warnings()).To(ContainElement(ContainSubstring("template.kubevirt.io/v1alpha1 VirtualMachineTemplate is deprecated")),
			"the deprecated version warns")

		By("reading it through v1beta1")
		beta := &templatev1beta1.VirtualMachineTemplate{}
		Expect(framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: alpha.Name}, beta)).To(Succeed())
		Expect(beta.UID).To(Equal(alpha.UID))
		Expect(beta.Spec.Parameters).To(Equal(want.Spec.Parameters))
		Expect(beta.Spec.Message).To(Equal(want.Spec.Message))
		Expect(beta.Spec.VirtualMachine.Raw).To(sameJSON(want.Spec.VirtualMachine.Raw))

		By("creating a template through v1beta1 and reading it through v1alpha1")
		written := createTemplate(ctx, ns, want)
		readBack := &templatev1alpha1.VirtualMachineTemplate{}
		Expect(framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: written.Name}, readBack)).To(Succeed())
		Expect(readBack.UID).To(Equal(written.UID))
		Expect(json.Marshal(readBack.Spec)).To(sameJSON(mustJSON(written.Spec)))
	})

	It("serves a request written through v1alpha1 through v1beta1", func(ctx SpecContext) {
		By("creating a request with templateLabels and a TTL through v1alpha1")
		want := fixtures.Request(ns, "source-vm", fixtures.WithRequestNamespace(ns), fixtures.WithTemplateName("captured"),
			fixtures.WithTemplateLabels(map[string]string{"app": "fedora"}), fixtures.WithTTLSecondsAfterFinished(600))
		alpha := fixtures.RequestV1alpha1(want)
		Expect(framework.Admin().Client.Create(ctx, alpha)).To(Succeed())
		DeferCleanup(deleteIgnoringNotFound, ctrlObject(alpha))

		By("reading it through v1beta1 with every field intact")
		beta := &templatev1beta1.VirtualMachineTemplateRequest{}
		Expect(framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: alpha.Name}, beta)).To(Succeed())
		Expect(beta.Spec).To(Equal(want.Spec), "the beta fields (templateLabels, ttlSecondsAfterFinished) survive v1alpha1 storage")
	})

	It("lists both versions of both groups in discovery", func(ctx SpecContext) {
		disco := framework.Admin().Kube.Discovery()
		for _, version := range []string{"v1alpha1", "v1beta1"} {
			By("reading " + core.GroupName + "/" + version)
			list, err := disco.ServerResourcesForGroupVersion(core.GroupName + "/" + version)
			Expect(err).NotTo(HaveOccurred())
			Expect(resourceNames(list.APIResources)).To(ContainElements(core.PluralResourceName, core.PluralRequestResourceName))

			By("reading " + core.SubresourceGroupName + "/" + version)
			list, err = disco.ServerResourcesForGroupVersion(core.SubresourceGroupName + "/" + version)
			Expect(err).NotTo(HaveOccurred())
			Expect(resourceNames(list.APIResources)).To(ConsistOf(
				core.PluralResourceName+"/"+core.ProcessSubresource, core.PluralResourceName+"/"+core.CreateSubresource),
				"only the subresources; the placeholder parent is hidden")
		}
	})

	It("answers /process and /create through the v1alpha1 subresource API", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, cliTemplate())

		By("processing through v1alpha1")
		call := callSubresourceVersion(ctx, framework.Admin(), "v1alpha1", ns, tpl.Name, core.ProcessSubresource, params{"NAME": "vm-alpha"})
		Expect(call).To(haveStatus(http.StatusOK), "%s", call)
		Expect(call.Processed.APIVersion).To(Equal(core.SubresourceGroupName + "/v1alpha1"))
		Expect(call.Processed.Kind).To(Equal("ProcessedVirtualMachineTemplate"))
		Expect(call.Processed.VirtualMachine.Name).To(Equal("vm-alpha"))

		By("creating through v1alpha1")
		call = callSubresourceVersion(ctx, framework.Admin(), "v1alpha1", ns, tpl.Name, core.CreateSubresource, params{"NAME": "vm-alpha"})
		Expect(call).To(haveStatus(http.StatusOK), "%s", call)
		Expect(call.Processed.VirtualMachine.UID).NotTo(BeEmpty())
		Expect(vmsIn(ns)(ctx)).To(ConsistOf("vm-alpha"))
	})
})

func mustJSON(v any) []byte {
	raw, err := json.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	return raw
}
