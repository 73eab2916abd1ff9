package inforce

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	fakedynamic "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/vmt-conformance/vmt-conformance/framework/wait"
)

// authorizer answers SubjectAccessReviews: denied for the first denials calls, then allowed;
// it records every access asked about.
func authorizer(denials int32, reason string) (*fake.Clientset, *atomic.Int32, *[]authorizationv1.SubjectAccessReviewSpec) {
	kube := fake.NewClientset()
	var calls atomic.Int32
	var asked []authorizationv1.SubjectAccessReviewSpec
	kube.PrependReactor("create", "subjectaccessreviews", func(action clienttesting.Action) (bool, runtime.Object, error) {
		sar := action.(clienttesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
		asked = append(asked, sar.Spec)
		n := calls.Add(1)
		sar.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: n > denials}
		if !sar.Status.Allowed {
			sar.Status.Reason = reason
		}
		return true, sar, nil
	})
	return kube, &calls, &asked
}

var approvedCreate = Access{User: "approved-template-user", Groups: []string{"system:authenticated"}, Namespace: "ns",
	Verb: "create", Group: "subresources.template.kubevirt.io", Resource: "virtualmachinetemplates", Subresource: "create", Name: "approved"}

func TestAllowedWaitsUntilTheAuthorizerAgrees(t *testing.T) {
	kube, calls, asked := authorizer(2, "")
	if err := Allowed(t.Context(), kube, wait.Short, approvedCreate); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Errorf("asked %d times, want 3 (two denials, then allowed)", calls.Load())
	}
	got := (*asked)[0]
	if got.User != approvedCreate.User || !slices.Equal(got.Groups, approvedCreate.Groups) || got.ResourceAttributes == nil ||
		*got.ResourceAttributes != (authorizationv1.ResourceAttributes{Namespace: "ns", Verb: "create",
			Group: "subresources.template.kubevirt.io", Resource: "virtualmachinetemplates", Subresource: "create", Name: "approved"}) {
		t.Errorf("review spec %+v", got)
	}
}

