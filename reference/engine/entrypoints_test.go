package engine

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// §4.4 MergeParameters.
func TestMergeParameters(t *testing.T) {
	params := []v1beta1.Parameter{param("A", "a"), param("B", "b"), param("A", "second")}
	merged, err := MergeParameters(params, map[string]string{"A": "x", "B": ""})
	if err != nil {
		t.Fatal(err)
	}
	want := []v1beta1.Parameter{param("A", "x"), param("B", ""), param("A", "second")}
	if !reflect.DeepEqual(merged, want) {
		t.Errorf("merged = %+v, want %+v (only the first duplicate receives the value)", merged, want)
	}
	if params[0].Value != "a" {
		t.Error("the input was modified")
	}
	if got, err := MergeParameters(params, nil); err != nil || !reflect.DeepEqual(got, params) {
		t.Errorf("nil values: %+v %v", got, err)
	}
	_, err = MergeParameters(nil, map[string]string{"A": "1"})
	var unknown *UnknownParameterError
	if !errors.As(err, &unknown) || unknown.Name != "A" || err.Error() != "parameter A not found in template" {
		t.Errorf("unknown: %v", err)
	}
}

// §4.4 ValidateParameterReferences and the webhook's §5.1 use of it.
func TestValidateReferences(t *testing.T) {
	tpl := templateOf(t, "metadata:\n  name: ${NAME}\n  labels:\n    ${KEY}: x\n    t: ${{TYPED}}\n",
		param("NAME", ""), param("KEY", ""), param("TYPED", ""), param("UNUSED", ""), param("UNUSED", ""), param("MSG", ""))
	tpl.Spec.Message = "${MSG} ${MISSING}"
	warnings, errs := ValidateReferences(tpl)
	// A duplicate unused name is reported once, at its last declaration.
	if want := []string{"spec.parameters[4].name: UNUSED is defined but never referenced"}; !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
	if len(errs) != 1 || errs[0].Error() != `spec.virtualMachine: Invalid value: "MISSING": references undefined parameter MISSING` {
		t.Errorf("errs = %v", errs)
	}

	tpl.Spec.VirtualMachine = &runtime.RawExtension{Raw: []byte(`[1]`)}
	_, errs = ValidateReferences(tpl)
	if len(errs) != 1 || errs[0].Error() != `spec.virtualMachine.raw: Invalid value: "WzFd": error decoding virtualMachine: json: cannot unmarshal array into Go value of type map[string]interface {}` {
		t.Errorf("undecodable VM: %v", errs)
	}
	tpl.Spec.VirtualMachine = &runtime.RawExtension{}
	_, errs = ValidateReferences(tpl)
	if len(errs) != 1 || errs[0].Error() != `spec.virtualMachine: Invalid value: null: virtualMachine is required and cannot be empty` {
		t.Errorf("empty VM: %v", errs)
	}
}

// The processor alone (upstream's processor.Process): no merge, no reference check.
func TestRender(t *testing.T) {
	p := Processor{Rand: newSeeded(3)}

	_, _, err := p.Render(templateOf(t, minimalVM))
	if err == nil || err.Error() != `spec.parameters: Invalid value: null: error processing template: found parameter 'NAME' but it was not defined` {
		t.Errorf("undefined in VM: %v", err)
	}
	tpl := templateOf(t, minimalVM, param("NAME", "vm"))
	tpl.Spec.Message = "${{WHO}}"
	_, _, err = p.Render(tpl)
	if err == nil || err.Error() != `spec.message: Invalid value: "${{WHO}}": error processing message: found parameter 'WHO' but it was not defined` {
		t.Errorf("undefined in message: %v", err)
	}
	tpl.Spec.Parameters = append(tpl.Spec.Parameters, param("WHO", "you"))
	vm, msg, err := p.Render(tpl)
	if err != nil || msg != "you" || vm.Name != "vm" {
		t.Errorf("a whole-message ${{X}} is replaced by the value: %q %v", msg, err)
	}
	// Parameters are checked before the VirtualMachine.
	_, _, err = p.Render(templateOf(t, "", param("A", ""), param("A", "")))
	if err == nil || err.Error() != `spec.parameters[1].name: Duplicate value: "A"` {
		t.Errorf("order: %v", err)
	}
	_, _, err = p.Render(templateOf(t, "", param("A", "")))
	if err == nil || err.Error() != `spec.virtualMachine: Invalid value: null: virtualMachine is required and cannot be empty` {
		t.Errorf("no VM: %v", err)
	}
}

