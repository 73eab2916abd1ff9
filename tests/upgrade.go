package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// upgradeState is what upgrade-pre hands to upgrade-post.
type upgradeState struct {
	Namespace string   `json:"namespace"`
	Templates []string `json:"templates"`
	Requests  []string `json:"requests,omitempty"`
	// VMs made before the upgrade, with the UID and whether it ran: after the upgrade each
	// is the same object, and one that ran still runs.
	VMs []upgradeVM `json:"vms,omitempty"`
	// InFlight is a capture request started last before the upgrade and not awaited; it must
	// finish after the upgrade. InFlightDoneBefore says whether it had already finished when
	// the upgrade-pre lane ended (then the upgrade did not interrupt it).
	InFlight           string `json:"inFlight,omitempty"`
	InFlightTemplate   string `json:"inFlightTemplate,omitempty"`
	InFlightDoneBefore bool   `json:"inFlightDoneBefore,omitempty"`
	// RequestSpecs are the specs of the requests written through v1alpha1, by name: after
	// the upgrade they read back unchanged through the version the suite speaks then.
	RequestSpecs map[string]templatev1beta1.VirtualMachineTemplateRequestSpec `json:"requestSpecs,omitempty"`
}

type upgradeVM struct {
	Name    string    `json:"name"`
	UID     types.UID `json:"uid"`
	Running bool      `json:"running"`
}

// recordVM is the state of VM ns/name for upgradeState.VMs.
func recordVM(ctx SpecContext, ns, name string) upgradeVM {
	GinkgoHelper()
	vm, err := getVM(ctx, ns, name)
	Expect(err).NotTo(HaveOccurred())
	return upgradeVM{Name: name, UID: vm.UID, Running: vm.Status.Ready}
}

// expectVMsKept checks that every VM of s is the same object after the upgrade and that one
// that ran before still runs.
func expectVMsKept(ctx SpecContext, s upgradeState) {
	GinkgoHelper()
	for _, want := range s.VMs {
		By("checking VM " + want.Name + " from before the upgrade is still there")
		vm, err := getVM(ctx, s.Namespace, want.Name)
		Expect(err).NotTo(HaveOccurred(), "VM %s/%s made before the upgrade", s.Namespace, want.Name)
		Expect(vm.UID).To(Equal(want.UID), "VM %s/%s is the object from before the upgrade", s.Namespace, want.Name)
		if want.Running {
			awaitVMReady(ctx, s.Namespace, want.Name)
		}
	}
}

func upgradeStatePath(phase string) string {
	return filepath.Join(framework.Config().ArtifactsDir, "upgrade-state", phase+".json")
}

func writeUpgradeState(phase string, s upgradeState) {
	GinkgoHelper()
	raw, err := json.MarshalIndent(s, "", "  ")
	Expect(err).NotTo(HaveOccurred())
	Expect(os.MkdirAll(filepath.Dir(upgradeStatePath(phase)), 0o755)).To(Succeed())
	Expect(os.WriteFile(upgradeStatePath(phase), raw, 0o644)).To(Succeed())
}

func readUpgradeState(phase string) upgradeState {
	GinkgoHelper()
	raw, err := os.ReadFile(upgradeStatePath(phase))
	Expect(err).NotTo(HaveOccurred(), "the upgrade-pre lane's state (run it before the upgrade with the same --vmt.artifacts)")
	var s upgradeState
	Expect(json.Unmarshal(raw, &s)).To(Succeed())
	return s
}

