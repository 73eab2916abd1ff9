package virtctl

import (
	"testing"
)

// TestRefusedInvocations covers every flag combination and input upstream virtctl refuses,
// with its message. None of them may reach the cluster (deadCluster) or write to stdout.
func TestRefusedInvocations(t *testing.T) {
	const tpl = "testdata/fedora.yaml"
	exclusive := func(a, b string) string {
		return "if any flags in the group [" + a + " " + b + "] are set none of the others can be; [" +
			a + " " + b + "] were all set"
	}
	cases := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		// process: mutual exclusions declared on the flags.
		{"process file and name", []string{"template", "process", "-f", tpl, "--name", "fedora"}, "", exclusive("file", "name")},
		{"process file and local", []string{"template", "process", "-f", tpl, "--local"}, "", exclusive("file", "local")},
		{"process param and params-file", []string{"template", "process", "fedora", "-p", "A=1", "--params-file", "testdata/params.yaml"}, "", exclusive("param", "params-file")},
		{"process create and file", []string{"template", "process", "--create", "-f", tpl}, "", exclusive("create", "file")},
		{"process create and local", []string{"template", "process", "fedora", "--create", "--local"}, "", exclusive("create", "local")},
		{"process create and print-params", []string{"template", "process", "fedora", "--create", "--print-params"}, "", exclusive("create", "print-params")},
		// process: checks of the positional name.
		{"process positional and file", []string{"template", "process", "fedora", "-f", tpl}, "", "only one of name or file can be provided"},
		{"process positional and name", []string{"template", "process", "fedora", "--name", "other"}, "", "provide name either from positional argument or from flag"},
		{"process no source", []string{"template", "process", "-p", "NAME=a"}, "", "name or file must be provided"},
		{"process two positionals", []string{"template", "process", "a", "b"}, "", "accepts between 0 and 1 arg(s), received 2"},
		// process: values.
		{"process output table", []string{"template", "process", "-f", tpl, "-o", "table"}, "", "not supported output format: table"},
		{"process output uppercase", []string{"template", "process", "fedora", "-o", "YAML"}, "", "not supported output format: YAML"},
		{"process param without =", []string{"template", "process", "-f", tpl, "-p", "NAME"}, "", `invalid argument "NAME" for "-p, --param" flag: NAME must be formatted as key=value`},
		{"process unknown flag", []string{"template", "process", "-f", tpl, "--bogus"}, "", "unknown flag: --bogus"},
		// process: unreadable or malformed input.
		{"process missing file", []string{"template", "process", "-f", "testdata/missing.yaml"}, "", "error opening file testdata/missing.yaml: open testdata/missing.yaml: no such file or directory"},
		{"process directory", []string{"template", "process", "-f", "testdata"}, "", "error decoding VirtualMachineTemplate: read testdata: is a directory"},
		{"process malformed yaml", []string{"template", "process", "-f", "testdata/malformed.yaml"}, "", "error decoding VirtualMachineTemplate: error converting YAML to JSON: yaml: line 4:"},
		{"process empty file", []string{"template", "process", "-f", "testdata/empty.yaml"}, "", "error decoding VirtualMachineTemplate: EOF"},
		{"process empty stdin", []string{"template", "process", "-f", "-"}, "", "error decoding VirtualMachineTemplate: EOF"},
		{"process garbage stdin", []string{"template", "process", "-f", "-"}, "{not json", "error decoding VirtualMachineTemplate: "},
		{"process missing params file", []string{"template", "process", "-f", tpl, "--params-file", "testdata/missing.yaml"}, "", "error reading params file: open testdata/missing.yaml: no such file or directory"},
		{"process params file not a dictionary", []string{"template", "process", "-f", tpl, "--params-file", "testdata/params-list.yaml"}, "", "error reading params file: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]string"},
		{"process empty params file", []string{"template", "process", "-f", tpl, "--params-file", "testdata/empty.yaml"}, "", "error reading params file: EOF"},
		{"process print-params missing file", []string{"template", "process", "--print-params", "-f", "testdata/missing.yaml"}, "", "error printing template parameters: error opening file testdata/missing.yaml: "},
		// convert.
		{"convert file and name", []string{"template", "convert", "-f", "x.yaml", "--name", "fedora"}, "", exclusive("file", "name")},
		{"convert positional and file", []string{"template", "convert", "fedora", "-f", "x.yaml"}, "", "only one of name or file can be provided"},
		{"convert positional and name", []string{"template", "convert", "fedora", "--name", "other"}, "", "provide name either from positional argument or from flag"},
		{"convert no source", []string{"template", "convert"}, "", "name or file must be provided"},
		{"convert output", []string{"template", "convert", "-f", "testdata/openshift-fedora.yaml", "-o", "wide"}, "", "not supported output format: wide"},
		{"convert two positionals", []string{"template", "convert", "a", "b"}, "", "accepts between 0 and 1 arg(s), received 2"},
		{"convert missing file", []string{"template", "convert", "-f", "testdata/missing.yaml"}, "", "error opening file testdata/missing.yaml: "},
		{"convert malformed", []string{"template", "convert", "-f", "testdata/malformed.yaml"}, "", "error decoding Template: error converting YAML to JSON: yaml: line 4:"},
		{"convert empty stdin", []string{"template", "convert", "-f", "-"}, "", "error decoding Template: EOF"},
		// create.
		{"create without vm-name", []string{"template", "create", "--name", "fedora"}, "", `required flag(s) "vm-name" not set`},
		{"create positional", []string{"template", "create", "golden", "--vm-name", "golden"}, "", `unknown command "golden" for "vmt-virtctl template create"`},
		{"create unknown flag", []string{"template", "create", "--vm-name", "golden", "--from-vm", "ns/vm"}, "", "unknown flag: --from-vm"},
		// root.
		{"unknown command", []string{"template", "render"}, "", `unknown command "render" for "vmt-virtctl template"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expectFailure(t, run(t, invocation{stdin: tc.stdin}, tc.args...), tc.want)
		})
	}
}

// TestLocalProcessingErrors: engine refusals surface with upstream virtctl's prefixes; the
// reference warnings computed before a failure still reach stderr.
func TestLocalProcessingErrors(t *testing.T) {
	const undefined = `apiVersion: template.kubevirt.io/v1beta1
kind: VirtualMachineTemplate
metadata: {name: broken}
spec:
  virtualMachine:
    metadata: {name: "${NAME}"}
`
	cases := []struct {
		name         string
		args         []string
		stdin        string
		wantWarnings string
		want         string
	}{
		{
			name: "unknown parameter",
			args: []string{"-f", "testdata/fedora.yaml", "-p", "NAME=a", "-p", "NOPE=1"},
			want: "error merging template parameters: parameter NOPE not found in template",
		},
		{
			name:         "required parameter missing",
			args:         []string{"-f", "testdata/fedora.yaml"},
			wantWarnings: "Warning: spec.parameters[4].name: UNUSED is defined but never referenced\n",
			want:         "error processing VirtualMachineTemplate locally: spec.parameters[0].value: Required value: parameter 'NAME' is required and a value must be specified",
		},
		{
			name:  "undefined reference",
			args:  []string{"-f", "-"},
			stdin: undefined,
			want:  `error validating template parameters: spec.virtualMachine: Invalid value: "NAME": references undefined parameter NAME`,
		},
		{
			name: "not a number for a typed parameter",
			args: []string{"-f", "testdata/fedora.yaml", "-p", "NAME=a", "-p", "CPU_CORES=two"},
			// Warnings first, then the one-line error.
			wantWarnings: "Warning: spec.parameters[4].name: UNUSED is defined but never referenced\n",
			want:         "error processing VirtualMachineTemplate locally: spec.virtualMachine: Invalid value:",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, invocation{stdin: tc.stdin}, append([]string{"template", "process"}, tc.args...)...)
			if len(res.stderr) < len(tc.wantWarnings) || res.stderr[:len(tc.wantWarnings)] != tc.wantWarnings {
				t.Fatalf("stderr %q, want it to start with the warnings %q", res.stderr, tc.wantWarnings)
			}
			res.stderr = res.stderr[len(tc.wantWarnings):]
			expectFailure(t, res, tc.want)
		})
	}
}
