package tests

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// beInvalid matches a 422 Invalid API error whose message contains msg.
func beInvalid(msg string) OmegaMatcher {
	return SatisfyAll(WithTransform(apierrors.IsInvalid, BeTrue()), MatchError(ContainSubstring(msg)))
}

// VMT-026: labels under template.kubevirt.io/ are reserved for the system
// (virt-template.md §2.3: CEL rule on spec.templateLabels).
var _ = Describe("Reserved template label prefix", tiers.Scenario("VMT-026"), func() {
	var ns string

	BeforeEach(func(ctx SpecContext) {
		ns = namespace.New(ctx)
	})

	It("refuses a request with a template.kubevirt.io/ template label, in both versions", func(ctx SpecContext) {
		forged := fixtures.Request(ns, "source-vm", fixtures.WithRequestNamespace(ns),
			fixtures.WithTemplateLabels(map[string]string{templatev1beta1.LabelRequestUID: "forged", "app": "fedora"}))

		By("creating it through v1beta1")
		err := framework.Admin().Client.Create(ctx, forged.DeepCopy())
		Expect(err).To(beInvalid(`labels with the prefix "template.kubevirt.io/" are reserved for system use`))

		By("creating it through v1alpha1")
		err = framework.Admin().Client.Create(ctx, fixtures.RequestV1alpha1(forged))
		Expect(err).To(beInvalid(`labels with the prefix "template.kubevirt.io/" are reserved for system use`))

		list := &templatev1beta1.VirtualMachineTemplateRequestList{}
		Expect(framework.Admin().Client.List(ctx, list, ctrlInNamespace(ns))).To(Succeed())
		Expect(list.Items).To(BeEmpty(), "no request was stored")
	})

	It("copies the template labels onto the captured template, beside its RequestUID label", tiers.Requires(tiers.RequiresSnapshotStorage), func(ctx SpecContext) {
		By("capturing a running VM with the template label app=fedora")
		createRunningSource(ctx, ns, "labelled-source")
		req := createObject(ctx, fixtures.Request(ns, "labelled-source", fixtures.WithRequestNamespace(ns),
			fixtures.WithTemplateName("labelled"), fixtures.WithTemplateLabels(map[string]string{"app": "fedora"})))
		awaitRequestDone(ctx, ns, req.Name)

		By("checking the captured template's labels")
		tpl := awaitTemplateReady(ctx, ns, "labelled")
		Expect(tpl.Labels).To(HaveKeyWithValue("app", "fedora"))
		Expect(tpl.Labels).To(HaveKeyWithValue(templatev1beta1.LabelRequestUID, string(req.UID)))
	})

	It("accepts other template labels, including other kubevirt.io prefixes", func(ctx SpecContext) {
		labels := map[string]string{"app": "fedora", "kubevirt.io/os": "fedora", "vm.kubevirt.io/template": "fedora"}
		req := createObject(ctx, fixtures.Request(ns, "source-vm", fixtures.WithRequestNamespace(ns), fixtures.WithTemplateLabels(labels)))

		got := &templatev1beta1.VirtualMachineTemplateRequest{}
		Expect(framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: req.Name}, got)).To(Succeed())
		Expect(got.Spec.TemplateLabels).To(Equal(labels))
	})
})

// VMT-027: a request's spec cannot change once created (virt-template.md §2.3: CEL rule
// "spec is immutable"); its metadata can.
var _ = Describe("Immutable capture request spec", tiers.Scenario("VMT-027"), func() {
	var (
		req *templatev1beta1.VirtualMachineTemplateRequest
		key types.NamespacedName
	)

	BeforeEach(func(ctx SpecContext) {
		ns := namespace.New(ctx)
		req = createObject(ctx, fixtures.Request(ns, "source-vm", fixtures.WithRequestNamespace(ns), fixtures.WithTemplateName("captured")))
		key = types.NamespacedName{Namespace: ns, Name: req.Name}
	})

	// update applies change to the stored request. The controller may update the request
	// meanwhile (finalizer, status): conflicts are retried so the answer is about the change.
	update := func(ctx SpecContext, change func(*templatev1beta1.VirtualMachineTemplateRequest)) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			got := &templatev1beta1.VirtualMachineTemplateRequest{}
			if err := framework.Admin().Client.Get(ctx, key, got); err != nil {
				return err
			}
			change(got)
			return framework.Admin().Client.Update(ctx, got)
		})
	}

	DescribeTable("refuses a change of the spec",
		func(ctx SpecContext, change func(*templatev1beta1.VirtualMachineTemplateRequest)) {
			Expect(update(ctx, change)).To(beInvalid("spec is immutable"))

			got := &templatev1beta1.VirtualMachineTemplateRequest{}
			Expect(framework.Admin().Client.Get(ctx, key, got)).To(Succeed())
			Expect(got.Spec).To(Equal(req.Spec), "the spec as created")
		},
		Entry("spec.templateName", func(r *templatev1beta1.VirtualMachineTemplateRequest) { r.Spec.TemplateName = "other" }),
		Entry("spec.virtualMachineRef.name", func(r *templatev1beta1.VirtualMachineTemplateRequest) { r.Spec.VirtualMachineRef.Name = "other-vm" }),
		// Fields only v1beta1 has (release.RequestTemplateLabels, release.RequestTTL).
		Entry("spec.templateLabels", tiers.Requires(tiers.RequiresV1beta1), func(r *templatev1beta1.VirtualMachineTemplateRequest) {
			r.Spec.TemplateLabels = map[string]string{"a": "b"}
		}),
		Entry("spec.ttlSecondsAfterFinished", tiers.Requires(tiers.RequiresV1beta1), func(r *templatev1beta1.VirtualMachineTemplateRequest) {
			r.Spec.TTLSecondsAfterFinished = new(int32)
		}),
	)

	It("accepts a metadata change", func(ctx SpecContext) {
		By("adding a label to the request")
		Expect(update(ctx, func(r *templatev1beta1.VirtualMachineTemplateRequest) {
			r.Labels = map[string]string{"reviewed": "true"}
		})).To(Succeed())

		got := &templatev1beta1.VirtualMachineTemplateRequest{}
		Expect(framework.Admin().Client.Get(ctx, key, got)).To(Succeed())
		Expect(got.Labels).To(HaveKeyWithValue("reviewed", "true"))
		Expect(got.Spec).To(Equal(req.Spec), "the spec as created")
	})
})

// VMT-028: ttlSecondsAfterFinished is a non-negative number of seconds
// (virt-template.md §2.3). Deletion after success is in tests/request_ttl.go.
var _ = Describe("Capture request TTL", tiers.Scenario("VMT-028"), func() {
	It("accepts a TTL of zero or more and refuses a negative one", func(ctx SpecContext) {
		ns := namespace.New(ctx)

		By("creating a request with ttlSecondsAfterFinished: -1")
		err := framework.Admin().Client.Create(ctx, fixtures.Request(ns, "source-vm", fixtures.WithRequestNamespace(ns), fixtures.WithTTLSecondsAfterFinished(-1)))
		Expect(err).To(beInvalid("spec.ttlSecondsAfterFinished"))

		By("creating requests with ttlSecondsAfterFinished: 0 and 3600")
		for _, ttl := range []int32{0, 3600} {
			req := createObject(ctx, fixtures.Request(ns, "source-vm", fixtures.WithRequestNamespace(ns), fixtures.WithTTLSecondsAfterFinished(ttl)))
			Expect(req.Spec.TTLSecondsAfterFinished).To(HaveValue(Equal(ttl)))
		}
	})
})
