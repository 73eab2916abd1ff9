package engine

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// processCase is one rule of virt-template.md §3.2 (steps 3-5) and §4, run through
// Processor.Process as upstream's /process runs it.
type processCase struct {
	name    string
	tpl     *v1beta1.VirtualMachineTemplate
	message string            // template message
	values  map[string]string // ProcessOptions.parameters

	want      map[string]any // dotted path in the rendered VM -> value (nil: absent)
	wantMsg   string
	warnings  []string
	err       string // exact Error() of the engine error; "" = success
	errPrefix bool   // err is only a prefix (messages that embed the whole VM)
	errSuffix string // and this suffix
	stage     Stage  // for *InvalidError
}

func TestProcessRules(t *testing.T) {
	const typedVM = `
metadata:
  name: vm
spec:
  runStrategy: ${{RS}}
  template:
    metadata:
      labels: ${{LABELS}}
    spec:
      domain:
        cpu:
          cores: ${{CORES}}
        devices:
          autoattachSerialConsole: ${{CONSOLE}}
          disks: ${{DISKS}}
`
	typedParams := func(rs string) []v1beta1.Parameter {
		return []v1beta1.Parameter{
			param("RS", rs), param("LABELS", `{"app":"web","tier":"front"}`), param("CORES", "4"),
			param("CONSOLE", "false"), param("DISKS", `[{"name":"root","disk":{"bus":"virtio"}}]`),
		}
	}
	labelVM := func(labels string) string {
		return "metadata:\n  name: vm\n  labels:\n" + labels + "\nspec:\n  template:\n    spec:\n      domain:\n        devices: {}\n"
	}

	cases := []processCase{
		// §4.1 syntax
		{
			name: "4.1 ${X} substitutes anywhere in a string, repeatedly, with prefix and suffix",
			tpl:  templateOf(t, labelVM(`    a: pre-${A}-${B}-${A}-post`), param("A", "x"), param("B", "y")),
			want: map[string]any{"metadata.labels.a": "pre-x-y-x-post"},
		},
		{
			name: "4.1 references need letters, digits or underscore: ${a-b} and ${ A } stay literal",
			tpl:  templateOf(t, labelVM(`    a: "${a-b}"`+"\n"+`    b: "${ A }/${A_1}"`), param("A_1", "z")),
			want: map[string]any{"metadata.labels.a": "${a-b}", "metadata.labels.b": "${ A }/z"},
		},
		{
			name: "4.1 ${{X}} decodes the value as JSON: numbers, booleans, objects, arrays",
			tpl:  templateOf(t, typedVM, typedParams(`"Halted"`)...),
			want: map[string]any{
				"spec.runStrategy":                                          "Halted",
				"spec.template.metadata.labels":                             map[string]any{"app": "web", "tier": "front"},
				"spec.template.spec.domain.cpu.cores":                       float64(4),
				"spec.template.spec.domain.devices.autoattachSerialConsole": false,
				"spec.template.spec.domain.devices.disks.0.name":            "root",
			},
		},
		{
			name: "4.1 ${{X}} whose value is not JSON stays a string",
			tpl:  templateOf(t, typedVM, typedParams("Manual")...),
			want: map[string]any{"spec.runStrategy": "Manual"},
		},
		{
			name:  "4.1 ${{X}} with JSON null is an error",
			tpl:   templateOf(t, labelVM(`    a: "${{N}}"`), param("N", "null")),
			err:   `spec.parameters: Invalid value: [{"name":"N","value":"null"}]: error processing template: cannot assign nil value to target type interface {}`,
			stage: StageProcessing,
		},
		{
			name:     "4.1 ${{X}} inside a longer string is literal and X counts as unreferenced",
			tpl:      templateOf(t, labelVM(`    a: x-${{N}}`), param("N", "1")),
			want:     map[string]any{"metadata.labels.a": "x-${{N}}"},
			warnings: []string{"spec.parameters[0].name: N is defined but never referenced"},
		},
		{
			name: "4.1 map keys are substituted",
			tpl:  templateOf(t, labelVM(`    "${K}": v`+"\n"+`    "${{Q}}": w`), param("K", "team"), param("Q", `"quoted"`)),
			want: map[string]any{"metadata.labels.team": "v", "metadata.labels.quoted": "w", "metadata.labels.${K}": nil},
		},
		{
			name: "4.1 a ${{X}} key whose value is not JSON becomes that text",
			tpl:  templateOf(t, labelVM(`    "${{K}}": v`), param("K", "plain")),
			want: map[string]any{"metadata.labels.plain": "v"},
		},
		{
			name:  "4.1 a ${{X}} key must decode to a string",
			tpl:   templateOf(t, labelVM(`    "${{K}}": v`), param("K", "5")),
			err:   `spec.parameters: Invalid value: [{"name":"K","value":"5"}]: error processing template: substituted value type float64 is not assignable to target type string`,
			stage: StageProcessing,
		},
		{
			name:  "4.1 a ${{X}} key with JSON null is an error",
			tpl:   templateOf(t, labelVM(`    "${{K}}": v`), param("K", "null")),
			err:   `spec.parameters: Invalid value: [{"name":"K","value":"null"}]: error processing template: cannot assign nil value to target type string`,
			stage: StageProcessing,
		},
		{
			name:    "4.1 the message is substituted",
			tpl:     templateOf(t, minimalVM, param("NAME", "vm-a"), param("USER", "fedora")),
			message: "Log in to ${NAME} as ${USER}.",
			wantMsg: "Log in to vm-a as fedora.",
		},
		{
			name: "4.1 a value containing a reference shifts later replacements (upstream's replace-first-occurrence)",
			tpl:  templateOf(t, labelVM(`    a: ${A}-${B}`), param("A", "${B}"), param("B", "b")),
			want: map[string]any{"metadata.labels.a": "b-${B}"},
		},
		// §3.2 step 3: merge
		{
			name:   "3.2 an unknown parameter key is a conflict",
			tpl:    templateOf(t, minimalVM, param("NAME", "vm")),
			values: map[string]string{"NOPE": "1"},
			err:    "parameter NOPE not found in template",
		},
		{
			name:   "3.2 with several unknown keys the alphabetically first is reported",
			tpl:    templateOf(t, minimalVM, param("NAME", "vm")),
			values: map[string]string{"ZED": "1", "ALPHA": "2", "NAME": "x"},
			err:    "parameter ALPHA not found in template",
		},
		{
			name:   "4.2 a supplied value replaces the template's value",
			tpl:    templateOf(t, minimalVM, param("NAME", "default")),
			values: map[string]string{"NAME": "given"},
			want:   map[string]any{"metadata.name": "given"},
		},
		{
			name:   "4.2 a supplied value suppresses the generator",
			tpl:    templateOf(t, minimalVM, generated("NAME", "vm-[a-z]{5}")),
			values: map[string]string{"NAME": "given"},
			want:   map[string]any{"metadata.name": "given"},
		},
		// §3.2 step 4: references
		{
			name:  "3.2 a reference to an undeclared parameter is invalid",
			tpl:   templateOf(t, minimalVM),
			err:   `spec.virtualMachine: Invalid value: "NAME": references undefined parameter NAME`,
			stage: StageReferences,
		},
		{
			name:    "3.2 an undeclared parameter used only in the message is reported on spec.virtualMachine too",
			tpl:     templateOf(t, minimalVM, param("NAME", "vm")),
			message: "hello ${WHO}",
			err:     `spec.virtualMachine: Invalid value: "WHO": references undefined parameter WHO`,
			stage:   StageReferences,
		},
		{
			name:     "3.2 several undeclared parameters are all reported, sorted, and warnings still come",
			tpl:      templateOf(t, labelVM(`    a: ${Y}${{X}}`+"\n"+`    b: "${{X}}"`), param("UNUSED", "u")),
			warnings: []string{"spec.parameters[0].name: UNUSED is defined but never referenced"},
			err:      `[spec.virtualMachine: Invalid value: "X": references undefined parameter X, spec.virtualMachine: Invalid value: "Y": references undefined parameter Y]`,
			stage:    StageReferences,
		},
		{
			name:     "3.2 a declared but unused parameter is a warning, not an error",
			tpl:      templateOf(t, minimalVM, param("NAME", "vm"), param("EXTRA", "e")),
			want:     map[string]any{"metadata.name": "vm"},
			warnings: []string{"spec.parameters[1].name: EXTRA is defined but never referenced"},
		},
		{
			name:  "3.2 a missing VirtualMachine fails the reference check",
			tpl:   templateOf(t, "", param("NAME", "vm")),
			err:   `spec.virtualMachine: Invalid value: null: virtualMachine is required and cannot be empty`,
			stage: StageReferences,
		},
		// §3.2 step 5 / §4.2 processing order
		{
			name:     "4.2 an empty parameter name is invalid",
			tpl:      templateOf(t, minimalVM, param("", "x"), param("NAME", "vm")),
			warnings: []string{"spec.parameters[0].name:  is defined but never referenced"},
			err:      `spec.parameters[0].name: Invalid value: "": parameter name is empty`,
			stage:    StageProcessing,
		},
		{
			name:  "4.2 a duplicate parameter name is invalid",
			tpl:   templateOf(t, minimalVM, param("NAME", "a"), param("NAME", "b")),
			err:   `spec.parameters[1].name: Duplicate value: "NAME"`,
			stage: StageProcessing,
		},
		{
			name:  "4.2 an unknown generator is invalid",
			tpl:   templateOf(t, minimalVM, v1beta1.Parameter{Name: "NAME", Generate: "random", From: "[a-z]{3}"}),
			err:   `spec.parameters[0].generate: Invalid value: "random": unknown generator name 'random' for parameter 'NAME'`,
			stage: StageProcessing,
		},
		{
			name:  "4.2 a generator needs from",
			tpl:   templateOf(t, minimalVM, generated("NAME", "")),
			err:   `spec.parameters[0].from: Invalid value: "": from cannot be empty for parameter 'NAME' using generator 'expression'`,
			stage: StageProcessing,
		},
		{
			name:  "4.3 a generator error is reported on from",
			tpl:   templateOf(t, minimalVM, generated("NAME", "[a-z]{0}")),
			err:   `spec.parameters[0].from: Invalid value: "[a-z]{0}": range must be within [1-255] characters: 0`,
			stage: StageProcessing,
		},
		{
			name:  "4.2 a required parameter without value is invalid",
			tpl:   templateOf(t, minimalVM, required(param("NAME", ""))),
			err:   `spec.parameters[0].value: Required value: parameter 'NAME' is required and a value must be specified`,
			stage: StageProcessing,
		},
		{
			name:   "4.2 an empty supplied value makes a required parameter fail",
			tpl:    templateOf(t, minimalVM, required(param("NAME", "default"))),
			values: map[string]string{"NAME": ""},
			err:    `spec.parameters[0].value: Required value: parameter 'NAME' is required and a value must be specified`,
			stage:  StageProcessing,
		},
		{
			name: "4.2 a required parameter may have a default value",
			tpl:  templateOf(t, minimalVM, required(param("NAME", "default"))),
			want: map[string]any{"metadata.name": "default"},
		},
		{
			name:   "4.2 an empty supplied value lets the generator run, satisfying required",
			tpl:    templateOf(t, minimalVM, required(v1beta1.Parameter{Name: "NAME", Value: "default", Generate: GeneratorExpression, From: "gen-[0]{3}"})),
			values: map[string]string{"NAME": ""},
			want:   map[string]any{"metadata.name": "gen-000"},
		},
		{
			name:  "4.2 parameters are checked in order: the first failing one is reported",
			tpl:   templateOf(t, minimalVM, required(param("NAME", "")), param("NAME", "dup")),
			err:   `spec.parameters[0].value: Required value: parameter 'NAME' is required and a value must be specified`,
			stage: StageProcessing,
		},
		{
			name: "4.2 an optional parameter without value substitutes the empty string",
			tpl:  templateOf(t, labelVM(`    a: x${OPT}y`), param("OPT", "")),
			want: map[string]any{"metadata.labels.a": "xy"},
		},
		{
			name: "4.2 a literal namespace is dropped",
			tpl:  templateOf(t, "metadata:\n  name: vm\n  namespace: hard-coded\nspec:\n  template:\n    spec:\n      domain:\n        devices: {}\n"),
			want: map[string]any{"metadata.namespace": nil},
		},
		{
			name: "4.2 a namespace with ${X} is kept and substituted",
			tpl:  templateOf(t, "metadata:\n  name: vm\n  namespace: team-${NS}\nspec:\n  template:\n    spec:\n      domain:\n        devices: {}\n", param("NS", "a")),
			want: map[string]any{"metadata.namespace": "team-a"},
		},
		{
			name: "4.2 a namespace with ${{X}} is dropped",
			tpl:  templateOf(t, "metadata:\n  name: vm\n  namespace: ${{NS}}\nspec:\n  template:\n    spec:\n      domain:\n        devices: {}\n", param("NS", "a")),
			want: map[string]any{"metadata.namespace": nil},
		},
		{
			name:      "4.2 an unknown field fails the strict conversion",
			tpl:       templateOf(t, minimalVM+"  bogus: 1\n", param("NAME", "vm")),
			err:       `spec.virtualMachine: Invalid value: {"metadata":{"name":"vm"},"spec":{"bogus":1,`,
			errPrefix: true,
			errSuffix: `}: failed to convert unstructured object to VirtualMachine: strict decoding error: unknown field "spec.bogus"`,
			stage:     StageProcessing,
		},
		{
			name:      "4.2 a wrong type fails the conversion with encoding/json's message",
			tpl:       templateOf(t, "metadata:\n  name: vm\nspec:\n  template:\n    spec:\n      domain:\n        cpu:\n          cores: ${CORES}\n        devices: {}\n", param("CORES", "two")),
			err:       `spec.virtualMachine: Invalid value: {"metadata":{"name":"vm"},`,
			errPrefix: true,
			errSuffix: `}: failed to convert unstructured object to VirtualMachine: json: cannot unmarshal string into Go struct field CPU.domain.cpu.cores of type uint32`,
			stage:     StageProcessing,
		},
		{
			// KubeVirt's VirtualMachineInstanceSpec has its own non-strict UnmarshalJSON, which
			// the strict converter defers to.
			name: "4.2 unknown fields below spec.template.spec are dropped silently (upstream quirk)",
			tpl:  templateOf(t, minimalVM+"      bogus: 1\n", param("NAME", "vm")),
			want: map[string]any{"spec.template.spec.bogus": nil, "metadata.name": "vm"},
		},
		{
			name: "4.2 apiVersion and kind are forced, whatever the template says",
			tpl:  templateOf(t, "apiVersion: v1\nkind: Pod\n"+minimalVM, param("NAME", "vm")),
			want: map[string]any{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine"},
		},
		{
			name: "4.2 apiVersion and kind are set when the template has none",
			tpl:  templateOf(t, minimalVM, param("NAME", "vm")),
			want: map[string]any{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine"},
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.tpl.Spec.Message = tc.message
			before := tc.tpl.DeepCopy()
			res, err := Processor{Rand: newSeeded(1)}.Process(tc.tpl, tc.values)
			if !reflect.DeepEqual(before, tc.tpl) {
				t.Errorf("Process modified the template")
			}
			var warnings []string
			if res != nil {
				warnings = res.Warnings
			}
			if !reflect.DeepEqual(warnings, tc.warnings) {
				t.Errorf("warnings = %q, want %q", warnings, tc.warnings)
			}
			checkError(t, err, tc)
			if tc.err != "" {
				return
			}
			if res.VirtualMachine == nil {
				t.Fatal("no VirtualMachine")
			}
			for path, want := range tc.want {
				if got := pathOf(t, res.VirtualMachine, path); !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", path, got, want)
				}
			}
			if res.Message != tc.wantMsg {
				t.Errorf("message = %q, want %q", res.Message, tc.wantMsg)
			}
		})
	}
}

func checkError(t *testing.T, err error, tc processCase) {
	t.Helper()
	if tc.err == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %q", tc.err)
	}
	got := err.Error()
	switch {
	case tc.errPrefix:
		if !strings.HasPrefix(got, tc.err) || !strings.HasSuffix(got, tc.errSuffix) {
			t.Errorf("error = %q\nwant prefix %q\nand suffix %q", got, tc.err, tc.errSuffix)
		}
	case got != tc.err:
		t.Errorf("error = %q\nwant        %q", got, tc.err)
	}
	var inv *InvalidError
	var unknown *UnknownParameterError
	switch {
	case tc.stage == "":
		if !errors.As(err, &unknown) {
			t.Errorf("error is %T, want *UnknownParameterError", err)
		}
	case !errors.As(err, &inv):
		t.Errorf("error is %T, want *InvalidError", err)
	case inv.Stage != tc.stage:
		t.Errorf("stage = %s, want %s", inv.Stage, tc.stage)
	}
}
