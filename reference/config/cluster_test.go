package config

import (
	"context"
	"fmt"
	"testing"

	"github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/framework/inforce"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
)

// The install on a live control plane: applied twice without change, the policy and the
// aggregated roles doing what upstream's do for non-admin users, then removed entirely.
// (Hermetic variant: no pods run, so the webhook URL and the API server port lead nowhere;
// nothing here calls them.)
func TestInstallAuthorizeRemove(t *testing.T) {
	cfg := needCluster(t)
	ctx := t.Context()
	g := gomega.NewWithT(t)
	dyn := dynamic.NewForConfigOrDie(cfg)
	kube := kubernetes.NewForConfigOrDie(cfg)

	opts := Options{
		Namespace:             "vmt-config-install",
		CreateNamespace:       true,
		WebhookURL:            "https://127.0.0.1:1/",
		APIServerExternalPort: 1,
		// authorization checks the v0.2.4 subresource grants (AggregatedProcessCreate).
		Release: &processCreateRelease,
	}
	tls, err := SelfSignedTLS(opts.Namespace)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	opts.TLS = tls
	objs, err := Objects(opts)
	g.Expect(err).NotTo(gomega.HaveOccurred())

	t.Log("applying the install twice")
	g.Expect(Apply(ctx, dyn, objs)).To(gomega.Succeed())
	first := versions(ctx, t, dyn, objs)
	g.Expect(Apply(ctx, dyn, objs)).To(gomega.Succeed())
	g.Expect(versions(ctx, t, dyn, objs)).To(gomega.Equal(first), "a second apply of the same objects changed something")
	for _, u := range objs {
		if u.GetKind() == "CustomResourceDefinition" { // requests are created below
			g.Expect(inforce.CRD(ctx, dyn, kube.Discovery(), wait.Medium, u.GetName())).To(gomega.Succeed())
		}
	}

	t.Run("authorization", func(t *testing.T) { authorization(t, cfg, kube) })

	t.Log("removing the install")
	g.Expect(Delete(ctx, dyn, opts)).To(gomega.Succeed())
	g.Expect(Delete(ctx, dyn, opts)).To(gomega.Succeed(), "deleting again must be harmless")
	for _, u := range objs {
		client, err := ResourceFor(dyn, u)
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Eventually(func() error {
			_, err := client.Get(ctx, u.GetName(), metav1.GetOptions{})
			return err
		}).WithTimeout(wait.Medium).WithPolling(wait.Poll).Should(gomega.Satisfy(apierrors.IsNotFound),
			"%s %s is still there", u.GetKind(), key(u))
	}
	for _, name := range []string{"admin", "edit", "view"} {
		g.Eventually(func() ([]string, error) {
			return templateGroupsIn(ctx, kube, name)
		}).WithTimeout(wait.Medium).WithPolling(wait.Poll).Should(gomega.BeEmpty(), "%s still aggregates template rules", name)
	}
}

// templateGroupsIn lists the template API groups the rules of ClusterRole name mention.
func templateGroupsIn(ctx context.Context, kube kubernetes.Interface, name string) ([]string, error) {
	role, err := kube.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var groups []string
	for _, r := range role.Rules {
		for _, group := range r.APIGroups {
			if group == "template.kubevirt.io" || group == "subresources.template.kubevirt.io" {
				groups = append(groups, group)
			}
		}
	}
	return groups, nil
}

// versions records what changes when an object is written: resourceVersion for objects
// only we write, generation for those whose status others update (CRDs, APIServices, the
// policy's type checking).
func versions(ctx context.Context, t *testing.T, dyn dynamic.Interface, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, u := range objs {
		client, err := ResourceFor(dyn, u)
		if err != nil {
			t.Fatal(err)
		}
		got, err := client.Get(ctx, u.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading %s %s: %v", u.GetKind(), key(u), err)
		}
		switch u.GetKind() {
		case "CustomResourceDefinition", "APIService", "ValidatingAdmissionPolicy", "Namespace":
			out[u.GetKind()+" "+key(u)] = fmt.Sprint("generation ", got.GetGeneration(), " spec ", fmt.Sprint(got.Object["spec"]))
		default:
			out[u.GetKind()+" "+key(u)] = "resourceVersion " + got.GetResourceVersion()
		}
	}
	return out
}

