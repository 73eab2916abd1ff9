package crd

import (
	"context"
	"reflect"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
)

// Before v0.2.0 (ServesV1beta1, DeprecatesV1alpha1, RequestTemplateLabels, RequestTTL) the
// CRDs serve v1alpha1 only, not deprecated, and the request spec has neither templateLabels
// (nor its CEL rule) nor ttlSecondsAfterFinished; everything else is the generated schema.
func TestCustomResourceDefinitionsForV018(t *testing.T) {
	generated, err := CustomResourceDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"v0.1.7", "v0.1.8"} {
		old, err := CustomResourceDefinitionsFor(release.MustParse(v))
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range old {
			if len(c.Spec.Versions) != 1 {
				t.Fatalf("%s %s: %d versions", v, c.Name, len(c.Spec.Versions))
			}
			got := c.Spec.Versions[0]
			if got.Name != "v1alpha1" || !got.Served || !got.Storage || got.Deprecated || got.DeprecationWarning != nil {
				t.Errorf("%s %s: version %s served=%v storage=%v deprecated=%v", v, c.Name, got.Name, got.Served, got.Storage, got.Deprecated)
			}
			if _, err := structural(got.Schema.OpenAPIV3Schema); err != nil {
				t.Errorf("%s %s: not structural: %v", v, c.Name, err)
			}
			want := generated[i].Spec.Versions[0].DeepCopy()
			want.Deprecated = false
			if c.Name == RequestsName {
				spec := want.Schema.OpenAPIV3Schema.Properties["spec"]
				delete(spec.Properties, "templateLabels")
				delete(spec.Properties, "ttlSecondsAfterFinished")
				want.Schema.OpenAPIV3Schema.Properties["spec"] = spec
				if len(got.Schema.OpenAPIV3Schema.Properties["spec"].Properties) != 2 {
					t.Errorf("%s: request spec properties %v, want virtualMachineRef and templateName", v,
						keys(got.Schema.OpenAPIV3Schema.Properties["spec"].Properties))
				}
			}
			if !reflect.DeepEqual(&got, want) {
				t.Errorf("%s %s: differs from the generated v1alpha1 beyond the dropped fields", v, c.Name)
			}
		}
	}
	// The generated CRDs are untouched by the derivation (fresh decode each call).
	again, _ := CustomResourceDefinitions()
	if !reflect.DeepEqual(again, generated) {
		t.Error("CustomResourceDefinitionsFor changed the generated CRDs")
	}
}

// v0.2.x and the unknown (newest) version get the generated CRDs unchanged.
func TestCustomResourceDefinitionsForV02(t *testing.T) {
	generated, err := CustomResourceDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []release.Version{release.MustParse("v0.2.0"), release.MustParse("v0.2.2"), {}} {
		got, err := CustomResourceDefinitionsFor(v)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, generated) {
			t.Errorf("%s: CRDs differ from the generated ones", v)
		}
	}
}

// Without templateLabels the v0.1.8 request schema has only the immutability rule.
func TestV018RequestRules(t *testing.T) {
	crds, err := CustomResourceDefinitionsFor(release.MustParse("v0.1.8"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := structural(crds[1].Spec.Versions[0].Schema.OpenAPIV3Schema)
	if err != nil {
		t.Fatal(err)
	}
	validator := cel.NewValidator(s, true, celconfig.PerCallLimit)
	obj := map[string]any{"apiVersion": "template.kubevirt.io/v1alpha1", "kind": "VirtualMachineTemplateRequest",
		"metadata": map[string]any{"name": "r"},
		"spec":     map[string]any{"virtualMachineRef": map[string]any{"namespace": "n", "name": "vm"}}}
	old := map[string]any{"apiVersion": "template.kubevirt.io/v1alpha1", "kind": "VirtualMachineTemplateRequest",
		"metadata": map[string]any{"name": "r"},
		"spec":     map[string]any{"virtualMachineRef": map[string]any{"namespace": "n", "name": "other"}}}
	errs, _ := validator.Validate(context.Background(), field.NewPath(""), s, obj, old, celconfig.RuntimeCELCostBudget)
	if len(errs) != 1 || errs[0].Type != field.ErrorTypeInvalid || errs[0].Detail != "spec is immutable" {
		t.Errorf("errors %v, want spec is immutable", errs)
	}
	if rules := crds[1].Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].XValidations; len(rules) != 1 {
		t.Errorf("spec rules %+v", rules)
	}
}

func keys(m map[string]apiextensionsv1.JSONSchemaProps) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
