package config

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/emulation"
)

// The YAML files are v0.2.4's manifests (the newest behaviour of the table); emulate takes
// away what an older release does not ship, asking the behaviour table only. The CRDs are
// derived in package crd (CustomResourceDefinitionsFor), the version annotation by stamp.

// Versions of the template groups.
const (
	v1alpha1 = "v1alpha1"
	v1beta1  = "v1beta1"
)

// subresourceGroup is the aggregated group of /process and /create.
const subresourceGroup = "subresources.template.kubevirt.io"

// APIServicesFor lists the APIServices release v installs, preferred version first:
// v1alpha1 (versionPriority 15) and, with ServesV1beta1 (v0.2.0+), v1beta1 (10), as
// config/apiserver/apiservice.yaml@v0.1.7, @v0.1.8, @v0.2.0 and @v0.2.2.
func APIServicesFor(v release.Version) []string {
	out := []string{v1alpha1 + "." + subresourceGroup}
	if release.For(v).Has(release.ServesV1beta1) {
		out = append(out, v1beta1+"."+subresourceGroup)
	}
	return out
}

// emulate adapts one object of the YAML files to release v; keep is false for an object the
// release does not ship.
func emulate(u *unstructured.Unstructured, v release.Version) (keep bool, err error) {
	rel := release.For(v)
	switch u.GetKind() {
	case "APIService":
		// ServesV1beta1: one APIService before v0.2.0.
		return slices.Contains(APIServicesFor(v), u.GetName()), nil
	case "ValidatingWebhookConfiguration":
		// AdmissionCoversV1beta1: before v0.2.0 only vvirtualmachinetemplate-v1alpha1.kb.io
		// (config/webhook/manifests.yaml@v0.1.8).
		if rel.Has(release.AdmissionCoversV1beta1) {
			return true, nil
		}
		webhooks, _, err := unstructured.NestedSlice(u.Object, "webhooks")
		if err != nil {
			return false, err
		}
		webhooks = slices.DeleteFunc(webhooks, func(w any) bool {
			return slices.Equal(ruleVersions(w), []string{v1beta1})
		})
		return true, unstructured.SetNestedSlice(u.Object, webhooks, "webhooks")
	case "ValidatingAdmissionPolicy":
		// AdmissionCoversV1beta1: the VAP matches apiVersions [v1alpha1] before v0.2.0
		// (config/admission/vmtr_authz_vap.yaml@v0.1.8).
		if rel.Has(release.AdmissionCoversV1beta1) {
			return true, nil
		}
		rules, _, err := unstructured.NestedSlice(u.Object, "spec", "matchConstraints", "resourceRules")
		if err != nil {
			return false, err
		}
		for _, r := range rules {
			m, _ := r.(map[string]any)
			m["apiVersions"] = withoutString(m["apiVersions"], v1beta1)
		}
		return true, unstructured.SetNestedSlice(u.Object, rules, "spec", "matchConstraints", "resourceRules")
	case "ClusterRole":
		switch u.GetName() {
		case TemplateAdminRole, TemplateEditorRole:
			// AggregatedProcessCreate (v0.2.4+): without it the aggregated roles do not
			// grant the subresources.
			if rel.Has(release.AggregatedProcessCreate) {
				return true, nil
			}
			return true, editRules(u, func(rule map[string]any) (map[string]any, bool) {
				return rule, !slices.Contains(stringsOf(rule["apiGroups"]), subresourceGroup)
			})
		case "virt-template-manager-role":
			// RequestTTL (v0.2.0+): the controller deletes expired requests; before, its
			// role has no delete on them (config/rbac/role.yaml@v0.1.8).
			if rel.Has(release.RequestTTL) {
				return true, nil
			}
			return true, editRules(u, func(rule map[string]any) (map[string]any, bool) {
				if slices.Equal(stringsOf(rule["resources"]), []string{"virtualmachinetemplaterequests"}) {
					rule["verbs"] = withoutString(rule["verbs"], "delete")
				}
				return rule, true
			})
		}
	case "Deployment":
		// Our components play the release the manifests are of.
		arg := fmt.Sprintf("--%s=%s", emulation.FlagName, v)
		return true, mapContainers(u, func(c map[string]any) error {
			args, _ := c["args"].([]any)
			c["args"] = append(args, arg)
			return nil
		})
	}
	return true, nil
}

// ruleVersions are the apiVersions of a webhook's rules.
func ruleVersions(webhook any) []string {
	m, _ := webhook.(map[string]any)
	rules, _ := m["rules"].([]any)
	var out []string
	for _, r := range rules {
		rm, _ := r.(map[string]any)
		out = append(out, stringsOf(rm["apiVersions"])...)
	}
	return out
}

// editRules rewrites a role's rules; f returns the rule and whether to keep it.
func editRules(u *unstructured.Unstructured, f func(map[string]any) (map[string]any, bool)) error {
	rules, _, err := unstructured.NestedSlice(u.Object, "rules")
	if err != nil {
		return err
	}
	var out []any
	for _, r := range rules {
		m, _ := r.(map[string]any)
		if m, keep := f(m); keep {
			out = append(out, m)
		}
	}
	return unstructured.SetNestedSlice(u.Object, out, "rules")
}

func stringsOf(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, s := range list {
		out = append(out, fmt.Sprint(s))
	}
	return out
}

func withoutString(v any, drop string) []any {
	var out []any
	for _, s := range stringsOf(v) {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}
