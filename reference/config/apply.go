package config

import (
	"context"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// FieldManager owns the fields Apply sets.
const FieldManager = "vmt-conformance-config"

// resources maps every kind Objects produces to its REST resource, so Apply and Delete need
// no discovery (an unavailable APIService would make discovery fail part-way).
var resources = map[schema.GroupVersionKind]struct {
	resource   string
	namespaced bool
}{
	{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}:                 {"customresourcedefinitions", false},
	{Version: "v1", Kind: "Namespace"}:                                                               {"namespaces", false},
	{Version: "v1", Kind: "ServiceAccount"}:                                                          {"serviceaccounts", true},
	{Version: "v1", Kind: "Secret"}:                                                                  {"secrets", true},
	{Version: "v1", Kind: "Service"}:                                                                 {"services", true},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}:                         {"clusterroles", false},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"}:                  {"clusterrolebindings", false},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}:                                {"roles", true},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}:                         {"rolebindings", true},
	{Group: "apps", Version: "v1", Kind: "Deployment"}:                                               {"deployments", true},
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicy"}:        {"validatingadmissionpolicies", false},
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicyBinding"}: {"validatingadmissionpolicybindings", false},
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingWebhookConfiguration"}:   {"validatingwebhookconfigurations", false},
	{Group: "apiregistration.k8s.io", Version: "v1", Kind: "APIService"}:                             {"apiservices", false},
}

// ResourceFor is the client of one object's resource (namespaced where the kind is).
func ResourceFor(c dynamic.Interface, u *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := u.GroupVersionKind()
	r, ok := resources[gvk]
	if !ok {
		return nil, fmt.Errorf("%s %s: kind not handled by reference/config", gvk, u.GetName())
	}
	client := c.Resource(gvk.GroupVersion().WithResource(r.resource))
	switch {
	case r.namespaced && u.GetNamespace() == "":
		return nil, fmt.Errorf("%s %s: namespaced kind without a namespace", gvk.Kind, u.GetName())
	case r.namespaced:
		return client.Namespace(u.GetNamespace()), nil
	case u.GetNamespace() != "":
		return nil, fmt.Errorf("%s %s: cluster-scoped kind with namespace %q", gvk.Kind, u.GetName(), u.GetNamespace())
	}
	return client, nil
}

// Apply server-side applies objs in order, taking ownership of every field they set (Force),
// so applying the same objects again changes nothing and a changed option wins over an
// earlier apply. It stops at the first failure.
func Apply(ctx context.Context, c dynamic.Interface, objs []*unstructured.Unstructured) error {
	for _, u := range objs {
		client, err := ResourceFor(c, u)
		if err != nil {
			return err
		}
		if _, err := client.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			return fmt.Errorf("applying %s %s: %w", u.GetKind(), key(u), err)
		}
	}
	return nil
}

// Delete removes every object Objects(opts) lists, in reverse apply order (APIServices and
// admission first, CRDs last), as virt-operator does when the Template gate or the
// deployment switch is turned off. Objects already gone are fine; it waits for nothing
// (namespaces and CRDs finish deleting in the background). All failures are reported.
func Delete(ctx context.Context, c dynamic.Interface, opts Options) error {
	objs, err := Objects(opts)
	if err != nil {
		return err
	}
	background := metav1.DeletePropagationBackground
	var errs []error
	for _, u := range slices.Backward(objs) {
		client, err := ResourceFor(c, u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = client.Delete(ctx, u.GetName(), metav1.DeleteOptions{PropagationPolicy: &background})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting %s %s: %w", u.GetKind(), key(u), err))
		}
	}
	return errors.Join(errs...)
}

func key(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetName()
	}
	return u.GetNamespace() + "/" + u.GetName()
}
