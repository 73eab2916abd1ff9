package engine

import (
	"fmt"
	"io"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// MergeParameters returns a copy of params in which every name of values has its value
// replaced. An empty value clears the parameter's value, so its generator runs again. A
// name params does not declare gives *UnknownParameterError (with several unknown names the
// alphabetically first is reported; upstream picks one at random). With duplicate
// declarations only the first receives the value.
func MergeParameters(params []v1beta1.Parameter, values map[string]string) ([]v1beta1.Parameter, error) {
	merged := slices.Clone(params)
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		i := slices.IndexFunc(merged, func(p v1beta1.Parameter) bool { return p.Name == name })
		if i < 0 {
			return nil, &UnknownParameterError{Name: name}
		}
		merged[i].Value = values[name]
	}
	return merged, nil
}

// resolveParameters is upstream's first processing step: walk the parameters in order,
// reject empty and duplicate names, run generators for empty values, and enforce required.
// It returns each parameter's final value by name.
func resolveParameters(params []v1beta1.Parameter, rnd io.Reader) (map[string]string, *field.Error) {
	values := make(map[string]string, len(params))
	for i := range params {
		p := &params[i]
		path := func() *field.Path { return field.NewPath("spec", "parameters").Index(i) }
		if p.Name == "" {
			return nil, field.Invalid(path().Child("name"), p.Name, "parameter name is empty")
		}
		if _, seen := values[p.Name]; seen {
			return nil, field.Duplicate(path().Child("name"), p.Name)
		}
		value := p.Value
		if value == "" && p.Generate != "" {
			if p.Generate != GeneratorExpression {
				return nil, field.Invalid(path().Child("generate"), p.Generate,
					fmt.Sprintf("unknown generator name '%v' for parameter '%s'", p.Generate, p.Name))
			}
			if p.From == "" {
				return nil, field.Invalid(path().Child("from"), p.From,
					fmt.Sprintf("from cannot be empty for parameter '%s' using generator '%s'", p.Name, p.Generate))
			}
			generated, err := generateExpression(p.From, rnd)
			if err != nil {
				return nil, field.Invalid(path().Child("from"), p.From, err.Error())
			}
			value = generated
		}
		if value == "" && p.Required {
			return nil, field.Required(path().Child("value"),
				fmt.Sprintf("parameter '%s' is required and a value must be specified", p.Name))
		}
		values[p.Name] = value
	}
	return values, nil
}

// SkipProcessingValidation reports, as upstream's admission webhook does, the required
// parameters that have neither a value nor a generator. A non-empty result means the
// webhook skips rendering the template and returns these texts as warnings:
// `processing validation skipped: required parameter "<name>" has neither value nor generator`.
func SkipProcessingValidation(tpl *v1beta1.VirtualMachineTemplate) []string {
	var warnings []string
	for _, p := range tpl.Spec.Parameters {
		if p.Required && p.Value == "" && p.Generate == "" {
			warnings = append(warnings, fmt.Sprintf(
				"processing validation skipped: required parameter %q has neither value nor generator", p.Name))
		}
	}
	return warnings
}
