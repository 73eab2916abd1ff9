// Package inforce waits until a change to the cluster's rules is in force: kube-apiserver
// applies RBAC objects, admission policies, webhook configurations, CRDs and APIServices
// asynchronously (informers in its authorizer, admission plugins, discovery and aggregator),
// so "created" does not mean "acted upon". A test that writes one of these objects and acts
// on it at once races that propagation; it calls the helper for the kind first.
//
// One helper per kind, each bounded by the timeout the caller names (the suite's intervals in
// framework/wait) and each failing with what it awaited and what it last saw. Plain Go: usable
// from `go test` tests and Ginkgo specs alike.
package inforce

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiwait "k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/vmt-conformance/vmt-conformance/framework/wait"
)

// Access is one question to kube-apiserver's authorizer: may User (in Groups) do Verb on
// Group/Resource[/Subresource] named Name in Namespace, or on the non-resource Path.
type Access struct {
	User string
	// Groups as the authorizer sees them: an impersonated user also carries
	// system:authenticated, a service account system:serviceaccounts[:<ns>].
	Groups                                              []string
	Namespace, Verb, Group, Resource, Subresource, Name string
	// Path, when set, asks about a non-resource URL (Verb applies; the rest is ignored).
	Path string
}

func (a Access) String() string {
	if a.Path != "" {
		return fmt.Sprintf("%s %s %s", a.User, a.Verb, a.Path)
	}
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	if a.Group != "" {
		res = a.Group + " " + res
	}
	s := fmt.Sprintf("%s %s %s", a.User, a.Verb, res)
	if a.Name != "" {
		s += fmt.Sprintf(" %q", a.Name)
	}
	if a.Namespace != "" {
		s += " in " + a.Namespace
	}
	return s
}

func (a Access) review() *authorizationv1.SubjectAccessReview {
	spec := authorizationv1.SubjectAccessReviewSpec{User: a.User, Groups: a.Groups}
	if a.Path != "" {
		spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: a.Path, Verb: a.Verb}
	} else {
		spec.ResourceAttributes = &authorizationv1.ResourceAttributes{
			Namespace: a.Namespace, Verb: a.Verb, Group: a.Group, Resource: a.Resource, Subresource: a.Subresource, Name: a.Name,
		}
	}
	return &authorizationv1.SubjectAccessReview{Spec: spec}
}

// Accesses expands rules into every verb × group × resource × resource name (× URL) they
// grant user in ns, for Allowed: awaiting only the first of them would let the others race.
func Accesses(user string, groups []string, ns string, rules ...rbacv1.PolicyRule) []Access {
	var out []Access
	for _, r := range rules {
		for _, verb := range r.Verbs {
			for _, path := range r.NonResourceURLs {
				out = append(out, Access{User: user, Groups: groups, Verb: verb, Path: path})
			}
			groupsOf := r.APIGroups
			if len(groupsOf) == 0 && len(r.Resources) > 0 {
				groupsOf = []string{""}
			}
			names := r.ResourceNames
			if len(names) == 0 {
				names = []string{""}
			}
			for _, group := range groupsOf {
				for _, res := range r.Resources {
					resource, sub, _ := strings.Cut(res, "/")
					for _, name := range names {
						out = append(out, Access{User: user, Groups: groups, Namespace: ns, Verb: verb,
							Group: group, Resource: resource, Subresource: sub, Name: name})
					}
				}
			}
		}
	}
	return out
}

// Allowed waits (timeout) until a SubjectAccessReview, created with kube (an admin's client),
// allows every access: RBAC changes reach kube-apiserver's authorizer through an informer,
// a moment after the write returns.
//
// Aggregated API servers built on k8s.io/apiserver ask kube-apiserver the same question and
// cache the answer (denials too, 10 s by default: DelegatingAuthorizationOptions in
// k8s.io/apiserver/pkg/server/options/authorization.go, v0.34.4). Await the grant here
// before the first call through the aggregator, or that call may cache a denial.
func Allowed(ctx context.Context, kube kubernetes.Interface, timeout time.Duration, accesses ...Access) error {
	return review(ctx, kube, timeout, true, accesses)
}

