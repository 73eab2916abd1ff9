package engine

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// Processor renders VirtualMachineTemplates. The zero value is ready to use.
type Processor struct {
	// Rand feeds the expression generator; nil means crypto/rand. Tests pass a seeded
	// reader to get reproducible values.
	Rand io.Reader
	// FaultIgnoreParameterDefaults is a deliberate bug for the suite's self-tests (package
	// reference/faults): Process treats every declared parameter value as unset, so only the
	// caller's values and the generators count. Never set it otherwise.
	FaultIgnoreParameterDefaults bool
}

// Result is a processed template.
type Result struct {
	// VirtualMachine is the rendered VM, always kubevirt.io/v1 VirtualMachine. Nil when
	// processing failed.
	VirtualMachine *kubevirtv1.VirtualMachine
	// Message is the template's message with parameters substituted.
	Message string
	// Warnings name declared parameters that nothing references
	// (`spec.parameters[i].name: X is defined but never referenced`), in parameter order.
	// Upstream's API server sends them as HTTP warnings, also when processing then fails.
	Warnings []string
}

func (p Processor) rand() io.Reader {
	if p.Rand != nil {
		return p.Rand
	}
	return rand.Reader
}

// Process does what upstream's /process does after reading the template: merge values
// into the parameters, check references, render. The template is not modified.
//
// Errors: *UnknownParameterError from the merge; *InvalidError with Stage StageReferences
// (possibly several field errors) or StageProcessing (one). Whenever the reference check
// ran, the returned *Result is non-nil and carries its Warnings, even with an error.
func (p Processor) Process(tpl *v1beta1.VirtualMachineTemplate, values map[string]string) (*Result, error) {
	declared := tpl.Spec.Parameters
	if p.FaultIgnoreParameterDefaults {
		declared = slices.Clone(declared)
		for i := range declared {
			declared[i].Value = ""
		}
	}
	params, err := MergeParameters(declared, values)
	if err != nil {
		return nil, err
	}
	merged := *tpl
	merged.Spec.Parameters = params

	vm := decodeVirtualMachine(&merged.Spec)
	warnings, errs := checkReferences(&merged, vm)
	res := &Result{Warnings: warnings}
	if len(errs) > 0 {
		return res, &InvalidError{Stage: StageReferences, Errors: errs}
	}
	res.VirtualMachine, res.Message, err = p.render(&merged, vm)
	return res, err
}

// Render is upstream's processor on its own, without merging or the reference check:
// resolve parameters (in order: empty name, duplicate, generator, required), decode the
// VirtualMachine, drop a literal namespace, substitute, convert strictly to a typed
// VirtualMachine with kubevirt.io/v1 VirtualMachine forced, substitute the message.
// Errors are *InvalidError with Stage StageProcessing and a single field error.
func (p Processor) Render(tpl *v1beta1.VirtualMachineTemplate) (*kubevirtv1.VirtualMachine, string, error) {
	return p.render(tpl, decodeVirtualMachine(&tpl.Spec))
}

// Validate is upstream's admission check of a template: references first (undefined ones
// deny with the *InvalidError, unused ones warn); then, unless SkipProcessingValidation
// has warnings (which are added to the result), a full render, whose failure denies with
// `processing validation failed: <field error>` (wrapping the *InvalidError).
func (p Processor) Validate(tpl *v1beta1.VirtualMachineTemplate) ([]string, error) {
	vm := decodeVirtualMachine(&tpl.Spec)
	warnings, errs := checkReferences(tpl, vm)
	if len(errs) > 0 {
		return warnings, &InvalidError{Stage: StageReferences, Errors: errs}
	}
	if skipped := SkipProcessingValidation(tpl); len(skipped) > 0 {
		return append(warnings, skipped...), nil
	}
	if _, _, err := p.render(tpl, vm); err != nil {
		return warnings, fmt.Errorf("processing validation failed: %w", err)
	}
	return warnings, nil
}

// ValidateReferences checks that every "${X}" and "${{X}}" in the VirtualMachine (values
// and keys) and in the message names a declared parameter. Undefined names are field errors
// on spec.virtualMachine, `references undefined parameter X`, sorted by name; declared
// names nobody references are warnings, in parameter order. An undecodable or empty
// VirtualMachine is the only error then.
func ValidateReferences(tpl *v1beta1.VirtualMachineTemplate) (warnings []string, errs field.ErrorList) {
	return checkReferences(tpl, decodeVirtualMachine(&tpl.Spec))
}

// decodedVM is spec.virtualMachine as a JSON tree owned by the engine.
type decodedVM struct {
	data []byte // the JSON the tree was decoded from
	tree map[string]any
	// refs are the parameters the tree references, when the decoder could collect them.
	refs map[string]struct{}
	// foreign is a typed RawExtension.Object that is not a VirtualMachine; upstream renders
	// it but refuses to convert it.
	foreign runtime.Object
	err     *field.Error
}

