package virtctl

import (
	"net/http"
	"reflect"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

const openShiftTemplatePath = "/apis/template.openshift.io/v1/namespaces/tpl/templates/fedora"

// TestConvert turns an OpenShift Template with one object into a v1beta1
// VirtualMachineTemplate (VMT-007 step 2), from a file, stdin and the cluster alike.
func TestConvert(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		stdin  string
		api    []exchange
		golden string
	}{
		{name: "file", args: []string{"-f", "testdata/openshift-fedora.yaml"}, golden: "converted.yaml"},
		{name: "stdin", args: []string{"--file", "-"}, stdin: readTestdata(t, "openshift-fedora.yaml"), golden: "converted.yaml"},
		{name: "json output", args: []string{"-f", "testdata/openshift-fedora.yaml", "-o", "json"}, golden: "converted.json"},
		{
			name: "cluster", args: []string{"fedora"}, golden: "converted.yaml",
			api: []exchange{{method: http.MethodGet, path: openShiftTemplatePath, status: http.StatusOK,
				response: testdataJSON(t, "openshift-fedora.yaml")}},
		},
		{
			name: "cluster by flag", args: []string{"--name", "fedora", "-o", "json"}, golden: "converted.json",
			api: []exchange{{method: http.MethodGet, path: openShiftTemplatePath, status: http.StatusOK,
				response: testdataJSON(t, "openshift-fedora.yaml")}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := invocation{stdin: tc.stdin}
			if tc.api != nil {
				inv.rest = newFakeAPI(t, tc.api...)
			}
			res := run(t, inv, append([]string{"template", "convert"}, tc.args...)...)
			expectSuccess(t, res, "")
			golden(t, tc.golden, res.stdout)
		})
	}
}

// TestConvertCopiesFields checks the VMT-007 expectations on the converted object itself:
// kind and version, metadata, message and every parameter field copied, the object as is.
func TestConvertCopiesFields(t *testing.T) {
	res := run(t, invocation{}, "template", "convert", "-f", "testdata/openshift-fedora.yaml")
	expectSuccess(t, res, "")
	got := &v1beta1.VirtualMachineTemplate{}
	if err := yaml.UnmarshalStrict([]byte(res.stdout), got); err != nil {
		t.Fatal(err)
	}
	ocp := &openShiftTemplate{}
	if err := yaml.UnmarshalStrict([]byte(readTestdata(t, "openshift-fedora.yaml")), ocp); err != nil {
		t.Fatal(err)
	}
	if got.APIVersion != "template.kubevirt.io/v1beta1" || got.Kind != "VirtualMachineTemplate" {
		t.Errorf("type %s %s", got.APIVersion, got.Kind)
	}
	if got.Name != "fedora" || got.Namespace != "tpl" ||
		!reflect.DeepEqual(got.Labels, ocp.Labels) || !reflect.DeepEqual(got.Annotations, ocp.Annotations) {
		t.Errorf("metadata %+v, want name, namespace, labels and annotations of %+v", got.ObjectMeta, ocp.ObjectMeta)
	}
	if got.Spec.Message != ocp.Message {
		t.Errorf("message %q, want %q", got.Spec.Message, ocp.Message)
	}
	if len(got.Spec.Parameters) != len(ocp.Parameters) {
		t.Fatalf("%d parameters, want %d", len(got.Spec.Parameters), len(ocp.Parameters))
	}
	for i, p := range ocp.Parameters {
		want := v1beta1.Parameter(p)
		if got.Spec.Parameters[i] != want {
			t.Errorf("parameter %d: %+v, want %+v", i, got.Spec.Parameters[i], want)
		}
	}
	var gotVM, wantVM map[string]any
	if err := yaml.Unmarshal(got.Spec.VirtualMachine.Raw, &gotVM); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(ocp.Objects[0].Raw, &wantVM); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotVM, wantVM) {
		t.Errorf("spec.virtualMachine %v, want the Template's object %v", gotVM, wantVM)
	}
}

// TestConvertThenProcess: processing the converted template gives the VM that processing
// the original VirtualMachineTemplate gives (VMT-007 step 3, with pinned generated values).
func TestConvertThenProcess(t *testing.T) {
	converted := run(t, invocation{}, "template", "convert", "-f", "testdata/openshift-fedora.yaml")
	expectSuccess(t, converted, "")
	res := run(t, invocation{stdin: converted.stdout}, "template", "process", "-f", "-", "-p", "NAME=vm-a")
	expectSuccess(t, res, unusedWarning+fedoraMessage)
	golden(t, "vm-a.yaml", res.stdout)
}

// TestConvertRefused: zero or several objects are refused (VMT-007 step 4), as is a
// Template missing from the cluster.
func TestConvertRefused(t *testing.T) {
	cases := []struct {
		name string
		args []string
		api  []exchange
		want string
	}{
		{name: "no objects", args: []string{"-f", "testdata/openshift-empty.yaml"}, want: "template must contain exactly one object, found 0"},
		{name: "two objects", args: []string{"-f", "testdata/openshift-two.yaml"}, want: "template must contain exactly one object, found 2"},
		{name: "two objects, json output", args: []string{"-f", "testdata/openshift-two.yaml", "-o", "json"}, want: "template must contain exactly one object, found 2"},
		{
			name: "two objects in the cluster", args: []string{"fedora"}, want: "template must contain exactly one object, found 2",
			api: []exchange{{method: http.MethodGet, path: openShiftTemplatePath, status: http.StatusOK,
				response: testdataJSON(t, "openshift-two.yaml")}},
		},
		{
			name: "not found", args: []string{"fedora"},
			want: `error fetching remote Template tpl/fedora: templates.template.openshift.io "fedora" not found`,
			api: []exchange{{method: http.MethodGet, path: openShiftTemplatePath, status: http.StatusNotFound,
				response: apierrors.NewNotFound(schema.GroupResource{Group: "template.openshift.io", Resource: "templates"}, "fedora")}},
		},
		{
			// A cluster without the OpenShift Template API answers 404 with a plain body.
			name: "no Template API", args: []string{"fedora"},
			want: `error fetching remote Template tpl/fedora: the server could not find the requested resource`,
			api: []exchange{{method: http.MethodGet, path: openShiftTemplatePath, status: http.StatusNotFound,
				response: "404 page not found"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := invocation{}
			if tc.api != nil {
				inv.rest = newFakeAPI(t, tc.api...)
			}
			expectFailure(t, run(t, inv, append([]string{"template", "convert"}, tc.args...)...), tc.want)
		})
	}
}