// Denied waits (timeout) until a SubjectAccessReview denies every access: a revocation in
// force in kube-apiserver. An aggregated API server may still allow from its cache for its
// allow TTL (10 s by default) after this returns.
func Denied(ctx context.Context, kube kubernetes.Interface, timeout time.Duration, accesses ...Access) error {
	return review(ctx, kube, timeout, false, accesses)
}

func review(ctx context.Context, kube kubernetes.Interface, timeout time.Duration, want bool, accesses []Access) error {
	word := map[bool]string{true: "allowed", false: "denied"}
	for _, a := range accesses {
		var last string
		err := poll(ctx, timeout, func(ctx context.Context) (bool, error) {
			got, err := kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, a.review(), metav1.CreateOptions{})
			if err != nil {
				last = "SubjectAccessReview failed: " + err.Error()
				return false, nil
			}
			last = describe(got.Status)
			return got.Status.Allowed == want, nil
		})
		if err != nil {
			return fmt.Errorf("awaiting %s to be %s by the authorizer: %w; last seen: %s", a, word[want], err, last)
		}
	}
	return nil
}

func describe(st authorizationv1.SubjectAccessReviewStatus) string {
	s := fmt.Sprintf("allowed=%t denied=%t", st.Allowed, st.Denied)
	if st.Reason != "" {
		s += fmt.Sprintf(" reason=%q", st.Reason)
	}
	if st.EvaluationError != "" {
		s += fmt.Sprintf(" evaluationError=%q", st.EvaluationError)
	}
	return s
}

// Probe waits (timeout) until check returns nil; what names the awaited effect in the error,
// which carries check's last error. For effects only a request can show (an admission
// policy, a webhook), check makes the request (dry-run where it could change anything).
func Probe(ctx context.Context, timeout time.Duration, what string, check func(ctx context.Context) error) error {
	var last error
	err := poll(ctx, timeout, func(ctx context.Context) (bool, error) {
		last = check(ctx)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("awaiting %s: %w; last probe: %v", what, err, last)
	}
	return nil
}

// PolicyDenies waits until request (a dry-run the policy must deny) fails with a denial by
// the ValidatingAdmissionPolicy named policy: the policy and a binding of it are in force.
// kube-apiserver words it "ValidatingAdmissionPolicy '<policy>' with binding '<binding>'
// denied request: …" (k8s.io/apiserver/pkg/admission/plugin/policy/validating/dispatcher.go).
func PolicyDenies(ctx context.Context, timeout time.Duration, policy string, request func(ctx context.Context) error) error {
	mark := "ValidatingAdmissionPolicy '" + policy + "'"
	return Probe(ctx, timeout, "ValidatingAdmissionPolicy "+policy+" to deny the probe", deniedBy(mark, request))
}

// PolicyAdmits waits until request succeeds: the policy (or its binding) no longer applies,
// e.g. after it was removed.
func PolicyAdmits(ctx context.Context, timeout time.Duration, policy string, request func(ctx context.Context) error) error {
	return Probe(ctx, timeout, "ValidatingAdmissionPolicy "+policy+" to admit the probe", request)
}

// WebhookDenies waits until request (a dry-run the webhook must deny) fails with a denial by
// the webhook named webhook: its configuration is in force. kube-apiserver words it
// `admission webhook "<name>" denied the request: …` (k8s.io/apiserver/pkg/admission/plugin/
// webhook/errors/statuserror.go). Dry-run reaches webhooks whose sideEffects are None.
func WebhookDenies(ctx context.Context, timeout time.Duration, webhook string, request func(ctx context.Context) error) error {
	mark := `admission webhook "` + webhook + `" denied the request`
	return Probe(ctx, timeout, "webhook "+webhook+" to deny the probe", deniedBy(mark, request))
}

// WebhookAdmits waits until request succeeds: the webhook no longer intercepts it.
func WebhookAdmits(ctx context.Context, timeout time.Duration, webhook string, request func(ctx context.Context) error) error {
	return Probe(ctx, timeout, "webhook "+webhook+" to admit the probe", request)
}

func deniedBy(mark string, request func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		err := request(ctx)
		switch {
		case err == nil:
			return errors.New("the request was admitted")
		case strings.Contains(err.Error(), mark):
			return nil
		default:
			return fmt.Errorf("the request failed otherwise: %w", err)
		}
	}
}

