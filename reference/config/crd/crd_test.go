package crd

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// virt-template.md §2.1-§2.3 and §5.3, checked on the generated YAML.

type printerColumn struct{ name, typ, jsonPath string }

func TestCustomResourceDefinitions(t *testing.T) {
	crds, err := CustomResourceDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != 2 {
		t.Fatalf("%d CRDs", len(crds))
	}
	ready := printerColumn{"Ready", "string", `.status.conditions[?(@.type=="Ready")].status`}
	age := printerColumn{"Age", "date", ".metadata.creationTimestamp"}
	cases := []struct {
		crd        *apiextensionsv1.CustomResourceDefinition
		name, kind string
		singular   string
		shortNames []string
		columns    []printerColumn
	}{
		{
			crd: crds[0], name: "virtualmachinetemplates.template.kubevirt.io", kind: "VirtualMachineTemplate",
			singular: "virtualmachinetemplate", shortNames: []string{"vmt", "vmts"},
			columns: []printerColumn{age, ready},
		},
		{
			crd: crds[1], name: "virtualmachinetemplaterequests.template.kubevirt.io", kind: "VirtualMachineTemplateRequest",
			singular: "virtualmachinetemplaterequest", shortNames: []string{"vmtr", "vmtrs"},
			columns: []printerColumn{
				{"Template", "string", ".status.templateRef.name"}, age, ready,
				{"Progressing", "string", `.status.conditions[?(@.type=="Progressing")].status`},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			c := tc.crd
			if c.Name != tc.name || c.Spec.Group != "template.kubevirt.io" || c.Spec.Scope != apiextensionsv1.NamespaceScoped {
				t.Errorf("name/group/scope = %s %s %s", c.Name, c.Spec.Group, c.Spec.Scope)
			}
			names := c.Spec.Names
			if names.Kind != tc.kind || names.ListKind != tc.kind+"List" || names.Singular != tc.singular ||
				names.Plural != tc.singular+"s" || !reflect.DeepEqual(names.ShortNames, tc.shortNames) || len(names.Categories) != 0 {
				t.Errorf("names = %+v", names)
			}
			if c.Spec.Conversion != nil && c.Spec.Conversion.Strategy != apiextensionsv1.NoneConverter {
				t.Errorf("conversion = %+v, want none", c.Spec.Conversion)
			}
			if len(c.Spec.Versions) != 2 {
				t.Fatalf("%d versions", len(c.Spec.Versions))
			}
			for i, want := range []struct {
				name                        string
				served, storage, deprecated bool
			}{{"v1alpha1", true, true, true}, {"v1beta1", true, false, false}} {
				v := c.Spec.Versions[i]
				if v.Name != want.name || v.Served != want.served || v.Storage != want.storage || v.Deprecated != want.deprecated {
					t.Errorf("version %d = %s served=%v storage=%v deprecated=%v, want %+v", i, v.Name, v.Served, v.Storage, v.Deprecated, want)
				}
				if v.DeprecationWarning != nil {
					t.Errorf("%s: custom deprecation warning %q, upstream uses the default", v.Name, *v.DeprecationWarning)
				}
				if v.Subresources == nil || v.Subresources.Status == nil || v.Subresources.Scale != nil {
					t.Errorf("%s: subresources = %+v, want status only", v.Name, v.Subresources)
				}
				var cols []printerColumn
				for _, col := range v.AdditionalPrinterColumns {
					cols = append(cols, printerColumn{col.Name, col.Type, col.JSONPath})
				}
				if !reflect.DeepEqual(cols, tc.columns) {
					t.Errorf("%s: printer columns = %v, want %v", v.Name, cols, tc.columns)
				}
				if _, err := structural(v.Schema.OpenAPIV3Schema); err != nil {
					t.Errorf("%s: schema is not structural: %v", v.Name, err)
				}
			}
			// Identical schemas: nothing is pruned while v1alpha1 is stored.
			if !reflect.DeepEqual(c.Spec.Versions[0].Schema, c.Spec.Versions[1].Schema) {
				t.Error("v1alpha1 and v1beta1 schemas differ")
			}
		})
	}
}

func TestTemplateSchema(t *testing.T) {
	s := schemaOf(t, 0)
	if !reflect.DeepEqual(s.Required, []string{"spec"}) {
		t.Errorf("required = %v", s.Required)
	}
	spec := s.Properties["spec"]
	if !reflect.DeepEqual(spec.Required, []string{"virtualMachine"}) {
		t.Errorf("spec.required = %v", spec.Required)
	}
	vm := spec.Properties["virtualMachine"]
	if vm.Type != "object" || vm.XPreserveUnknownFields == nil || !*vm.XPreserveUnknownFields || len(vm.Properties) != 0 {
		t.Errorf("virtualMachine = %+v, want an object preserving unknown fields", vm)
	}
	params := spec.Properties["parameters"]
	if params.Type != "array" || params.XListType != nil {
		t.Errorf("parameters: type %s listType %v, want a plain list (duplicates pass the CRD)", params.Type, params.XListType)
	}
	item := params.Items.Schema
	if !reflect.DeepEqual(item.Required, []string{"name"}) {
		t.Errorf("parameter required = %v", item.Required)
	}
	if got := item.Properties["name"].Pattern; got != "" {
		t.Errorf("name pattern = %q, want none", got)
	}
	if e := item.Properties["generate"].Enum; len(e) != 1 || string(e[0].Raw) != `"expression"` {
		t.Errorf("generate enum = %v", e)
	}
	if got := item.Properties["from"].Pattern; got != `\[([a-zA-Z0-9\-\\]+)\](\{(\w+)\})` {
		t.Errorf("from pattern = %q", got)
	}
	if item.Properties["required"].Type != "boolean" || spec.Properties["message"].Type != "string" {
		t.Error("required/message types")
	}
	conditionsListMap(t, s)
}

