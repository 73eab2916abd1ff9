// Package rbac gives specs personas: impersonated users or service accounts holding exactly
// the roles a spec grants them, in the spec's namespaces. Every Role and binding is removed
// by DeferCleanup, and Grant and BindClusterRole return only once kube-apiserver's authorizer
// allows what was granted (framework/inforce, bounded by wait.Short), so no spec acts before
// its grant is in force, and no aggregated API server caches a denial of it.
package rbac

import (
	"context"
	"fmt"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/client"
	"github.com/vmt-conformance/vmt-conformance/framework/inforce"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
)

// Persona is one identity a spec acts as.
type Persona struct {
	// User is the user name the persona's clients impersonate.
	User string
	// Groups are the groups impersonated with it (system:authenticated is always added).
	Groups []string
	// Clients act as the persona.
	Clients *client.Clients
}

// User returns a persona impersonating a user that holds no role yet. purpose names it in
// the user name ("approved-template-user"); a random suffix keeps parallel specs apart.
func User(purpose string) *Persona {
	GinkgoHelper()
	name := fmt.Sprintf("vmt-e2e:%s-%s", purpose, rand.String(5))
	return newPersona(name)
}

// ServiceAccount creates a ServiceAccount in ns (removed with DeferCleanup) and returns a
// persona impersonating it with its groups, as upstream's authorization tests do.
func ServiceAccount(ctx context.Context, ns, purpose string) *Persona {
	GinkgoHelper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{GenerateName: purpose + "-", Namespace: ns, Labels: labels()}}
	Expect(framework.Admin().Client.Create(ctx, sa)).To(Succeed(), "creating ServiceAccount %s/%s*", ns, purpose)
	DeferCleanup(deleteObject, sa)
	return newPersona("system:serviceaccount:"+ns+":"+sa.Name, "system:serviceaccounts", "system:serviceaccounts:"+ns)
}

func newPersona(user string, groups ...string) *Persona {
	GinkgoHelper()
	cs, err := framework.Admin().As(user, groups...)
	Expect(err).NotTo(HaveOccurred(), "building clients impersonating %s", user)
	return &Persona{User: user, Groups: groups, Clients: cs}
}

// Grant creates a Role with rules in ns and binds the persona to it, then waits until every
// rule is authorized for the persona.
func (p *Persona) Grant(ctx context.Context, ns string, rules ...rbacv1.PolicyRule) {
	GinkgoHelper()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "vmt-e2e-", Namespace: ns, Labels: labels()},
		Rules:      rules,
	}
	Expect(framework.Admin().Client.Create(ctx, role)).To(Succeed(), "creating a Role in %s for %s", ns, p.User)
	DeferCleanup(deleteObject, role)
	p.bind(ctx, ns, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name})
	p.awaitAllowed(ctx, ns, rules...)
}

// BindClusterRole binds the persona to the ClusterRole clusterRole in ns only (a
// RoleBinding), e.g. the aggregated "view" or "edit" roles, and waits until the access the
// caller expects from it (expected, at least one rule; every verb × resource × name) is
// allowed. A ClusterRole's content is not the caller's (aggregation fills it), so the caller
// names what it relies on.
func (p *Persona) BindClusterRole(ctx context.Context, ns, clusterRole string, expected rbacv1.PolicyRule, more ...rbacv1.PolicyRule) {
	GinkgoHelper()
	p.bind(ctx, ns, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole})
	p.awaitAllowed(ctx, ns, append([]rbacv1.PolicyRule{expected}, more...)...)
}

func (p *Persona) bind(ctx context.Context, ns string, ref rbacv1.RoleRef) {
	GinkgoHelper()
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "vmt-e2e-", Namespace: ns, Labels: labels()},
		Subjects:   []rbacv1.Subject{p.subject()},
		RoleRef:    ref,
	}
	Expect(framework.Admin().Client.Create(ctx, binding)).To(Succeed(), "binding %s to %s %s in %s", p.User, ref.Kind, ref.Name, ns)
	DeferCleanup(deleteObject, binding)
}

func (p *Persona) subject() rbacv1.Subject {
	if rest, ok := strings.CutPrefix(p.User, "system:serviceaccount:"); ok {
		ns, name, _ := strings.Cut(rest, ":")
		return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
	}
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: p.User}
}

