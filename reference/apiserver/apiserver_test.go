package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"
	kubevirt "kubevirt.io/client-go/kubevirt"

	"github.com/vmt-conformance/vmt-conformance/framework/inforce"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

func TestProcessSubstitutesAndCreatesNothing(t *testing.T) {
	e := newEnv(t)
	e.createTemplate(fedora("fedora"))

	a := e.call(nil, "v1beta1", "fedora", "process", `{"parameters":{"NAME":"vm-a"}}`)
	if a.code != http.StatusOK {
		t.Fatalf("want 200, got %d: %v", a.code, a.err)
	}
	p := e.decode(a)
	if p.APIVersion != "subresources.template.kubevirt.io/v1beta1" || p.Kind != "ProcessedVirtualMachineTemplate" {
		t.Errorf("answer is %s %s", p.APIVersion, p.Kind)
	}
	if p.TemplateRef == nil || p.TemplateRef.Namespace != e.ns || p.TemplateRef.Name != "fedora" {
		t.Errorf("templateRef = %+v, want %s/fedora", p.TemplateRef, e.ns)
	}
	vm := p.VirtualMachine
	if vm == nil {
		t.Fatal("no virtualMachine in the answer")
	}
	if vm.APIVersion != "kubevirt.io/v1" || vm.Kind != "VirtualMachine" {
		t.Errorf("virtualMachine is %s %s", vm.APIVersion, vm.Kind)
	}
	if vm.Name != "vm-a" || vm.Labels["app"] != "vm-a" {
		t.Errorf("name %q, app label %q: want vm-a", vm.Name, vm.Labels["app"])
	}
	if cpu := vm.Spec.Template.Spec.Domain.CPU; cpu == nil || cpu.Cores != 2 {
		t.Errorf("cores = %+v, want 2", cpu)
	}
	if vm.UID != "" || vm.ResourceVersion != "" {
		t.Errorf("a processed VM carries server fields: uid %q resourceVersion %q", vm.UID, vm.ResourceVersion)
	}
	if want := "VirtualMachine vm-a has 2 cores."; p.Message != want {
		t.Errorf("message = %q, want %q", p.Message, want)
	}
	if len(a.warnings) != 0 {
		t.Errorf("unexpected warnings %q", a.warnings)
	}
	vms, err := e.kubevirt.KubevirtV1().VirtualMachines(e.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(vms.Items) != 0 {
		t.Errorf("/process created %d VirtualMachines", len(vms.Items))
	}
}

func TestProcessWarnsAboutUnusedParameters(t *testing.T) {
	e := newEnv(t)
	e.createTemplate(fedora("fedora", v1beta1.Parameter{Name: "UNUSED", Value: "x"}))

	a := e.call(nil, "v1beta1", "fedora", "process", `{"parameters":{"NAME":"vm-a"}}`)
	if a.code != http.StatusOK {
		t.Fatalf("want 200, got %d: %v", a.code, a.err)
	}
	want := []string{"spec.parameters[2].name: UNUSED is defined but never referenced"}
	if !slices.Equal(a.warnings, want) {
		t.Errorf("warnings = %q, want %q", a.warnings, want)
	}

	// Upstream sends them also when processing then fails.
	a = e.call(nil, "v1beta1", "fedora", "process", `{}`)
	if a.code != http.StatusUnprocessableEntity || !slices.Equal(a.warnings, want) {
		t.Errorf("failing call: HTTP %d, warnings %q; want 422 and %q", a.code, a.warnings, want)
	}
}

func TestStatusCodes(t *testing.T) {
	e := newEnv(t)
	e.createTemplate(fedora("fedora"))

	for _, tc := range []struct {
		name, template, body string
		code                 int
		reason               metav1.StatusReason
		message              string // exact, or a prefix when it ends in "…"
	}{
		{"empty body", "fedora", "", 400, metav1.StatusReasonBadRequest,
			"error parsing ProcessOptions: EOF"},
		{"empty body is checked before the template is read", "nope", "", 400, metav1.StatusReasonBadRequest,
			"error parsing ProcessOptions: EOF"},
		{"malformed body", "fedora", "{", 400, metav1.StatusReasonBadRequest,
			"error parsing ProcessOptions: …"},
		{"missing template", "nope", "{}", 500, metav1.StatusReasonInternalError,
			`Internal error occurred: error getting VirtualMachineTemplate: virtualmachinetemplates.template.kubevirt.io "nope" not found`},
		{"unknown parameter", "fedora", `{"parameters":{"NAME":"a","BOGUS":"b"}}`, 409, metav1.StatusReasonConflict,
			`Operation cannot be fulfilled on  "fedora": parameter BOGUS not found in template`},
		{"unknown parameter is checked before required ones", "fedora", `{"parameters":{"BOGUS":"b"}}`, 409, metav1.StatusReasonConflict,
			`Operation cannot be fulfilled on  "fedora": parameter BOGUS not found in template`},
		{"missing required parameter", "fedora", "{}", 422, metav1.StatusReasonInvalid,
			` "fedora" is invalid: spec.parameters[0].value: Required value: parameter 'NAME' is required and a value must be specified`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, sub := range []string{core.ProcessSubresource, core.CreateSubresource} {
				a := e.call(nil, "v1beta1", tc.template, sub, tc.body)
				st := a.status()
				if a.code != tc.code || st.Code != int32(tc.code) || st.Reason != tc.reason {
					t.Errorf("/%s: got HTTP %d, status %d %s; want %d %s", sub, a.code, st.Code, st.Reason, tc.code, tc.reason)
				}
				if prefix, ok := strings.CutSuffix(tc.message, "…"); ok {
					if !strings.HasPrefix(st.Message, prefix) {
						t.Errorf("/%s: message %q, want prefix %q", sub, st.Message, prefix)
					}
				} else if st.Message != tc.message {
					t.Errorf("/%s: message %q, want %q", sub, st.Message, tc.message)
				}
			}
		})
	}

	t.Run("invalid carries one cause on the field", func(t *testing.T) {
		st := e.call(nil, "v1beta1", "fedora", "process", "{}").status()
		if st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Field != "spec.parameters[0].value" ||
			st.Details.Group != "" || st.Details.Kind != "" || st.Details.Name != "fedora" {
			t.Errorf("details = %+v", st.Details)
		}
	})
	t.Run("no VM was created by failing /create calls", func(t *testing.T) {
		vms, err := e.kubevirt.KubevirtV1().VirtualMachines(e.ns).List(context.Background(), metav1.ListOptions{})
		if err != nil || len(vms.Items) != 0 {
			t.Errorf("VMs: %v, %v", vms, err)
		}
	})
	t.Run("only POST is served", func(t *testing.T) {
		res := e.rest.Get().AbsPath(subresourcePath("v1beta1", e.ns, "fedora", "process")).Do(context.Background())
		var code int
		res.StatusCode(&code)
		if code != http.StatusMethodNotAllowed && code != http.StatusNotFound {
			t.Errorf("GET /process: HTTP %d (%v), want 405 or 404", code, res.Error())
		}
		t.Logf("GET /process answers HTTP %d", code)
	})
}