// Users of the authorization checks and what they hold.
const (
	editorUser      = "vmt-editor"       // edit in the target namespace
	crossEditorUser = "vmt-cross-editor" // edit in the target, source role for vm-a only in the source
	adminUser       = "vmt-admin"        // admin in the target
	viewerUser      = "vmt-viewer"       // view in the target
	noDataVolumes   = "vmt-no-datavolumes"
	noTemplates     = "vmt-no-templates"
)

func authorization(t *testing.T, cfg *rest.Config, kube kubernetes.Interface) {
	ctx := t.Context()
	g := gomega.NewWithT(t)
	target, source := namespace(t, kube, "vmt-config-target-"), namespace(t, kube, "vmt-config-source-")

	// CDI's operator aggregates DataVolume permissions into admin and edit; only its CRDs
	// are here, so this stands in for its cdi.kubevirt.io:edit role.
	cdiEdit := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "vmt-config-test-cdi-edit", Labels: map[string]string{
			"rbac.authorization.k8s.io/aggregate-to-admin": "true", "rbac.authorization.k8s.io/aggregate-to-edit": "true",
		}},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"cdi.kubevirt.io"}, Resources: []string{"datavolumes"}, Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"}}},
	}
	create(t, kube, cdiEdit)

	bindClusterRole(t, kube, target, "edit", editorUser, crossEditorUser)
	bindClusterRole(t, kube, target, "admin", adminUser)
	bindClusterRole(t, kube, target, "view", viewerUser)
	sourceVMA := rbacv1.PolicyRule{
		APIGroups: []string{"template.kubevirt.io"}, Resources: []string{"virtualmachinetemplaterequests/source"},
		ResourceNames: []string{"vm-a"}, Verbs: []string{"create"},
	}
	bindRole(t, kube, source, crossEditorUser, sourceVMA)
	requests := rbacv1.PolicyRule{APIGroups: []string{"template.kubevirt.io"}, Resources: []string{"virtualmachinetemplaterequests"}, Verbs: []string{"create"}}
	templates := rbacv1.PolicyRule{APIGroups: []string{"template.kubevirt.io"}, Resources: []string{"virtualmachinetemplates"}, Verbs: []string{"create"}}
	dataVolumes := rbacv1.PolicyRule{APIGroups: []string{"cdi.kubevirt.io"}, Resources: []string{"datavolumes"}, Verbs: []string{"create"}}
	bindRole(t, kube, target, noDataVolumes, requests, templates)
	bindRole(t, kube, target, noTemplates, requests, dataVolumes)

	// Every user's grants must be in force before the policy is asked about them: aggregation
	// into admin/edit/view is kube-controller-manager's work (wait.Medium), and each binding
	// reaches kube-apiserver's authorizer a moment after it is written.
	t.Log("waiting for the user roles to aggregate and every binding to be in force")
	subresources := rbacv1.PolicyRule{APIGroups: []string{"subresources.template.kubevirt.io"},
		Resources: []string{"virtualmachinetemplates/process", "virtualmachinetemplates/create"}, Verbs: []string{"create"}}
	view := rbacv1.PolicyRule{APIGroups: []string{"template.kubevirt.io"}, Resources: []string{"virtualmachinetemplates"}, Verbs: []string{"get", "list", "watch"}}
	deleteCollection := rbacv1.PolicyRule{APIGroups: []string{"template.kubevirt.io"}, Resources: []string{"virtualmachinetemplates"}, Verbs: []string{"deletecollection"}}
	authenticated := []string{"system:authenticated"}
	var grants []inforce.Access
	for user, rules := range map[string][]rbacv1.PolicyRule{
		editorUser:      {requests, templates, dataVolumes, subresources},
		crossEditorUser: {requests, templates, dataVolumes, subresources},
		adminUser:       {requests, templates, dataVolumes, subresources, deleteCollection},
		viewerUser:      {view},
		noDataVolumes:   {requests, templates},
		noTemplates:     {requests, dataVolumes},
	} {
		grants = append(grants, inforce.Accesses(user, authenticated, target, rules...)...)
	}
	grants = append(grants, inforce.Accesses(crossEditorUser, authenticated, source, sourceVMA)...)
	g.Expect(inforce.Allowed(ctx, kube, wait.Medium, grants...)).To(gomega.Succeed())

	sourceMessage := func(ns, vm string) string {
		return "User is not allowed to use VirtualMachine " + ns + "/" + vm + " as a source for VirtualMachineTemplateRequests"
	}
	t.Log("waiting for the policy to be enforced")
	g.Expect(inforce.PolicyDenies(ctx, wait.Medium, VMTRAuthzPolicy, func(ctx context.Context) error {
		return createRequest(ctx, cfg, editorUser, "v1beta1", target, source, "vm-a", true)
	})).To(gomega.Succeed())

	t.Run("policy", func(t *testing.T) {
		cases := []struct {
			name, user, version, sourceNS, vm string
			denial                            string // "" = allowed
		}{
			{"cross-namespace without the source role", editorUser, "v1beta1", source, "vm-a", sourceMessage(source, "vm-a")},
			{"cross-namespace through v1alpha1", editorUser, "v1alpha1", source, "vm-a", sourceMessage(source, "vm-a")},
			{"source role for another VM", crossEditorUser, "v1beta1", source, "vm-b", sourceMessage(source, "vm-b")},
			{"source role for the named VM", crossEditorUser, "v1beta1", source, "vm-a", ""},
			{"same namespace with edit", editorUser, "v1beta1", target, "vm-a", ""},
			{"same namespace with admin", adminUser, "v1alpha1", target, "vm-a", ""},
			{"no DataVolume create in the target", noDataVolumes, "v1beta1", target, "vm-a", "User is not allowed to create DataVolumes in namespace " + target},
			{"no template create in the target", noTemplates, "v1beta1", target, "vm-a", "User is not allowed to create VirtualMachineTemplates in namespace " + target},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				err := createRequest(ctx, cfg, tc.user, tc.version, target, tc.sourceNS, tc.vm, true)
				if tc.denial == "" {
					gomega.NewWithT(t).Expect(err).NotTo(gomega.HaveOccurred())
				} else {
					gomega.NewWithT(t).Expect(err).To(deniedWith(tc.denial))
				}
			})
		}
		// One allowed request for real: stored, and removed with the CRD at the end.
		gomega.NewWithT(t).Expect(createRequest(ctx, cfg, crossEditorUser, "v1beta1", target, source, "vm-a", false)).To(gomega.Succeed())
	})

	t.Run("view cannot create templates", func(t *testing.T) {
		g := gomega.NewWithT(t)
		viewer := dynamic.NewForConfigOrDie(impersonate(cfg, viewerUser))
		tpl := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "template.kubevirt.io/v1beta1", "kind": "VirtualMachineTemplate",
			"metadata": map[string]any{"name": "viewer-template"},
			"spec":     map[string]any{"virtualMachine": map[string]any{"spec": map[string]any{}}},
		}}
		_, err := viewer.Resource(templatesGVR).Namespace(target).Create(ctx, tpl, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		g.Expect(apierrors.IsForbidden(err)).To(gomega.BeTrue(), "create as viewer: %v", err)
		g.Expect(err).To(gomega.MatchError(gomega.ContainSubstring(`cannot create resource "virtualmachinetemplates" in API group "template.kubevirt.io"`)))
		_, err = viewer.Resource(templatesGVR).Namespace(target).List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "view lists templates")
	})

	t.Run("self access reviews", func(t *testing.T) {
		subresource := func(name string) authorizationv1.ResourceAttributes {
			return authorizationv1.ResourceAttributes{Namespace: target, Verb: "create", Group: "subresources.template.kubevirt.io",
				Resource: "virtualmachinetemplates", Subresource: name, Name: "any-template"}
		}
		templates := func(verb string) authorizationv1.ResourceAttributes {
			return authorizationv1.ResourceAttributes{Namespace: target, Verb: verb, Group: "template.kubevirt.io", Resource: "virtualmachinetemplates"}
		}
		cases := []struct {
			user  string
			attrs authorizationv1.ResourceAttributes
			want  bool
		}{
			{editorUser, subresource("process"), true},
			{editorUser, subresource("create"), true},
			{adminUser, subresource("process"), true},
			{adminUser, subresource("create"), true},
			{viewerUser, subresource("process"), false},
			{viewerUser, subresource("create"), false},
			{editorUser, templates("deletecollection"), false},
			{adminUser, templates("deletecollection"), true},
			{viewerUser, templates("watch"), true},
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s %s %s/%s", tc.user, tc.attrs.Verb, tc.attrs.Resource, tc.attrs.Subresource), func(t *testing.T) {
				self := kubernetes.NewForConfigOrDie(impersonate(cfg, tc.user))
				attrs := tc.attrs
				review, err := self.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
					&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs}},
					metav1.CreateOptions{})
				g := gomega.NewWithT(t)
				g.Expect(err).NotTo(gomega.HaveOccurred())
				g.Expect(review.Status.Allowed).To(gomega.Equal(tc.want), "reason: %s", review.Status.Reason)
			})
		}
	})
}

