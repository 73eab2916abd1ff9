package engine

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml from the current output")

// goldenInput is testdata/<case>.input.yaml.
type goldenInput struct {
	Seed       uint64                         `json:"seed"`
	Parameters map[string]string              `json:"parameters,omitempty"`
	Template   v1beta1.VirtualMachineTemplate `json:"template"`
}

// goldenOutput is testdata/<case>.golden.yaml: what /process would answer.
type goldenOutput struct {
	VirtualMachine *kubevirtv1.VirtualMachine `json:"virtualMachine,omitempty"`
	Message        string                     `json:"message,omitempty"`
	Warnings       []string                   `json:"warnings,omitempty"`
	Error          string                     `json:"error,omitempty"`
	Status         int32                      `json:"status,omitempty"`
}

// TestGolden processes every testdata/*.input.yaml with a seeded generator and compares
// with testdata/*.golden.yaml. Run `go test ./reference/engine -run TestGolden -update`
// after an intended change and review the diff.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.input.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input.yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var input goldenInput
			if err := yaml.UnmarshalStrict(data, &input); err != nil {
				t.Fatal(err)
			}
			res, err := Processor{Rand: newSeeded(input.Seed)}.Process(&input.Template, input.Parameters)
			var out goldenOutput
			if res != nil {
				out.VirtualMachine, out.Message, out.Warnings = res.VirtualMachine, res.Message, res.Warnings
			}
			if err != nil {
				out.Error = err.Error()
				out.Status = StatusError(input.Template.Name, err).Status().Code
			}
			got, err := yaml.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (run with -update and review the diff):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}
