package virtctl

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/engine"
)

const (
	processPath = "/apis/subresources.template.kubevirt.io/v1beta1/namespaces/tpl/virtualmachinetemplates/fedora/process"
	createPath  = "/apis/subresources.template.kubevirt.io/v1beta1/namespaces/tpl/virtualmachinetemplates/fedora/create"
	vmtPath     = "/apis/template.kubevirt.io/v1beta1/namespaces/tpl/virtualmachinetemplates/fedora"

	unusedWarning = "Warning: spec.parameters[4].name: UNUSED is defined but never referenced\n"
	// fedoraMessage is fedora.yaml's message for NAME=vm-a and the first seeded password.
	fedoraMessage = `Start the VirtualMachine with "virtctl start vm-a"; log in as fedora/yecr79hr.` + "\n"
)

// TestProcessLocal renders templates on this machine (VMT-006 step 2 and 3): the same
// template as a YAML file, on stdin and as a v1alpha1 JSON file gives the same VM; values
// from -p, YAML and JSON params files; YAML and JSON output. The VM goes to stdout, the
// reference warning and the message to stderr.
func TestProcessLocal(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		stdin  string
		golden string
	}{
		{"yaml file", []string{"-f", "testdata/fedora.yaml", "-p", "NAME=vm-a"}, "", "vm-a.yaml"},
		{"stdin", []string{"-f", "-", "--param", "NAME=vm-a"}, readTestdata(t, "fedora.yaml"), "vm-a.yaml"},
		{"v1alpha1 json file", []string{"--file", "testdata/fedora-v1alpha1.json", "-p", "NAME=vm-a"}, "", "vm-a.yaml"},
		{"params as one flag", []string{"-f", "testdata/fedora.yaml", "-p", "NAME=vm-a,CPU_CORES=2"}, "", "vm-a-2-cores.yaml"},
		{"yaml params file", []string{"-f", "testdata/fedora.yaml", "--params-file", "testdata/params.yaml"}, "", "vm-a-2-cores.yaml"},
		{"params file with a number", []string{"-f", "testdata/fedora.yaml", "--params-file", "testdata/params-number.yaml"}, "", "vm-a-2-cores.yaml"},
		{"json params file, json output", []string{"-f", "testdata/fedora.yaml", "--params-file", "testdata/params.json", "-o", "json"}, "", "vm-a-2-cores.json"},
		{"json output", []string{"-f", "testdata/fedora.yaml", "-p", "NAME=vm-a", "--output", "json"}, "", "vm-a.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, invocation{stdin: tc.stdin}, append([]string{"template", "process"}, tc.args...)...)
			expectSuccess(t, res, unusedWarning+fedoraMessage)
			golden(t, tc.golden, res.stdout)
		})
	}
}

// TestProcessOutputParses: what process prints is a kubevirt.io/v1 VirtualMachine with the
// parameters applied (VMT-006 expected result), in both formats.
func TestProcessOutputParses(t *testing.T) {
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			res := run(t, invocation{}, "template", "process", "-f", "testdata/fedora.yaml",
				"-p", "NAME=vm-b", "-p", "CPU_CORES=4", "-o", format)
			expectSuccess(t, res, unusedWarning+
				`Start the VirtualMachine with "virtctl start vm-b"; log in as fedora/yecr79hr.`+"\n")
			vm := &kubevirtv1.VirtualMachine{}
			if err := yaml.UnmarshalStrict([]byte(res.stdout), vm); err != nil {
				t.Fatal(err)
			}
			if vm.APIVersion != "kubevirt.io/v1" || vm.Kind != "VirtualMachine" || vm.Name != "vm-b" || vm.Namespace != "" {
				t.Errorf("got %s %s %s/%s", vm.APIVersion, vm.Kind, vm.Namespace, vm.Name)
			}
			if cores := vm.Spec.Template.Spec.Domain.CPU.Cores; cores != 4 {
				t.Errorf("cores %d, want 4", cores)
			}
		})
	}
}