func decodeVirtualMachine(spec *v1beta1.VirtualMachineTemplateSpec) *decodedVM {
	raw := spec.VirtualMachine
	if raw == nil || (len(raw.Raw) == 0 && raw.Object == nil) {
		return &decodedVM{err: field.Invalid(field.NewPath("spec", "virtualMachine"), raw,
			"virtualMachine is required and cannot be empty")}
	}
	data := raw.Raw
	var foreign runtime.Object
	if len(data) == 0 {
		// An in-memory object (Go callers only; the API always carries Raw) is walked as
		// its JSON form.
		switch raw.Object.(type) {
		case *unstructured.Unstructured, *kubevirtv1.VirtualMachine:
		default:
			foreign = raw.Object
		}
		var err error
		if data, err = json.Marshal(raw.Object); err != nil {
			return &decodedVM{err: field.Invalid(field.NewPath("spec", "virtualMachine"), raw.Object,
				fmt.Sprintf("error decoding virtualMachine: %v", err))}
		}
	}
	// Not runtime.Decode: apiVersion and kind may be missing; they are forced later.
	tree, refs, ok := decodeTree(data)
	if !ok {
		if err := json.Unmarshal(data, &tree); err != nil {
			return &decodedVM{err: field.Invalid(field.NewPath("spec", "virtualMachine", "raw"), data,
				fmt.Sprintf("error decoding virtualMachine: %v", err))}
		}
	}
	return &decodedVM{data: data, tree: tree, refs: refs, foreign: foreign}
}

func checkReferences(tpl *v1beta1.VirtualMachineTemplate, vm *decodedVM) ([]string, field.ErrorList) {
	if vm.err != nil {
		return nil, field.ErrorList{vm.err}
	}
	referenced := make(map[string]struct{}, len(vm.refs))
	if vm.refs != nil {
		maps.Copy(referenced, vm.refs)
	} else {
		collectReferences(vm.tree, referenced)
	}
	referencesIn(tpl.Spec.Message, func(name string) { referenced[name] = struct{}{} })

	// With duplicate names the last declaration is the one reported, as upstream.
	declared := make(map[string]int, len(tpl.Spec.Parameters))
	for i, p := range tpl.Spec.Parameters {
		declared[p.Name] = i
	}

	var warnings []string
	for i, p := range tpl.Spec.Parameters {
		if _, used := referenced[p.Name]; used || declared[p.Name] != i {
			continue
		}
		path := field.NewPath("spec", "parameters").Index(i).Child("name")
		warnings = append(warnings, fmt.Sprintf("%s: %s is defined but never referenced", path, p.Name))
	}

	undefined := make([]string, 0)
	for name := range referenced {
		if _, ok := declared[name]; !ok {
			undefined = append(undefined, name)
		}
	}
	slices.Sort(undefined)
	var errs field.ErrorList
	for _, name := range undefined {
		errs = append(errs, field.Invalid(field.NewPath("spec", "virtualMachine"), name,
			fmt.Sprintf("references undefined parameter %s", name)))
	}
	return warnings, errs
}

func (p Processor) render(tpl *v1beta1.VirtualMachineTemplate, vm *decodedVM) (*kubevirtv1.VirtualMachine, string, error) {
	values, ferr := resolveParameters(tpl.Spec.Parameters, p.rand())
	if ferr != nil {
		return nil, "", invalid(StageProcessing, ferr)
	}
	if vm.err != nil {
		return nil, "", invalid(StageProcessing, vm.err)
	}
	tree := vm.tree

	// The caller decides where the VM goes, unless the namespace is itself parameterised
	// with "${X}" ("${{X}}" does not count).
	if meta, ok := tree["metadata"].(map[string]any); ok {
		if ns, ok := meta["namespace"].(string); ok && ns != "" {
			if _, _, parameterised := nextReference(ns, 0); !parameterised {
				delete(meta, "namespace")
			}
		}
	}

	sub := substitution{values: values}
	if tree != nil {
		if err := sub.object(tree); err != nil {
			// Redo it on a fresh copy in sorted order to report a reproducible first error.
			fresh := decodeVirtualMachine(&tpl.Spec)
			sub.sorted = true
			if fresh.tree != nil {
				if again := sub.object(fresh.tree); again != nil {
					err = again
				}
			}
			return nil, "", invalid(StageProcessing, field.Invalid(field.NewPath("spec", "parameters"),
				tpl.Spec.Parameters, fmt.Sprintf("error processing template: %v", err)))
		}
	}

	if vm.foreign != nil {
		return nil, "", invalid(StageProcessing, field.Invalid(field.NewPath("spec", "virtualMachine"),
			vm.foreign, fmt.Sprintf("unable to convert into VirtualMachine: object is %T", vm.foreign)))
	}
	// The same strict conversion as upstream, so unknown fields and type errors read alike.
	// (KubeVirt's VirtualMachineInstanceSpec has its own lenient UnmarshalJSON, so strictness
	// stops at spec.template.spec.)
	out, err := toVirtualMachine(tree)
	if err != nil {
		return nil, "", invalid(StageProcessing, field.Invalid(field.NewPath("spec", "virtualMachine"),
			&unstructured.Unstructured{Object: tree},
			fmt.Sprintf("failed to convert unstructured object to VirtualMachine: %v", err)))
	}
	out.SetGroupVersionKind(kubevirtv1.VirtualMachineGroupVersionKind)

	msg, _, err := sub.text(tpl.Spec.Message)
	if err != nil {
		return nil, "", invalid(StageProcessing, field.Invalid(field.NewPath("spec", "message"),
			tpl.Spec.Message, fmt.Sprintf("error processing message: %v", err)))
	}
	return out, msg, nil
}
