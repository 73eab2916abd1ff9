package engine

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// minimalVM is the smallest VM the strict conversion accepts, in YAML.
const minimalVM = `
metadata:
  name: ${NAME}
spec:
  runStrategy: Always
  template:
    spec:
      domain:
        devices: {}
`

// templateOf builds a template from the VM in YAML (empty: no VM) and parameters.
func templateOf(t testing.TB, vmYAML string, params ...v1beta1.Parameter) *v1beta1.VirtualMachineTemplate {
	t.Helper()
	tpl := &v1beta1.VirtualMachineTemplate{}
	tpl.Name = "tpl"
	if vmYAML != "" {
		raw, err := yaml.YAMLToJSON([]byte(vmYAML))
		if err != nil {
			t.Fatalf("bad VM YAML: %v", err)
		}
		tpl.Spec.VirtualMachine = &runtime.RawExtension{Raw: raw}
	}
	tpl.Spec.Parameters = params
	return tpl
}

func param(name, value string) v1beta1.Parameter { return v1beta1.Parameter{Name: name, Value: value} }

func generated(name, from string) v1beta1.Parameter {
	return v1beta1.Parameter{Name: name, Generate: GeneratorExpression, From: from}
}

func required(p v1beta1.Parameter) v1beta1.Parameter { p.Required = true; return p }

// pathOf reads a dotted path (numeric parts index arrays) from obj's JSON form.
func pathOf(t testing.TB, obj any, path string) any {
	t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var cur any
	if err := json.Unmarshal(data, &cur); err != nil {
		t.Fatal(err)
	}
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[part]
		case []any:
			i := 0
			for _, d := range part {
				i = i*10 + int(d-'0')
			}
			if i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// seeded is a reproducible random source for the generator.
type seeded struct{ state uint64 }

func (s *seeded) Read(p []byte) (int, error) {
	for i := range p {
		// xorshift64*: plenty for tests, and trivially reproducible.
		s.state ^= s.state >> 12
		s.state ^= s.state << 25
		s.state ^= s.state >> 27
		p[i] = byte((s.state * 2685821657736338717) >> 56)
	}
	return len(p), nil
}

func newSeeded(seed uint64) *seeded { return &seeded{state: seed*2 + 1} }

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }
