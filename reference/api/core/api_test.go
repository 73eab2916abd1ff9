package core_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

func TestSchemeRegistration(t *testing.T) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		v1alpha1.AddToScheme, v1beta1.AddToScheme, subresourcesv1alpha1.AddToScheme, subresourcesv1beta1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	for _, gv := range []schema.GroupVersion{v1alpha1.GroupVersion, v1beta1.GroupVersion} {
		if gv.Group != core.GroupName {
			t.Errorf("%v: group", gv)
		}
		for _, kind := range []string{"VirtualMachineTemplate", "VirtualMachineTemplateList", "VirtualMachineTemplateRequest", "VirtualMachineTemplateRequestList"} {
			if !scheme.Recognizes(gv.WithKind(kind)) {
				t.Errorf("%v %s not registered", gv, kind)
			}
		}
	}
	for _, gv := range []schema.GroupVersion{subresourcesv1alpha1.GroupVersion, subresourcesv1beta1.GroupVersion} {
		if gv.Group != core.SubresourceGroupName {
			t.Errorf("%v: group", gv)
		}
		for _, kind := range []string{"VirtualMachineTemplate", "ProcessOptions", "ProcessedVirtualMachineTemplate"} {
			if !scheme.Recognizes(gv.WithKind(kind)) {
				t.Errorf("%v %s not registered", gv, kind)
			}
		}
	}
	if v1beta1.LabelRequestUID != "template.kubevirt.io/RequestUID" || v1alpha1.FinalizerSnapshotCleanup != "template.kubevirt.io/SnapshotCleanup" ||
		v1beta1.AnnotationVersion != "template.kubevirt.io/virt-template-version" {
		t.Error("constants")
	}
}

// v1alpha1 and v1beta1 must stay wire-identical (upstream converts between them through
// JSON, and the CRD has no conversion webhook).
func TestVersionsAreWireIdentical(t *testing.T) {
	pairs := [][2]any{
		{v1alpha1.VirtualMachineTemplate{}, v1beta1.VirtualMachineTemplate{}},
		{v1alpha1.VirtualMachineTemplateRequest{}, v1beta1.VirtualMachineTemplateRequest{}},
		{subresourcesv1alpha1.ProcessedVirtualMachineTemplate{}, subresourcesv1beta1.ProcessedVirtualMachineTemplate{}},
		{subresourcesv1alpha1.ProcessOptions{}, subresourcesv1beta1.ProcessOptions{}},
	}
	for _, p := range pairs {
		if a, b := shape(reflect.TypeOf(p[0]), nil), shape(reflect.TypeOf(p[1]), nil); !reflect.DeepEqual(a, b) {
			t.Errorf("%T and %T differ:\n%v\n%v", p[0], p[1], a, b)
		}
	}
}

// shape lists the JSON tags and kinds of t's fields, recursively, ignoring package names.
func shape(t reflect.Type, seen map[reflect.Type]bool) []string {
	if seen == nil {
		seen = map[reflect.Type]bool{}
	}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] || t.PkgPath() != "" && !isOurs(t.PkgPath()) {
		return []string{t.String()}
	}
	seen[t] = true
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		out = append(out, f.Tag.Get("json")+":"+f.Type.Kind().String())
		out = append(out, shape(f.Type, seen)...)
	}
	return out
}

func isOurs(pkg string) bool { return strings.HasPrefix(pkg, "github.com/vmt-conformance/") }

func TestEmptyReferenceFieldsAreDropped(t *testing.T) {
	// As upstream's Go tags: an empty namespace or name is omitted, so the CRD schema
	// reports it as a missing required field.
	data, _ := json.Marshal(v1beta1.VirtualMachineTemplateRequestSpec{})
	if string(data) != `{"virtualMachineRef":{}}` {
		t.Errorf("empty request spec = %s", data)
	}
	data, _ = json.Marshal(v1beta1.VirtualMachineTemplate{})
	if string(data) != `{"spec":{"virtualMachine":null}}` {
		t.Errorf("empty template = %s", data)
	}
}