// TestPrintParams prints the parameter list, not a table, from a file and from the cluster;
// --params-file is not even read.
func TestPrintParams(t *testing.T) {
	t.Run("file yaml", func(t *testing.T) {
		res := run(t, invocation{}, "template", "process", "-f", "testdata/fedora.yaml", "--print-params",
			"--params-file", "testdata/missing.yaml")
		expectSuccess(t, res, "")
		golden(t, "params.yaml", res.stdout)
	})
	t.Run("file json", func(t *testing.T) {
		res := run(t, invocation{}, "template", "process", "-f", "testdata/fedora.yaml", "--print-params", "-o", "json")
		expectSuccess(t, res, "")
		golden(t, "params.json", res.stdout)
	})
	t.Run("cluster", func(t *testing.T) {
		api := newFakeAPI(t, exchange{
			method: http.MethodGet, path: vmtPath, status: http.StatusOK, response: testdataJSON(t, "fedora.yaml"),
		})
		res := run(t, invocation{rest: api}, "template", "process", "fedora", "--print-params")
		expectSuccess(t, res, "")
		golden(t, "params.yaml", res.stdout)
	})
	t.Run("cluster not found", func(t *testing.T) {
		api := newFakeAPI(t, exchange{
			method: http.MethodGet, path: vmtPath, status: http.StatusNotFound,
			response: apierrors.NewNotFound(schema.GroupResource{Group: "template.kubevirt.io", Resource: "virtualmachinetemplates"}, "fedora"),
		})
		res := run(t, invocation{rest: api}, "template", "process", "--name", "fedora", "--print-params")
		expectFailure(t, res, `error printing template parameters: error fetching remote VirtualMachineTemplate tpl/fedora: virtualmachinetemplates.template.kubevirt.io "fedora" not found`)
	})
}

// processedVMA is what a server answers to /process of fedora with NAME=vm-a.
func processedVMA(t *testing.T) *subresourcesv1beta1.ProcessedVirtualMachineTemplate {
	t.Helper()
	vm := &kubevirtv1.VirtualMachine{}
	if err := yaml.UnmarshalStrict([]byte(readTestdata(t, "golden/vm-a.yaml")), vm); err != nil {
		t.Fatal(err)
	}
	return &subresourcesv1beta1.ProcessedVirtualMachineTemplate{
		TypeMeta:       metav1.TypeMeta{APIVersion: "subresources.template.kubevirt.io/v1beta1", Kind: "ProcessedVirtualMachineTemplate"},
		TemplateRef:    &corev1.ObjectReference{Namespace: "tpl", Name: "fedora"},
		VirtualMachine: vm,
		Message:        fedoraMessage[:len(fedoraMessage)-1],
	}
}

// parameters checks the ProcessOptions body: apiVersion and kind of the subresource group,
// and exactly the given parameters (none: no parameters key).
func parameters(want map[string]string) func(*testing.T, map[string]any) {
	return func(t *testing.T, body map[string]any) {
		t.Helper()
		if body["apiVersion"] != "subresources.template.kubevirt.io/v1beta1" || body["kind"] != "ProcessOptions" {
			t.Errorf("body %v is not a subresources.template.kubevirt.io/v1beta1 ProcessOptions", body)
		}
		got, present := body["parameters"]
		if want == nil {
			if present {
				t.Errorf("body %v has parameters, want none", body)
			}
			return
		}
		wantAny := map[string]any{}
		for k, v := range want {
			wantAny[k] = v
		}
		if !reflect.DeepEqual(got, wantAny) {
			t.Errorf("parameters %v, want %v", got, want)
		}
	}
}

