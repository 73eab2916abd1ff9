package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// upgradeState is what upgrade-pre hands to upgrade-post.
type upgradeState struct {
	Namespace string   `json:"namespace"`
	Templates []string `json:"templates"`
	Requests  []string `json:"requests,omitempty"`
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
		writeUpgradeState("direct", upgradeState{Namespace: ns, Templates: []string{tpl.Name}})
	})

	It("before: a request captures a VM into a Ready template (CNV-16817)", tiers.Behaviour(tiers.UpgradePre), tiers.Requires(tiers.RequiresSnapshotStorage), func(ctx SpecContext) {
		ns := keptNamespace(ctx, "captured")
		Expect(framework.Admin().Client.Create(ctx, withNamespace(fixtures.VM("upgrade-source",
			fixtures.WithRunStrategy(kubevirtv1.RunStrategyAlways),
			fixtures.WithBlankDataVolumeDisk("data", "upgrade-source-data", "1Gi")), ns))).To(Succeed())
		awaitVMReady(ctx, ns, "upgrade-source")
		req := fixtures.Request(ns, "upgrade-source", fixtures.WithRequestNamespace(ns), fixtures.WithTemplateName("captured"))
		Expect(framework.Admin().Client.Create(ctx, req)).To(Succeed())
		awaitRequestDone(ctx, ns, req.Name)
		awaitTemplateReady(ctx, ns, "captured")
		writeUpgradeState("captured", upgradeState{Namespace: ns, Templates: []string{"captured"}, Requests: []string{req.Name}})
	})

	for _, phase := range []string{"direct", "captured"} {
		It("after: the "+phase+" objects are preserved and Ready, and make new VMs (CNV-16818, CNV-16819)", tiers.Behaviour(tiers.UpgradePost), func(ctx SpecContext) {
			s := readUpgradeState(phase)
			DeferCleanup(func(ctx SpecContext) {
				Expect(framework.Admin().Kube.CoreV1().Namespaces().Delete(ctx, s.Namespace, metav1.DeleteOptions{})).To(Succeed())
			})
			for _, name := range s.Requests {
				By("checking request " + name + " is still done")
				awaitRequestDone(ctx, s.Namespace, name)
			}
			for _, name := range s.Templates {
				By("checking template " + name + " is Ready and readable through v1beta1")
				awaitTemplateReady(ctx, s.Namespace, name)
				By("creating a new VM from " + name)
				call := callSubresource(ctx, framework.Admin(), s.Namespace, name, core.CreateSubresource, params{"NAME": "vm-post-" + phase})
				Expect(call).To(haveStatus(http.StatusOK), "%s", call)
			}
		})
	}
})