func TestAllowedNamesTheAccessAndTheLastAnswer(t *testing.T) {
	kube, _, _ := authorizer(1<<30, "no RBAC policy matched")
	err := Allowed(t.Context(), kube, wait.Poll, approvedCreate)
	if err == nil {
		t.Fatal("a grant that never takes effect was reported in force")
	}
	for _, want := range []string{
		`approved-template-user create subresources.template.kubevirt.io virtualmachinetemplates/create "approved" in ns`,
		"to be allowed", `reason="no RBAC policy matched"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestDeniedAwaitsARevocation(t *testing.T) {
	kube, _, _ := authorizer(0, "")
	err := Denied(t.Context(), kube, wait.Poll, approvedCreate)
	if err == nil || !strings.Contains(err.Error(), "to be denied") || !strings.Contains(err.Error(), "allowed=true") {
		t.Errorf("an access still allowed: %v", err)
	}
	kube, _, _ = authorizer(1<<30, "")
	if err := Denied(t.Context(), kube, wait.Short, approvedCreate); err != nil {
		t.Error(err)
	}
}

func TestAccessesCoverEveryCombination(t *testing.T) {
	got := Accesses("u", nil, "ns",
		rbacv1.PolicyRule{APIGroups: []string{"a", "b"}, Resources: []string{"things", "things/sub"}, Verbs: []string{"get", "create"}, ResourceNames: []string{"x", "y"}},
		rbacv1.PolicyRule{Resources: []string{"pods"}, Verbs: []string{"list"}},
	)
	if len(got) != 2*2*2*2+1 {
		t.Fatalf("%d accesses, want 17: %v", len(got), got)
	}
	want := Access{User: "u", Namespace: "ns", Verb: "create", Group: "b", Resource: "things", Subresource: "sub", Name: "y"}
	if !slices.ContainsFunc(got, func(a Access) bool { return a.String() == want.String() }) {
		t.Errorf("%v lacks %v", got, want)
	}
	if last := got[len(got)-1]; last.Group != "" || last.Resource != "pods" || last.Verb != "list" || last.Name != "" {
		t.Errorf("core group rule became %v", last)
	}
}

func TestPolicyDeniesWaitsForThePolicysOwnDenial(t *testing.T) {
	var n atomic.Int32
	request := func(context.Context) error {
		switch n.Add(1) {
		case 1:
			return nil // not in force yet: admitted
		case 2:
			return errors.New(`virtualmachinetemplaterequests.template.kubevirt.io "x" is forbidden: User "u" cannot create`)
		default:
			return errors.New(`... is forbidden: ValidatingAdmissionPolicy 'virt-template-vmtr-authz' with binding 'b' denied request: no`)
		}
	}
	if err := PolicyDenies(t.Context(), wait.Short, "virt-template-vmtr-authz", request); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3 {
		t.Errorf("probed %d times, want 3", n.Load())
	}

	err := PolicyDenies(t.Context(), wait.Poll, "virt-template-vmtr-authz", func(context.Context) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "ValidatingAdmissionPolicy virt-template-vmtr-authz to deny") ||
		!strings.Contains(err.Error(), "the request was admitted") {
		t.Errorf("error %v", err)
	}
}

func TestWebhookDeniesMatchesTheWebhookByName(t *testing.T) {
	other := func(context.Context) error {
		return errors.New(`admission webhook "other.kb.io" denied the request: no`)
	}
	err := WebhookDenies(t.Context(), wait.Poll, "vvirtualmachinetemplate-v1beta1.kb.io", other)
	if err == nil || !strings.Contains(err.Error(), "the request failed otherwise") || !strings.Contains(err.Error(), "other.kb.io") {
		t.Errorf("another webhook's denial: %v", err)
	}
	ours := func(context.Context) error {
		return errors.New(`admission webhook "vvirtualmachinetemplate-v1beta1.kb.io" denied the request: bad`)
	}
	if err := WebhookDenies(t.Context(), wait.Short, "vvirtualmachinetemplate-v1beta1.kb.io", ours); err != nil {
		t.Error(err)
	}
}

func object(apiVersion, kind, name string, spec map[string]any, conds ...map[string]any) *unstructured.Unstructured {
	list := make([]any, len(conds))
	for i, c := range conds {
		list[i] = c
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name},
		"spec": spec, "status": map[string]any{"conditions": list},
	}}
}

func dynamicWith(objs ...runtime.Object) *fakedynamic.FakeDynamicClient {
	return fakedynamic.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		crdResource: "CustomResourceDefinitionList", apiServiceResource: "APIServiceList",
	}, objs...)
}

func discoveryOf(lists ...*metav1.APIResourceList) *fakediscovery.FakeDiscovery {
	return &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{Resources: lists}}
}

func templateCRD(established string) *unstructured.Unstructured {
	return object("apiextensions.k8s.io/v1", "CustomResourceDefinition", "virtualmachinetemplates.template.kubevirt.io",
		map[string]any{
			"group": "template.kubevirt.io", "names": map[string]any{"plural": "virtualmachinetemplates"},
			"versions": []any{
				map[string]any{"name": "v1alpha1", "served": true},
				map[string]any{"name": "v1beta1", "served": true},
				map[string]any{"name": "v0", "served": false},
			},
		},
		map[string]any{"type": "Established", "status": established, "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"})
}

func TestCRDNeedsEstablishedAndDiscovery(t *testing.T) {
	served := func(version string) *metav1.APIResourceList {
		return &metav1.APIResourceList{GroupVersion: "template.kubevirt.io/" + version, APIResources: []metav1.APIResource{{Name: "virtualmachinetemplates"}}}
	}
	name := "virtualmachinetemplates.template.kubevirt.io"

	err := CRD(t.Context(), dynamicWith(templateCRD("False")), discoveryOf(served("v1alpha1"), served("v1beta1")), wait.Poll, name)
	if err == nil || !strings.Contains(err.Error(), "Established=False") || !strings.Contains(err.Error(), "InitialNamesAccepted") {
		t.Errorf("not Established: %v", err)
	}
	err = CRD(t.Context(), dynamicWith(templateCRD("True")), discoveryOf(served("v1beta1")), wait.Poll, name)
	if err == nil || !strings.Contains(err.Error(), "discovery of template.kubevirt.io/v1alpha1") {
		t.Errorf("v1alpha1 not in discovery: %v", err)
	}
	if err := CRD(t.Context(), dynamicWith(templateCRD("True")), discoveryOf(served("v1alpha1"), served("v1beta1")), wait.Short, name); err != nil {
		t.Error(err)
	}
	err = CRD(t.Context(), dynamicWith(), discoveryOf(), wait.Poll, name)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing CRD: %v", err)
	}
}

func TestAPIServiceNeedsAvailableAndDiscovery(t *testing.T) {
	name := "v1beta1.subresources.template.kubevirt.io"
	svc := func(status, message string) *unstructured.Unstructured {
		return object("apiregistration.k8s.io/v1", "APIService", name,
			map[string]any{"group": "subresources.template.kubevirt.io", "version": "v1beta1"},
			map[string]any{"type": "Available", "status": status, "reason": "FailedDiscoveryCheck", "message": message})
	}
	gv := &metav1.APIResourceList{GroupVersion: "subresources.template.kubevirt.io/v1beta1"}

	err := APIService(t.Context(), dynamicWith(svc("False", "failing or missing response")), discoveryOf(gv), wait.Poll, name)
	if err == nil || !strings.Contains(err.Error(), "Available=False") || !strings.Contains(err.Error(), "failing or missing response") {
		t.Errorf("unavailable: %v", err)
	}
	err = APIService(t.Context(), dynamicWith(svc("True", "")), discoveryOf(), wait.Poll, name)
	if err == nil || !strings.Contains(err.Error(), "discovery of subresources.template.kubevirt.io/v1beta1") {
		t.Errorf("not discoverable: %v", err)
	}
	if err := APIService(t.Context(), dynamicWith(svc("True", "")), discoveryOf(gv), wait.Short, name); err != nil {
		t.Error(err)
	}
}

func TestUnservedWaitsForDiscoveryToDropTheGroup(t *testing.T) {
	gv := &metav1.APIResourceList{GroupVersion: "subresources.template.kubevirt.io/v1beta1"}
	err := Unserved(t.Context(), discoveryOf(gv), wait.Poll, gv.GroupVersion)
	if err == nil || !strings.Contains(err.Error(), "discovery still serves it") {
		t.Errorf("still served: %v", err)
	}
	if err := Unserved(t.Context(), discoveryOf(), wait.Short, gv.GroupVersion); err != nil {
		t.Error(err)
	}
}