// TestProcessServerSide: a name without --local POSTs ProcessOptions to /process of the
// v1beta1 subresource group in the current namespace (VMT-006 step 1); the VM is printed
// as the server sent it, API warnings and the message go to stderr.
func TestProcessServerSide(t *testing.T) {
	t.Run("parameters and warning", func(t *testing.T) {
		api := newFakeAPI(t, exchange{
			method: http.MethodPost, path: processPath, checkBody: parameters(map[string]string{"NAME": "vm-a"}),
			status: http.StatusOK, response: processedVMA(t),
			warnings: []string{"spec.parameters[4].name: UNUSED is defined but never referenced"},
		})
		res := run(t, invocation{rest: api}, "template", "process", "fedora", "-p", "NAME=vm-a")
		expectSuccess(t, res, unusedWarning+fedoraMessage)
		golden(t, "vm-a.yaml", res.stdout)
	})
	t.Run("no parameters still sends a body", func(t *testing.T) {
		api := newFakeAPI(t, exchange{
			method: http.MethodPost, path: processPath, checkBody: parameters(nil),
			status: http.StatusOK, response: processedVMA(t),
		})
		res := run(t, invocation{rest: api}, "template", "process", "--name", "fedora", "-o", "json")
		expectSuccess(t, res, fedoraMessage)
		golden(t, "vm-a.json", res.stdout)
	})
	t.Run("params file", func(t *testing.T) {
		api := newFakeAPI(t, exchange{
			method: http.MethodPost, path: processPath,
			checkBody: parameters(map[string]string{"NAME": "vm-a", "CPU_CORES": "2"}),
			status:    http.StatusOK, response: processedVMA(t),
		})
		res := run(t, invocation{rest: api}, "template", "process", "fedora", "--params-file", "testdata/params.yaml")
		expectSuccess(t, res, fedoraMessage)
	})
	t.Run("namespace flag", func(t *testing.T) {
		api := newFakeAPI(t, exchange{
			method:    http.MethodPost,
			path:      "/apis/subresources.template.kubevirt.io/v1beta1/namespaces/shared/virtualmachinetemplates/fedora/process",
			checkBody: parameters(nil), status: http.StatusOK, response: processedVMA(t),
		})
		res := run(t, invocation{rest: api}, "-n", "shared", "template", "process", "fedora")
		expectSuccess(t, res, fedoraMessage)
	})
	t.Run("no virtualMachine in the answer", func(t *testing.T) {
		api := newFakeAPI(t, exchange{
			method: http.MethodPost, path: processPath, checkBody: parameters(nil),
			status: http.StatusOK, response: map[string]any{"message": "m"},
		})
		res := run(t, invocation{rest: api}, "template", "process", "fedora")
		expectFailure(t, res, "error processing remote VirtualMachineTemplate tpl/fedora: the response carries no virtualMachine")
	})
}