func TestCreateMakesTheVMInTheTemplateNamespace(t *testing.T) {
	e := newEnv(t)
	e.createTemplate(fedora("fedora"))

	a := e.call(nil, "v1beta1", "fedora", "create", `{"parameters":{"NAME":"vm-b","CPU":"4"}}`)
	p := e.decode(a)
	vm := p.VirtualMachine
	if vm == nil {
		t.Fatal("no virtualMachine in the answer")
	}
	if vm.Namespace != e.ns || vm.Name != "vm-b" {
		t.Errorf("created %s/%s, want %s/vm-b", vm.Namespace, vm.Name, e.ns)
	}
	if vm.UID == "" || vm.ResourceVersion == "" || vm.CreationTimestamp.IsZero() || vm.Generation == 0 {
		t.Errorf("the answer lacks server fields: uid %q rv %q created %v generation %d",
			vm.UID, vm.ResourceVersion, vm.CreationTimestamp, vm.Generation)
	}
	if vm.APIVersion != "kubevirt.io/v1" || vm.Kind != "VirtualMachine" {
		t.Errorf("virtualMachine is %q %q", vm.APIVersion, vm.Kind)
	}
	stored, err := e.kubevirt.KubevirtV1().VirtualMachines(e.ns).Get(context.Background(), "vm-b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if stored.UID != vm.UID {
		t.Errorf("stored VM uid %s, answered %s", stored.UID, vm.UID)
	}
	if cores := stored.Spec.Template.Spec.Domain.CPU.Cores; cores != 4 {
		t.Errorf("stored cores %d, want 4", cores)
	}

	again := e.call(nil, "v1beta1", "fedora", "create", `{"parameters":{"NAME":"vm-b"}}`)
	st := again.status()
	want := `Internal error occurred: error creating VirtualMachine: virtualmachines.kubevirt.io "vm-b" already exists`
	if again.code != http.StatusInternalServerError || st.Message != want {
		t.Errorf("second /create: HTTP %d %q, want 500 %q", again.code, st.Message, want)
	}
}