// Can asks the API server (SelfSubjectAccessReview as the persona) whether it may do verb
// on group/resource[/subresource] named name in ns.
func (p *Persona) Can(ctx context.Context, ns, verb, group, resource, subresource, name string) (bool, error) {
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: verb, Group: group, Resource: resource, Subresource: subresource, Name: name,
		},
	}}
	got, err := p.Clients.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("asking whether %s may %s %s/%s/%s %q in %s: %w", p.User, verb, group, resource, subresource, name, ns, err)
	}
	return got.Status.Allowed, nil
}

// Accesses are what rules grant the persona in ns, as kube-apiserver's authorizer is asked
// about them (impersonation adds system:authenticated to the groups).
func (p *Persona) Accesses(ns string, rules ...rbacv1.PolicyRule) []inforce.Access {
	groups := append(slices.Clone(p.Groups), "system:authenticated")
	return inforce.Accesses(p.User, groups, ns, rules...)
}

// awaitAllowed waits (wait.Short) until every verb × resource × name of rules is allowed.
func (p *Persona) awaitAllowed(ctx context.Context, ns string, rules ...rbacv1.PolicyRule) {
	GinkgoHelper()
	Expect(inforce.Allowed(ctx, framework.Admin().Kube, wait.Short, p.Accesses(ns, rules...)...)).To(Succeed(), "RBAC in force for %s in %s", p.User, ns)
}

// VirtctlFlags are the kubeconfig flags that make a CLI act as the persona.
func (p *Persona) VirtctlFlags() []string {
	out := []string{"--as", p.User}
	for _, g := range p.Groups {
		out = append(out, "--as-group", g)
	}
	return out
}

func labels() map[string]string {
	return namespace.RunLabels()
}

func deleteObject(ctx context.Context, obj ctrlclient.Object) {
	err := framework.Admin().Client.Delete(ctx, obj)
	Expect(ctrlclient.IgnoreNotFound(err)).To(Succeed(), "deleting %T %s/%s", obj, obj.GetNamespace(), obj.GetName())
}

// Rules for the template roles specs grant. Each is one PolicyRule; names restrict it to
// those resource names when given.

// ProcessTemplates allows `create` on virtualmachinetemplates/process.
func ProcessTemplates(names ...string) rbacv1.PolicyRule {
	return subresourceRule(core.ProcessSubresource, names)
}

// CreateFromTemplates allows `create` on virtualmachinetemplates/create: VMs from those
// templates, without any right on VirtualMachines themselves.
func CreateFromTemplates(names ...string) rbacv1.PolicyRule {
	return subresourceRule(core.CreateSubresource, names)
}

func subresourceRule(sub string, names []string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{
		APIGroups: []string{core.SubresourceGroupName}, Resources: []string{core.PluralResourceName + "/" + sub},
		Verbs: []string{"create"}, ResourceNames: names,
	}
}

// ManageTemplates is what upstream's editor role grants on templates.
func ManageTemplates() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{
		APIGroups: []string{core.GroupName}, Resources: []string{core.PluralResourceName},
		Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"},
	}
}

// ViewTemplates is what upstream's viewer role grants on templates.
func ViewTemplates() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{
		APIGroups: []string{core.GroupName}, Resources: []string{core.PluralResourceName},
		Verbs: []string{"get", "list", "watch"},
	}
}

// CreateTemplates allows only `create` on templates.
func CreateTemplates() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{core.GroupName}, Resources: []string{core.PluralResourceName}, Verbs: []string{"create"}}
}

// ManageRequests is what upstream's editor role grants on template requests.
func ManageRequests() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{
		APIGroups: []string{core.GroupName}, Resources: []string{core.PluralRequestResourceName},
		Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"},
	}
}

// RequestSource allows using VMs (by name when given) of the namespace it is granted in as
// the source of a capture: the phony virtualmachinetemplaterequests/source subresource.
func RequestSource(vmNames ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{
		APIGroups: []string{core.GroupName}, Resources: []string{core.PluralRequestResourceName + "/source"},
		Verbs: []string{"create"}, ResourceNames: vmNames,
	}
}

// CreateDataVolumes allows creating CDI DataVolumes.
func CreateDataVolumes() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{"cdi.kubevirt.io"}, Resources: []string{"datavolumes"}, Verbs: []string{"create"}}
}

// ManageVMs allows managing VirtualMachines.
func ManageVMs() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{
		APIGroups: []string{"kubevirt.io"}, Resources: []string{"virtualmachines"},
		Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"},
	}
}

// ViewVMs allows reading VirtualMachines.
func ViewVMs() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{"kubevirt.io"}, Resources: []string{"virtualmachines"}, Verbs: []string{"get", "list", "watch"}}
}