// TestProcessServerErrors: each status upstream's server answers with surfaces as one line
// with the server's message and exit code 1, for /process and /create.
func TestProcessServerErrors(t *testing.T) {
	invalid := engine.StatusError("fedora", &engine.InvalidError{Stage: engine.StageProcessing, Errors: field.ErrorList{
		field.Required(field.NewPath("spec", "parameters").Index(0).Child("value"),
			"parameter 'NAME' is required and a value must be specified"),
	}})
	cases := []struct {
		name     string
		status   int
		response any
		want     string
	}{
		{
			name: "409 unknown parameter", status: http.StatusConflict,
			response: engine.StatusError("fedora", &engine.UnknownParameterError{Name: "NOPE"}),
			want:     `Operation cannot be fulfilled on  "fedora": parameter NOPE not found in template`,
		},
		{
			name: "422 invalid", status: http.StatusUnprocessableEntity, response: invalid,
			want: ` "fedora" is invalid: spec.parameters[0].value: Required value: parameter 'NAME' is required and a value must be specified`,
		},
		{
			name: "500 template missing", status: http.StatusInternalServerError,
			response: apierrors.NewInternalError(errorString(`error getting VirtualMachineTemplate: virtualmachinetemplates.template.kubevirt.io "fedora" not found`)),
			want:     `Internal error occurred: error getting VirtualMachineTemplate: virtualmachinetemplates.template.kubevirt.io "fedora" not found`,
		},
		{
			name: "403 forbidden", status: http.StatusForbidden,
			response: apierrors.NewForbidden(schema.GroupResource{Group: "subresources.template.kubevirt.io", Resource: "virtualmachinetemplates/process"},
				"fedora", errorString(`User "alice" cannot create resource "virtualmachinetemplates/process" in API group "subresources.template.kubevirt.io" in the namespace "tpl"`)),
			want: `virtualmachinetemplates/process.subresources.template.kubevirt.io "fedora" is forbidden: User "alice" cannot create resource`,
		},
		{
			// A proxy in front of the API server answering with plain text.
			name: "503 not a Status", status: http.StatusServiceUnavailable, response: "service unavailable",
			want: `the server is currently unable to handle the request`,
		},
	}
	for _, tc := range cases {
		for _, sub := range []struct{ flag, path, prefix string }{
			{"", processPath, "error processing remote VirtualMachineTemplate tpl/fedora: "},
			{"--create", createPath, "error creating VirtualMachine from remote VirtualMachineTemplate tpl/fedora: "},
		} {
			t.Run(tc.name+sub.flag, func(t *testing.T) {
				api := newFakeAPI(t, exchange{
					method: http.MethodPost, path: sub.path, checkBody: parameters(map[string]string{"NAME": "vm-a"}),
					status: tc.status, response: tc.response,
				})
				args := []string{"template", "process", "fedora", "-p", "NAME=vm-a"}
				if sub.flag != "" {
					args = append(args, sub.flag)
				}
				expectFailure(t, run(t, invocation{rest: api}, args...), sub.prefix+tc.want)
			})
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// TestProcessCreate: --create POSTs to /create and prints only the "created" line; the
// message and the VM are not printed, warnings are.
func TestProcessCreate(t *testing.T) {
	created := processedVMA(t)
	created.VirtualMachine.Namespace = "tpl"
	created.VirtualMachine.UID = "0f0e0d0c"
	api := newFakeAPI(t, exchange{
		method: http.MethodPost, path: createPath,
		checkBody: parameters(map[string]string{"NAME": "vm-a", "CPU_CORES": "2"}),
		status:    http.StatusOK, response: created,
		warnings: []string{"spec.parameters[4].name: UNUSED is defined but never referenced"},
	})
	res := run(t, invocation{rest: api}, "template", "process", "fedora", "--create", "-p", "NAME=vm-a", "-p", "CPU_CORES=2")
	expectSuccess(t, res, unusedWarning)
	if want := "virtualmachine.kubevirt.io/vm-a created\n"; res.stdout != want {
		t.Errorf("stdout %q, want %q", res.stdout, want)
	}
}

// TestProcessLocalFromCluster: --local GETs the v1beta1 template and processes it here; the
// result equals processing the file (VMT-006: server and local agree but for generated
// values, which the seeded generator pins here).
func TestProcessLocalFromCluster(t *testing.T) {
	api := newFakeAPI(t, exchange{
		method: http.MethodGet, path: vmtPath, status: http.StatusOK, response: testdataJSON(t, "fedora.yaml"),
	})
	res := run(t, invocation{rest: api}, "template", "process", "fedora", "--local", "-p", "NAME=vm-a")
	expectSuccess(t, res, unusedWarning+fedoraMessage)
	golden(t, "vm-a.yaml", res.stdout)

	t.Run("not found", func(t *testing.T) {
		api := newFakeAPI(t, exchange{
			method: http.MethodGet, path: vmtPath, status: http.StatusNotFound,
			response: apierrors.NewNotFound(schema.GroupResource{Group: "template.kubevirt.io", Resource: "virtualmachinetemplates"}, "fedora"),
		})
		res := run(t, invocation{rest: api}, "template", "process", "fedora", "--local")
		expectFailure(t, res, `error fetching remote VirtualMachineTemplate tpl/fedora: virtualmachinetemplates.template.kubevirt.io "fedora" not found`)
	})
}

// TestProcessedVMAGolden guards the fake server's canned answer: it must be a valid
// ProcessedVirtualMachineTemplate as JSON.
func TestProcessedVMAGolden(t *testing.T) {
	data, err := json.Marshal(processedVMA(t))
	if err != nil {
		t.Fatal(err)
	}
	out := &subresourcesv1beta1.ProcessedVirtualMachineTemplate{}
	if err := json.Unmarshal(data, out); err != nil || out.VirtualMachine.Name != "vm-a" {
		t.Fatalf("round trip: %v, %+v", err, out)
	}
}