var (
	crdResource        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	apiServiceResource = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
)

// CRD waits until the CustomResourceDefinition name is Established and discovery lists its
// plural in every served version: Established alone does not mean clients resolving the
// resource through discovery find it yet.
func CRD(ctx context.Context, dyn dynamic.Interface, disco discovery.DiscoveryInterface, timeout time.Duration, name string) error {
	var last string
	err := poll(ctx, timeout, func(ctx context.Context) (bool, error) {
		crd, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = "reading it: " + err.Error()
			return false, nil
		}
		if crd.GetDeletionTimestamp() != nil {
			last = "it is being deleted"
			return false, nil
		}
		if c := condition(crd, "Established"); c != "True" {
			last = "Established=" + c + "; conditions: " + conditions(crd)
			return false, nil
		}
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		for _, v := range versions {
			m, _ := v.(map[string]any)
			if served, _ := m["served"].(bool); !served {
				continue
			}
			version, _ := m["name"].(string)
			if why := listed(disco, group+"/"+version, plural); why != "" {
				last = why
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("awaiting CRD %s to be Established and served: %w; last seen: %s", name, err, last)
	}
	return nil
}

// APIService waits until the APIService name (e.g. v1beta1.subresources.template.kubevirt.io)
// is Available and discovery of its group/version answers through the aggregator.
func APIService(ctx context.Context, dyn dynamic.Interface, disco discovery.DiscoveryInterface, timeout time.Duration, name string) error {
	var last string
	err := poll(ctx, timeout, func(ctx context.Context) (bool, error) {
		svc, err := dyn.Resource(apiServiceResource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = "reading it: " + err.Error()
			return false, nil
		}
		if c := condition(svc, "Available"); c != "True" {
			last = "Available=" + c + "; conditions: " + conditions(svc)
			return false, nil
		}
		group, _, _ := unstructured.NestedString(svc.Object, "spec", "group")
		version, _, _ := unstructured.NestedString(svc.Object, "spec", "version")
		if why := listed(disco, group+"/"+version, ""); why != "" {
			last = why
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("awaiting APIService %s to be Available and served: %w; last seen: %s", name, err, last)
	}
	return nil
}

// Unserved waits until discovery no longer serves the group/version gv (e.g. after its
// APIService or CRD was deleted): the aggregator and the CRD handler drop a group a moment
// after the object goes, and until then requests to it may still be proxied or answered 503.
func Unserved(ctx context.Context, disco discovery.DiscoveryInterface, timeout time.Duration, gv string) error {
	var last string
	err := poll(ctx, timeout, func(ctx context.Context) (bool, error) {
		_, err := disco.ServerResourcesForGroupVersion(gv)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "discovery still serves it"
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("awaiting %s to be no longer served: %w; last seen: %s", gv, err, last)
	}
	return nil
}

// listed says why discovery of gv does not list resource ("" when it does; any resource
// when resource is empty).
func listed(disco discovery.DiscoveryInterface, gv, resource string) string {
	list, err := disco.ServerResourcesForGroupVersion(gv)
	if err != nil {
		return "discovery of " + gv + ": " + err.Error()
	}
	if resource == "" {
		return ""
	}
	if !slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == resource }) {
		return "discovery of " + gv + " does not list " + resource + " yet"
	}
	return ""
}

// condition is the status of the condition of type t ("absent" when there is none).
func condition(obj *unstructured.Unstructured, t string) string {
	list, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range list {
		m, _ := c.(map[string]any)
		if m["type"] == t {
			s, _ := m["status"].(string)
			return s
		}
	}
	return "absent"
}

// conditions renders every condition as type=status (reason: message).
func conditions(obj *unstructured.Unstructured) string {
	list, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	if len(list) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(list))
	for _, c := range list {
		m, _ := c.(map[string]any)
		parts = append(parts, fmt.Sprintf("%v=%v (%v: %v)", m["type"], m["status"], m["reason"], m["message"]))
	}
	return strings.Join(parts, ", ")
}

// poll asks cond every wait.Poll until it holds or timeout passes.
func poll(ctx context.Context, timeout time.Duration, cond apiwait.ConditionWithContextFunc) error {
	return apiwait.PollUntilContextTimeout(ctx, wait.Poll, timeout, true, cond)
}