// TestCreateStaysInTheTemplateNamespace: a parameterised VM namespace that resolves elsewhere
// is refused by kube-apiserver, and /create reports it as 500 (virt-template.md §3.4).
func TestCreateStaysInTheTemplateNamespace(t *testing.T) {
	e := newEnv(t)
	tpl := fedora("fedora", v1beta1.Parameter{Name: "NS"})
	tpl.Spec.VirtualMachine.Raw = []byte(strings.Replace(string(tpl.Spec.VirtualMachine.Raw),
		`"name":"${NAME}"`, `"name":"${NAME}","namespace":"${NS}"`, 1))
	e.createTemplate(tpl)

	a := e.call(nil, "v1beta1", "fedora", "create", `{"parameters":{"NAME":"vm-d","NS":"elsewhere"}}`)
	st := a.status()
	want := "Internal error occurred: error creating VirtualMachine: the namespace of the provided object does not match the namespace sent on the request"
	if a.code != http.StatusInternalServerError || st.Message != want {
		t.Errorf("HTTP %d %q, want 500 %q", a.code, st.Message, want)
	}
	a = e.call(nil, "v1beta1", "fedora", "create", fmt.Sprintf(`{"parameters":{"NAME":"vm-d","NS":%q}}`, e.ns))
	if p := e.decode(a); p.VirtualMachine.Namespace != e.ns {
		t.Errorf("created in %q", p.VirtualMachine.Namespace)
	}
}

func TestV1alpha1ServesTheSameResult(t *testing.T) {
	e := newEnv(t)
	e.createTemplate(fedora("fedora", v1beta1.Parameter{Name: "UNUSED"}))

	for _, sub := range []string{core.ProcessSubresource, core.CreateSubresource} {
		a := e.call(nil, "v1alpha1", "fedora", sub, `{"apiVersion":"subresources.template.kubevirt.io/v1alpha1","kind":"ProcessOptions","parameters":{"NAME":"vm-c"}}`)
		p := e.decode(a)
		if p.APIVersion != "subresources.template.kubevirt.io/v1alpha1" || p.Kind != "ProcessedVirtualMachineTemplate" {
			t.Errorf("/%s answer is %s %s", sub, p.APIVersion, p.Kind)
		}
		if p.VirtualMachine == nil || p.VirtualMachine.Name != "vm-c" || p.Message != "VirtualMachine vm-c has 2 cores." {
			t.Errorf("/%s answer %s", sub, a.body)
		}
		if len(a.warnings) != 1 {
			t.Errorf("/%s warnings %q", sub, a.warnings)
		}
	}
	if _, err := e.kubevirt.KubevirtV1().VirtualMachines(e.ns).Get(context.Background(), "vm-c", metav1.GetOptions{}); err != nil {
		t.Errorf("v1alpha1 /create: %v", err)
	}

	// YAML bodies are accepted as upstream.
	a := e.call(nil, "v1alpha1", "fedora", "process", "parameters:\n  NAME: vm-yaml\n")
	if p := e.decode(a); p.VirtualMachine.Name != "vm-yaml" {
		t.Errorf("YAML body: %s", a.body)
	}
}

