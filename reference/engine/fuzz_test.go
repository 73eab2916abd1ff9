package engine

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// FuzzProcess feeds arbitrary VMs (raw JSON), parameter lists, supplied values and messages
// to every entry point. Nothing may panic; results must be reproducible for a seed; errors
// must be the engine's typed errors and map to 409 or 422; a rendered VM is always
// kubevirt.io/v1 VirtualMachine. The seed corpus runs in plain `go test`;
// `go test -fuzz FuzzProcess ./reference/engine` explores further.
func FuzzProcess(f *testing.F) {
	seeds := []struct{ vm, params, values, message string }{
		{minimalJSON, `[{"name":"NAME","value":"vm"}]`, `{}`, "hello ${NAME}"},
		{`{"metadata":{"name":"${NAME}","namespace":"ns-${NS}","labels":{"${{K}}":"v","${A}":"${B}"}},"spec":{"template":{"spec":{"domain":{"cpu":{"cores":"${{C}}"},"devices":{}}}}}}`,
			`[{"name":"NAME","generate":"expression","from":"vm-[a-z0-9]{5}"},{"name":"NS","value":"a"},{"name":"K","value":"\"k\""},{"name":"A","value":"${B}"},{"name":"B"},{"name":"C","value":"2.5"}]`,
			`{"A":"z"}`, "${{C}}"},
		{`{"spec":{"bogus":1,"runStrategy":"${{R}}"}}`, `[{"name":"R","value":"null"}]`, `{}`, "${X}"},
		{`{"spec":{"template":{"spec":{"domain":{"cpu":{"cores":-1}}}}}}`, `[{"name":""},{"name":"A","required":true}]`, `{"B":""}`, "${{A}}"},
		{`[1]`, `[]`, `{}`, ""},
		{`null`, `[]`, `{}`, ""},
		{`{"metadata":"x","spec":[]}`, `[]`, `{}`, ""},
		{`{"metadata":{"name":"${N}"}}`, `[{"name":"N","generate":"expression","from":"[a-\\A]{3}"}]`, `{}`, ""},
		{`{"metadata":{"name":"${N}"}}`, `[{"name":"N","generate":"expression","from":"[x[\\A]{1}{2}"}]`, `{}`, ""},
		{`{"metadata":{"name":"${N}"}}`, `[{"name":"N","generate":"regex","from":"x"},{"name":"N"}]`, `{"N":""}`, ""},
		{`{"metadata":{"labels":{"${{A}}":"1","${{B}}":"2","x":"${{C}}"}}}`, `[{"name":"A","value":"x"},{"name":"B","value":"[1]"},{"name":"C","value":"{\"a\":null}"}]`, `{}`, ""},
	}
	for _, s := range seeds {
		f.Add(s.vm, s.params, s.values, s.message, uint64(1))
	}
	f.Fuzz(func(t *testing.T, vm, params, values, message string, seed uint64) {
		tpl := &v1beta1.VirtualMachineTemplate{}
		tpl.Name = "fuzz"
		if vm != "" {
			tpl.Spec.VirtualMachine = &runtime.RawExtension{Raw: []byte(vm)}
		}
		if json.Unmarshal([]byte(params), &tpl.Spec.Parameters) != nil {
			return
		}
		var vals map[string]string
		if json.Unmarshal([]byte(values), &vals) != nil {
			return
		}
		tpl.Spec.Message = message
		before := tpl.DeepCopy()

		first := outcomeOf(Processor{Rand: newSeeded(seed)}.Process(tpl, vals))
		second := outcomeOf(Processor{Rand: newSeeded(seed)}.Process(tpl, vals))
		if !reflect.DeepEqual(first.comparable(), second.comparable()) {
			t.Fatalf("not reproducible:\n%+v\n%+v", first, second)
		}
		if !reflect.DeepEqual(before, tpl) {
			t.Fatal("Process modified the template")
		}
		if first.err != nil {
			var unknown *UnknownParameterError
			var inv *InvalidError
			switch {
			case errors.As(first.err, &unknown):
				if code := StatusError("fuzz", first.err).Status().Code; code != http.StatusConflict {
					t.Fatalf("unknown parameter gave %d", code)
				}
			case errors.As(first.err, &inv):
				if len(inv.Errors) == 0 || (inv.Stage == StageProcessing && len(inv.Errors) != 1) {
					t.Fatalf("bad field errors: %v", inv.Errors)
				}
				if code := StatusError("fuzz", first.err).Status().Code; code != http.StatusUnprocessableEntity {
					t.Fatalf("invalid template gave %d", code)
				}
			default:
				t.Fatalf("unexpected error type %T: %v", first.err, first.err)
			}
		} else if first.vm.GroupVersionKind() != kubevirtv1.VirtualMachineGroupVersionKind {
			t.Fatalf("GVK not forced: %v", first.vm.GroupVersionKind())
		}

		// The other entry points must not panic either.
		_, _ = ValidateReferences(tpl)
		_, _ = Processor{Rand: newSeeded(seed)}.Validate(tpl)
		_, _, _ = Processor{Rand: newSeeded(seed)}.Render(tpl)
		_ = SkipProcessingValidation(tpl)
		if !reflect.DeepEqual(before, tpl) {
			t.Fatal("an entry point modified the template")
		}
	})
}

type outcome struct {
	vm       *kubevirtv1.VirtualMachine
	message  string
	warnings []string
	err      error
	errText  string
}

func outcomeOf(res *Result, err error) outcome {
	var o outcome
	if res != nil {
		o.vm, o.message, o.warnings = res.VirtualMachine, res.Message, res.Warnings
	}
	if err != nil {
		o.err, o.errText = err, err.Error()
	}
	return o
}

// outcomes compare by content, not by error identity.
func (o outcome) comparable() outcome { o.err = nil; return o }

const minimalJSON = `{"metadata":{"name":"${NAME}"},"spec":{"runStrategy":"Always","template":{"spec":{"domain":{"devices":{}}}}}}`