// §5.1: what the validating webhook decides.
func TestValidate(t *testing.T) {
	p := Processor{Rand: newSeeded(5)}
	cases := []struct {
		name     string
		tpl      *v1beta1.VirtualMachineTemplate
		warnings []string
		err      string
	}{
		{
			name:     "5.1 a valid template passes with unused-parameter warnings",
			tpl:      templateOf(t, minimalVM, generated("NAME", "vm-[a-z]{4}"), param("X", "")),
			warnings: []string{"spec.parameters[1].name: X is defined but never referenced"},
		},
		{
			name:     "5.1 an undefined reference denies, with warnings",
			tpl:      templateOf(t, minimalVM, param("X", "")),
			warnings: []string{"spec.parameters[0].name: X is defined but never referenced"},
			err:      `spec.virtualMachine: Invalid value: "NAME": references undefined parameter NAME`,
		},
		{
			name: "5.1 a required parameter without value or generator skips rendering",
			tpl:  templateOf(t, minimalVM+"  bogus: true\n", required(param("NAME", "")), param("NAME", "")),
			warnings: []string{
				`processing validation skipped: required parameter "NAME" has neither value nor generator`,
			},
		},
		{
			name: "5.1 a rendering failure denies with upstream's prefix",
			tpl:  templateOf(t, minimalVM, param("NAME", "a"), param("NAME", "b")),
			err:  `processing validation failed: spec.parameters[1].name: Duplicate value: "NAME"`,
		},
		{
			name: "5.1 a required parameter with a generator is rendered",
			tpl:  templateOf(t, minimalVM+"  bogus: true\n", required(generated("NAME", "[a]{3}"))),
			err:  `processing validation failed: spec.virtualMachine: Invalid value: {"metadata":{"name":"aaa"},"spec":{"bogus":true,"runStrategy":"Always","template":{"spec":{"domain":{"devices":{}}}}}}: failed to convert unstructured object to VirtualMachine: strict decoding error: unknown field "spec.bogus"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			warnings, err := p.Validate(tc.tpl)
			if !reflect.DeepEqual(warnings, tc.warnings) {
				t.Errorf("warnings = %q, want %q", warnings, tc.warnings)
			}
			got := ""
			if err != nil {
				got = err.Error()
				var inv *InvalidError
				if !errors.As(err, &inv) {
					t.Errorf("error %T does not wrap *InvalidError", err)
				}
			}
			if got != tc.err {
				t.Errorf("error = %q\nwant    %q", got, tc.err)
			}
		})
	}
	if got := SkipProcessingValidation(templateOf(t, minimalVM, required(param("A", "")), required(param("B", "v")), required(generated("C", "[a]{1}")))); !reflect.DeepEqual(got,
		[]string{`processing validation skipped: required parameter "A" has neither value nor generator`}) {
		t.Errorf("SkipProcessingValidation = %q", got)
	}
}

// Go callers may put an object instead of raw JSON into spec.virtualMachine.
func TestInMemoryVirtualMachine(t *testing.T) {
	p := Processor{}
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "${NAME}"},
		"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{}}},
	}}
	typed := &kubevirtv1.VirtualMachine{}
	typed.Name = "${NAME}"
	for _, obj := range []runtime.Object{u, typed} {
		tpl := templateOf(t, "", param("NAME", "vm"))
		tpl.Spec.VirtualMachine = &runtime.RawExtension{Object: obj}
		res, err := p.Process(tpl, nil)
		if err != nil || res.VirtualMachine.Name != "vm" {
			t.Errorf("%T: %v", obj, err)
		}
	}
	pod := &corev1.Pod{}
	pod.Name = "${NAME}"
	tpl := templateOf(t, "", param("NAME", "vm"))
	tpl.Spec.VirtualMachine = &runtime.RawExtension{Object: pod}
	_, err := p.Process(tpl, nil)
	if err == nil || !strings.HasSuffix(err.Error(), "unable to convert into VirtualMachine: object is *v1.Pod") {
		t.Errorf("pod: %v", err)
	}
}