var (
	requestsGVR  = schema.GroupVersionResource{Group: "template.kubevirt.io", Resource: "virtualmachinetemplaterequests"}
	templatesGVR = schema.GroupVersionResource{Group: "template.kubevirt.io", Version: "v1beta1", Resource: "virtualmachinetemplates"}
)

// createRequest creates a VirtualMachineTemplateRequest in target capturing sourceNS/vm, as
// user, through the given API version.
func createRequest(ctx context.Context, cfg *rest.Config, user, version, target, sourceNS, vm string, dryRun bool) error {
	gvr := requestsGVR
	gvr.Version = version
	req := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "template.kubevirt.io/" + version, "kind": "VirtualMachineTemplateRequest",
		"metadata": map[string]any{"generateName": "capture-"},
		"spec":     map[string]any{"virtualMachineRef": map[string]any{"namespace": sourceNS, "name": vm}},
	}}
	var opts metav1.CreateOptions
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err := dynamic.NewForConfigOrDie(impersonate(cfg, user)).Resource(gvr).Namespace(target).Create(ctx, req, opts)
	return err
}

// deniedWith matches the policy's denial: 403, reason Forbidden, upstream's message.
func deniedWith(message string) gomega.OmegaMatcher {
	return gomega.And(
		gomega.Satisfy(func(err error) bool {
			status, ok := err.(apierrors.APIStatus)
			return ok && status.Status().Code == 403 && status.Status().Reason == metav1.StatusReasonForbidden
		}),
		gomega.MatchError(gomega.ContainSubstring("ValidatingAdmissionPolicy '"+VMTRAuthzPolicy+"' with binding '"+VMTRAuthzPolicy+"' denied request: "+message)),
	)
}