func TestRequestSchema(t *testing.T) {
	s := schemaOf(t, 1)
	spec := s.Properties["spec"]
	if !reflect.DeepEqual(spec.Required, []string{"virtualMachineRef"}) {
		t.Errorf("spec.required = %v", spec.Required)
	}
	if !hasRule(spec.XValidations, "self == oldSelf", "spec is immutable") {
		t.Errorf("spec rules = %+v", spec.XValidations)
	}
	ref := spec.Properties["virtualMachineRef"]
	if !reflect.DeepEqual(ref.Required, []string{"name", "namespace"}) {
		t.Errorf("virtualMachineRef.required = %v", ref.Required)
	}
	labels := spec.Properties["templateLabels"]
	if !hasRule(labels.XValidations, "self.all(k, !k.startsWith('template.kubevirt.io/'))",
		`labels with the prefix "template.kubevirt.io/" are reserved for system use`) {
		t.Errorf("templateLabels rules = %+v", labels.XValidations)
	}
	ttl := spec.Properties["ttlSecondsAfterFinished"]
	if ttl.Type != "integer" || ttl.Format != "int32" || ttl.Minimum == nil || *ttl.Minimum != 0 {
		t.Errorf("ttlSecondsAfterFinished = %+v", ttl)
	}
	if spec.Properties["templateName"].Type != "string" {
		t.Error("templateName type")
	}
	name := s.Properties["status"].Properties["templateRef"].Properties["name"]
	if name.Default == nil || string(name.Default.Raw) != `""` {
		t.Errorf("templateRef.name default = %v", name.Default)
	}
	conditionsListMap(t, s)
}

// The CEL rules compile and behave as the API server will apply them (§5.3).
func TestRequestRules(t *testing.T) {
	s, err := structural(schemaOf(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	validator := cel.NewValidator(s, true, celconfig.PerCallLimit)
	if validator == nil {
		t.Fatal("no CEL validator: no rules found")
	}
	request := func(specYAML string) map[string]any {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte("apiVersion: template.kubevirt.io/v1beta1\nkind: VirtualMachineTemplateRequest\nmetadata:\n  name: r\nspec:\n"+specYAML), &obj); err != nil {
			t.Fatal(err)
		}
		return obj
	}
	base := "  virtualMachineRef:\n    namespace: src\n    name: vm\n"
	cases := []struct {
		name     string
		obj, old map[string]any
		want     string // substring of the only error; "" = valid
	}{
		{name: "plain request", obj: request(base)},
		{name: "other labels", obj: request(base + "  templateLabels:\n    app: x\n    other.kubevirt.io/x: y\n")},
		{
			name: "reserved label prefix",
			obj:  request(base + "  templateLabels:\n    template.kubevirt.io/RequestUID: x\n"),
			want: `spec.templateLabels: Invalid value: "object": labels with the prefix "template.kubevirt.io/" are reserved for system use`,
		},
		{name: "unchanged spec on update", obj: request(base), old: request(base)},
		{
			name: "changed spec on update",
			obj:  request(base + "  templateName: other\n"), old: request(base),
			want: `spec: Invalid value: "object": spec is immutable`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var old any
			if tc.old != nil {
				old = tc.old
			}
			errs, _ := validator.Validate(context.Background(), field.NewPath(""), s, tc.obj, old, celconfig.RuntimeCELCostBudget)
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("unexpected errors: %v", errs)
			case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want)):
				t.Errorf("errors = %v, want one containing %q", errs, tc.want)
			}
		})
	}
}

func schemaOf(t *testing.T, i int) *apiextensionsv1.JSONSchemaProps {
	t.Helper()
	crds, err := CustomResourceDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	return crds[i].Spec.Versions[1].Schema.OpenAPIV3Schema
}

func structural(s *apiextensionsv1.JSONSchemaProps) (*structuralschema.Structural, error) {
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(s, internal, nil); err != nil {
		return nil, err
	}
	return structuralschema.NewStructural(internal)
}

func hasRule(rules apiextensionsv1.ValidationRules, rule, message string) bool {
	for _, r := range rules {
		if r.Rule == rule && r.Message == message {
			return true
		}
	}
	return false
}

func conditionsListMap(t *testing.T, s *apiextensionsv1.JSONSchemaProps) {
	t.Helper()
	c := s.Properties["status"].Properties["conditions"]
	if c.XListType == nil || *c.XListType != "map" || !reflect.DeepEqual(c.XListMapKeys, []string{"type"}) {
		t.Errorf("status.conditions: listType %v keys %v, want map keyed by type", c.XListType, c.XListMapKeys)
	}
}