func TestDiscoveryListsOnlyTheSubresources(t *testing.T) {
	e := newEnv(t)
	for _, version := range []string{"v1alpha1", "v1beta1"} {
		raw, err := e.rest.Get().AbsPath("/apis", core.SubresourceGroupName, version).DoRaw(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", version, err)
		}
		var list metav1.APIResourceList
		if err := json.Unmarshal(raw, &list); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range list.APIResources {
			names = append(names, r.Name)
			// k8s.io/apiserver lists a POST-only connecter under the verb "create".
			if !r.Namespaced || r.Kind != "ProcessedVirtualMachineTemplate" || !slices.Equal(r.Verbs, []string{"create"}) {
				t.Errorf("%s: %+v", version, r)
			}
		}
		slices.Sort(names)
		if want := []string{"virtualmachinetemplates/create", "virtualmachinetemplates/process"}; !slices.Equal(names, want) {
			t.Errorf("%s lists %q, want %q", version, names, want)
		}
	}
}

// TestApprovedTemplatesOnly is the VEP's RBAC pattern: a user allowed to create only through
// /create of one template gets a VM from it, but neither from another template nor directly.
func TestApprovedTemplatesOnly(t *testing.T) {
	e := newEnv(t)
	e.createTemplate(fedora("approved"))
	e.createTemplate(fedora("other"))
	ctx := context.Background()
	const user = "approved-template-user"
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "create-from-approved", Namespace: e.ns},
		Rules: []rbacv1.PolicyRule{{
			APIGroups:     []string{core.SubresourceGroupName},
			Resources:     []string{core.PluralResourceName + "/" + core.CreateSubresource},
			ResourceNames: []string{"approved"},
			Verbs:         []string{"create"},
		}},
	}
	if _, err := e.kube.RbacV1().Roles(e.ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "create-from-approved", Namespace: e.ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	if _, err := e.kube.RbacV1().RoleBindings(e.ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	groups := []string{"system:authenticated"}
	// The first call through the aggregator must come after kube-apiserver's authorizer sees
	// the binding: the template API server would otherwise cache its denial (10 s).
	if err := inforce.Allowed(ctx, e.kube, wait.Short, inforce.Accesses(user, groups, e.ns, role.Rules...)...); err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(admin)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	asUser := restClient(t, cfg)

	a := e.call(asUser, "v1beta1", "approved", "create", `{"parameters":{"NAME":"vm-approved"}}`)
	if p := e.decode(a); p.VirtualMachine.UID == "" || p.VirtualMachine.Namespace != e.ns {
		t.Errorf("/create as %s: %s", user, a.body)
	}

	for _, denied := range []struct{ template, sub string }{{"other", "create"}, {"approved", "process"}} {
		a = e.call(asUser, "v1beta1", denied.template, denied.sub, `{"parameters":{"NAME":"vm-denied"}}`)
		if a.code != http.StatusForbidden || !apierrors.IsForbidden(a.err) {
			t.Errorf("/%s of %s as %s: HTTP %d %v, want 403", denied.sub, denied.template, user, a.code, a.err)
		}
	}

	vm := &kubevirtv1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Name: "vm-direct"}}
	_, err := kubevirt.NewForConfigOrDie(cfg).KubevirtV1().VirtualMachines(e.ns).Create(ctx, vm, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("direct VM create as %s: %v, want 403", user, err)
	}
	vms, err := e.kubevirt.KubevirtV1().VirtualMachines(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(vms.Items) != 1 || vms.Items[0].Name != "vm-approved" {
		t.Errorf("VMs in %s: %d, want only vm-approved", e.ns, len(vms.Items))
	}
}