func impersonate(cfg *rest.Config, user string) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	cfg.WarningHandler = rest.NoWarnings{} // v1alpha1 requests are expected to be deprecated
	return cfg
}

func namespace(t *testing.T, kube kubernetes.Interface, prefix string) string {
	t.Helper()
	ns, err := kube.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	return ns.Name
}

func create(t *testing.T, kube kubernetes.Interface, role *rbacv1.ClusterRole) {
	t.Helper()
	if _, err := kube.RbacV1().ClusterRoles().Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kube.RbacV1().ClusterRoles().Delete(context.Background(), role.Name, metav1.DeleteOptions{})
	})
}

func bindClusterRole(t *testing.T, kube kubernetes.Interface, ns, role string, users ...string) {
	t.Helper()
	bind(t, kube, ns, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}, users...)
}

// bindRole grants user the rules in ns through a Role of the user's own.
func bindRole(t *testing.T, kube kubernetes.Interface, ns, user string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns}, Rules: rules}
	if _, err := kube.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind(t, kube, ns, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}, user)
}

func bind(t *testing.T, kube kubernetes.Interface, ns string, ref rbacv1.RoleRef, users ...string) {
	t.Helper()
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{GenerateName: ref.Name + "-", Namespace: ns}, RoleRef: ref}
	for _, u := range users {
		rb.Subjects = append(rb.Subjects, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: u})
	}
	if _, err := kube.RbacV1().RoleBindings(ns).Create(t.Context(), rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
