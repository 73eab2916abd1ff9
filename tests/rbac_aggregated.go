package tests

import (
	"fmt"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/rbac"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// VMT-005 with the roles a namespace admin hands out: the aggregated view, edit and admin
// roles, checked from both sides with real calls as impersonated users (and the
// authorizer's answer beside them).
var _ = Describe("Template access through the aggregated roles", tiers.Scenario("VMT-005"), func() {
	It("lets view read templates but neither change them nor call /process or /create", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		tpl := createTemplate(ctx, ns, namedTemplate("shared"))

		By("binding a user to view in the namespace")
		// view aggregates the template viewer role (config/rbac/virtualmachinetemplate_viewer_role.yaml
		// @v0.1.8 and @v0.2.2: get, list, watch; no subresources.template.kubevirt.io rule at either tag).
		viewer := rbac.User("aggregated-viewer")
		viewer.BindClusterRole(ctx, ns, "view", rbac.ViewTemplates())

		By("getting and listing templates as the viewer")
		Expect(viewer.Clients.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: tpl.Name}, &templatev1beta1.VirtualMachineTemplate{})).To(Succeed(), "view to cover templates")
		list := &templatev1beta1.VirtualMachineTemplateList{}
		Expect(viewer.Clients.Client.List(ctx, list, ctrlInNamespace(ns))).To(Succeed())
		Expect(list.Items).To(ConsistOf(HaveField("Name", tpl.Name)))

		By("creating a template as the viewer")
		Expect(viewer.Clients.Client.Create(ctx, withNamespace(namedTemplate("by-viewer"), ns))).To(beForbidden())

		for _, sub := range []string{core.ProcessSubresource, core.CreateSubresource} {
			By(fmt.Sprintf("calling /%s as the viewer", sub))
			allowed, err := viewer.Can(ctx, ns, "create", core.SubresourceGroupName, core.PluralResourceName, sub, tpl.Name)
			Expect(err).NotTo(HaveOccurred())
			Expect(allowed).To(BeFalse(), "view may create %s/%s", core.PluralResourceName, sub)
			call := callSubresource(ctx, viewer.Clients, ns, tpl.Name, sub, params{"NAME": "vm-viewer-" + sub})
			Expect(call).To(haveStatus(http.StatusForbidden), "/%s as view: %s", sub, call)
			Expect(call.Err).To(MatchError(ContainSubstring(`cannot create resource "%s/%s" in API group "%s"`, core.PluralResourceName, sub, core.SubresourceGroupName)), "%s", call)
		}
		Expect(vmsIn(ns)(ctx)).To(BeEmpty(), "VMs after the viewer's calls")
	})

	It("lets edit manage templates and requests", func(ctx SpecContext) {
		ns := namespace.New(ctx)

		By("binding a user to edit in the namespace")
		// The request needs create on DataVolumes too (the capture policy asks; CDI aggregates it).
		editor := rbac.User("aggregated-editor")
		editor.BindClusterRole(ctx, ns, "edit", rbac.ManageTemplates(), rbac.ManageRequests(), rbac.CreateDataVolumes())

		By("creating a template and a request as the editor")
		Expect(editor.Clients.Client.Create(ctx, withNamespace(namedTemplate("by-editor"), ns))).To(Succeed(), "edit to cover templates")
		Expect(editor.Clients.Client.Create(ctx, fixtures.Request(ns, "some-vm", fixtures.WithRequestNamespace(ns)))).To(Succeed())
	})

	It("lets edit and admin call /process and /create only from the release that grants it", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		tpl := createTemplate(ctx, ns, namedTemplate("shared"))
		access := expectedAggregatedSubresourceAccess()

		for _, role := range []string{"edit", "admin"} {
			By("binding a user to " + role + " in the namespace")
			user := rbac.User("aggregated-" + role)
			user.BindClusterRole(ctx, ns, role, rbac.ManageTemplates(), access.Await...)
			for _, sub := range []string{core.ProcessSubresource, core.CreateSubresource} {
				By(fmt.Sprintf("calling /%s as %s", sub, role))
				allowed, err := user.Can(ctx, ns, "create", core.SubresourceGroupName, core.PluralResourceName, sub, tpl.Name)
				Expect(err).NotTo(HaveOccurred())
				Expect(allowed).To(Equal(access.Allowed), "%s may create %s/%s", role, core.PluralResourceName, sub)
				name := "vm-" + role + "-" + sub
				call := callSubresource(ctx, user.Clients, ns, tpl.Name, sub, params{"NAME": name})
				Expect(call).To(haveStatus(access.Status), "/%s as %s: %s", sub, role, call)
				Expect(call).To(access.Answer(name), "/%s as %s", sub, role)
			}
		}
		By("checking only the allowed /create calls made VMs")
		Expect(vmsIn(ns)(ctx)).To(access.VMs)
	})
})

// aggregatedSubresourceAccess is what the aggregated admin and edit roles allow on
// /process and /create of the namespace's templates.
type aggregatedSubresourceAccess struct {
	Allowed bool                // the authorizer's answer for create on each subresource
	Await   []rbacv1.PolicyRule // what a binding waits to be in force beyond the template rules
	Status  int                 // the answer to /process and /create
	// Answer is what the *subresourceCall for VM name carries besides its status.
	Answer func(name string) OmegaMatcher
	VMs    OmegaMatcher // the namespace's VM names after /create as edit and as admin
}

// expectedAggregatedSubresourceAccess is the release's aggregatedSubresourceAccess: both
// subresources from v0.2.4 (release.AggregatedProcessCreate), neither before (403; only
// cluster-admin or custom RBAC may call them).
func expectedAggregatedSubresourceAccess() aggregatedSubresourceAccess {
	GinkgoHelper()
	return byRelease(release.AggregatedProcessCreate,
		aggregatedSubresourceAccess{
			Allowed: true, Await: []rbacv1.PolicyRule{rbac.ProcessTemplates(), rbac.CreateFromTemplates()}, Status: http.StatusOK,
			Answer: func(name string) OmegaMatcher {
				return HaveField("Processed.VirtualMachine.Name", name)
			},
			VMs: ConsistOf("vm-edit-create", "vm-admin-create"),
		},
		aggregatedSubresourceAccess{
			Allowed: false, Status: http.StatusForbidden,
			Answer: func(string) OmegaMatcher {
				return HaveField("Err", MatchError(ContainSubstring("is forbidden: User ")))
			},
			VMs: BeEmpty(),
		})
}
