package config

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestFaultViewMayUseTemplates: the deliberate bug (package reference/faults) gives the
// viewer role the subresource rule; without it no release's viewer role has one.
func TestFaultViewMayUseTemplates(t *testing.T) {
	viewerSubresources := func(fault bool) bool {
		objs, err := Objects(Options{FaultViewMayUseTemplates: fault})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range objs {
			if u.GetKind() != "ClusterRole" || u.GetName() != TemplateViewerRole {
				continue
			}
			rules, _, _ := unstructured.NestedSlice(u.Object, "rules")
			return slices.ContainsFunc(rules, func(r any) bool {
				m, _ := r.(map[string]any)
				return slices.Contains(stringsOf(m["apiGroups"]), subresourceGroup)
			})
		}
		t.Fatalf("no %s", TemplateViewerRole)
		return false
	}
	if viewerSubresources(false) {
		t.Error("the viewer role grants the subresources without the fault")
	}
	if !viewerSubresources(true) {
		t.Error("the fault did not give the viewer role the subresources")
	}
}
