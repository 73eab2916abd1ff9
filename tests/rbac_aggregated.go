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

// VMT-005 with the roles a namespace admin hands out: the aggregated view and edit roles.
var _ = Describe("Template access through the aggregated roles", tiers.Scenario("VMT-005"), func() {
	It("lets view read templates and edit manage them", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		tpl := createTemplate(ctx, ns, namedTemplate("shared"))

		By("binding one user to view and another to edit in the namespace")
		// Each binding is awaited for what the spec relies on: the template roles aggregate
		// into view and edit (reference/config/rbac/users.yaml, upstream's config/rbac), and the
		// request needs create on DataVolumes too (the capture policy asks; CDI aggregates it).
		viewer := rbac.User("aggregated-viewer")
		viewer.BindClusterRole(ctx, ns, "view", rbac.ViewTemplates())
		editor := rbac.User("aggregated-editor")
		editor.BindClusterRole(ctx, ns, "edit", rbac.ManageTemplates(), rbac.ManageRequests(), rbac.CreateDataVolumes())

		By("reading the template as the viewer")
		Expect(viewer.Clients.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: tpl.Name}, &templatev1beta1.VirtualMachineTemplate{})).To(Succeed(), "view to cover templates")
		Expect(viewer.Clients.Client.Create(ctx, withNamespace(namedTemplate("by-viewer"), ns))).To(beForbidden())

		By("creating a template and a request as the editor")
		Expect(editor.Clients.Client.Create(ctx, withNamespace(namedTemplate("by-editor"), ns))).To(Succeed(), "edit to cover templates")
		Expect(editor.Clients.Client.Create(ctx, fixtures.Request(ns, "some-vm", fixtures.WithRequestNamespace(ns)))).To(Succeed())

		By("checking view does not grant /create")
		call := callSubresource(ctx, viewer.Clients, ns, tpl.Name, core.CreateSubresource, params{"NAME": "vm-viewer"})
		Expect(call).To(haveStatus(http.StatusForbidden), "%s", call)
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
				call := callSubresource(ctx, user.Clients, ns, tpl.Name, sub, params{"NAME": "vm-" + role + "-" + sub})
				Expect(call).To(haveStatus(access.Status), "/%s as %s: %s", sub, role, call)
			}
		}
	})
})

// aggregatedSubresourceAccess is what the aggregated admin and edit roles allow on
// /process and /create of the namespace's templates.
type aggregatedSubresourceAccess struct {
	Allowed bool                // the authorizer's answer for create on each subresource
	Await   []rbacv1.PolicyRule // what a binding waits to be in force beyond the template rules
	Status  int                 // the answer to /process and /create
}

// expectedAggregatedSubresourceAccess is the release's aggregatedSubresourceAccess: both
// subresources from v0.2.4 (release.AggregatedProcessCreate), neither before (403; only
// cluster-admin or custom RBAC may call them).
func expectedAggregatedSubresourceAccess() aggregatedSubresourceAccess {
	GinkgoHelper()
	return byRelease(release.AggregatedProcessCreate,
		aggregatedSubresourceAccess{Allowed: true, Await: []rbacv1.PolicyRule{rbac.ProcessTemplates(), rbac.CreateFromTemplates()}, Status: http.StatusOK},
		aggregatedSubresourceAccess{Allowed: false, Status: http.StatusForbidden})
}