// keptNamespace creates a namespace that outlives the spec (the upgrade-post spec deletes it):
// marked kept, so the cleanup check lists it and later runs leave it alone.
func keptNamespace(ctx SpecContext, role string) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "vmt-upgrade-" + role + "-", Labels: namespace.RunLabels(),
		Annotations: map[string]string{namespace.AnnotKept: "upgrade-pre state for the upgrade-post lane"}}}
	Expect(framework.Admin().Client.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// VMT-012: templates and requests survive an upgrade and stay usable.
var _ = Describe("Templates across an upgrade", tiers.Scenario("VMT-012"), func() {
	It("before: a template written through v1alpha1 is Ready and makes a VM (CNV-16822, CNV-16821)", tiers.Behaviour(tiers.UpgradePre), func(ctx SpecContext) {
		ns := keptNamespace(ctx, "direct")
		tpl := withNamespace(fixtures.TemplateV1alpha1(namedTemplate("direct")), ns)
		Expect(framework.Admin().Client.Create(ctx, tpl)).To(Succeed())
		awaitTemplateReady(ctx, ns, tpl.Name)
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.CreateSubresource, params{"NAME": "vm-pre"})
		Expect(call).To(haveStatus(http.StatusOK), "%s", call)
		writeUpgradeState("direct", upgradeState{Namespace: ns, Templates: []string{tpl.Name}, VMs: []upgradeVM{recordVM(ctx, ns, "vm-pre")}})
	})

	It("before: a request captures a VM into a Ready template (CNV-16817)", tiers.Behaviour(tiers.UpgradePre), tiers.Requires(tiers.RequiresSnapshotStorage), func(ctx SpecContext) {
		ns := keptNamespace(ctx, "captured")
		Expect(framework.Admin().Client.Create(ctx, withNamespace(fixtures.VM("upgrade-source",
			fixtures.WithRunStrategy(kubevirtv1.RunStrategyAlways),
			fixtures.WithBlankDataVolumeDisk("data", "upgrade-source-data", "1Gi")), ns))).To(Succeed())
		awaitVMReady(ctx, ns, "upgrade-source")
		By("capturing it through a request written as template.kubevirt.io/v1alpha1")
		req := fixtures.RequestV1alpha1(fixtures.Request(ns, "upgrade-source", fixtures.WithRequestNamespace(ns), fixtures.WithTemplateName("captured")))
		Expect(framework.Admin().Client.Create(ctx, req)).To(Succeed())
		awaitRequestDone(ctx, ns, req.Name)
		awaitTemplateReady(ctx, ns, "captured")
		written := fixtures.Request(ns, "upgrade-source", fixtures.WithRequestNamespace(ns), fixtures.WithTemplateName("captured")).Spec

		By("starting a second capture and leaving it in flight for the upgrade")
		inFlight := fixtures.Request(ns, "upgrade-source", fixtures.WithRequestNamespace(ns), fixtures.WithTemplateName("captured-across"))
		Expect(framework.Admin().Client.Create(ctx, inFlight)).To(Succeed())
		doneBefore := false
		if r, err := requestGetter(ns, inFlight.Name)(ctx); err == nil {
			doneBefore = r.Status.TemplateRef != nil
		}
		AddReportEntry("capture across the upgrade", fmt.Sprintf("request %s/%s finished before the upgrade-pre lane ended: %t", ns, inFlight.Name, doneBefore))
		writeUpgradeState("captured", upgradeState{Namespace: ns, Templates: []string{"captured"}, Requests: []string{req.Name},
			VMs:      []upgradeVM{recordVM(ctx, ns, "upgrade-source")},
			InFlight: inFlight.Name, InFlightTemplate: "captured-across", InFlightDoneBefore: doneBefore,
			RequestSpecs: map[string]templatev1beta1.VirtualMachineTemplateRequestSpec{req.Name: written}})
	})

	for _, phase := range []string{"direct", "captured"} {
		It("after: the "+phase+" objects are preserved and Ready, and make new VMs (CNV-16818, CNV-16819)", tiers.Behaviour(tiers.UpgradePost), func(ctx SpecContext) {
			s := readUpgradeState(phase)
			DeferCleanup(func(ctx SpecContext) {
				Expect(framework.Admin().Kube.CoreV1().Namespaces().Delete(ctx, s.Namespace, metav1.DeleteOptions{})).To(Succeed())
			})
			expectVMsKept(ctx, s)
			for _, name := range s.Requests {
				By("checking request " + name + " is still done")
				got := awaitRequestDone(ctx, s.Namespace, name)
				if spec, ok := s.RequestSpecs[name]; ok {
					By("checking request " + name + ", written through v1alpha1, reads back unchanged")
					Expect(got.Spec).To(Equal(spec), "spec of request %s/%s read after the upgrade", s.Namespace, name)
				}
			}
			if s.InFlight != "" {
				By(fmt.Sprintf("checking the capture started before the upgrade (%s, finished before it: %t) completes after it", s.InFlight, s.InFlightDoneBefore))
				done := awaitRequestDone(ctx, s.Namespace, s.InFlight)
				Expect(done.Status.TemplateRef.Name).To(Equal(s.InFlightTemplate))
				s.Templates = append(s.Templates, s.InFlightTemplate)
			}
			for _, name := range s.Templates {
				By("checking template " + name + " is Ready and readable through v1beta1")
				awaitTemplateReady(ctx, s.Namespace, name)
				By("creating a new VM from " + name)
				call := callSubresource(ctx, framework.Admin(), s.Namespace, name, core.CreateSubresource, params{"NAME": "vm-post-" + name})
				Expect(call).To(haveStatus(http.StatusOK), "%s", call)
			}
		})
	}
})
