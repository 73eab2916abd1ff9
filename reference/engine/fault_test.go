package engine

import (
	"testing"
)

// TestFaultIgnoreParameterDefaults: the deliberate bug of reference/faults drops declared
// values only; the caller's values and the generators still apply, and the template itself
// is not modified.
func TestFaultIgnoreParameterDefaults(t *testing.T) {
	const vm = `
metadata:
  name: ${NAME}
  labels:
    tier: ${TIER}
    owner: ${OWNER}
    suffix: ${SUFFIX}
spec:
  template:
    spec:
      domain:
        devices: {}
`
	tpl := templateOf(t, vm, param("NAME", "vm-default"), param("TIER", "gold"), param("OWNER", "team"),
		generated("SUFFIX", "gen-[a-z]{4}"))
	values := map[string]string{"OWNER": "caller"}

	correct, err := Processor{}.Process(tpl, values)
	if err != nil {
		t.Fatal(err)
	}
	if got := correct.VirtualMachine.Labels["tier"]; got != "gold" {
		t.Fatalf("without the fault tier=%q, want the default gold", got)
	}

	broken, err := Processor{FaultIgnoreParameterDefaults: true}.Process(tpl, values)
	if err != nil {
		t.Fatal(err)
	}
	out := broken.VirtualMachine
	if out.Name != "" || out.Labels["tier"] != "" {
		t.Errorf("with the fault name=%q tier=%q, want both defaults ignored", out.Name, out.Labels["tier"])
	}
	if out.Labels["owner"] != "caller" {
		t.Errorf("with the fault owner=%q, want the caller's value", out.Labels["owner"])
	}
	if !regexpMatch(`^gen-[a-z]{4}$`, out.Labels["suffix"]) {
		t.Errorf("with the fault suffix=%q, want a generated value", out.Labels["suffix"])
	}
	if tpl.Spec.Parameters[1].Value != "gold" {
		t.Errorf("the fault modified the template: %+v", tpl.Spec.Parameters)
	}

	// A required parameter with only a default is now missing: 422 instead of a VM.
	req := templateOf(t, minimalVM, required(param("NAME", "vm-default")))
	if _, err := (Processor{FaultIgnoreParameterDefaults: true}).Process(req, nil); err == nil {
		t.Error("with the fault a required parameter with only a default processed without error")
	}
}
