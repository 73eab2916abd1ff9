package engine

import (
	"k8s.io/apimachinery/pkg/runtime"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// toVirtualMachine converts the substituted tree exactly as upstream does:
// runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation with unknown fields
// reported. That converter hands spec.template.spec to KubeVirt's own
// VirtualMachineInstanceSpec.UnmarshalJSON after re-encoding it with json.Marshal. The fast
// path does that part itself with encodeTree (byte-identical to json.Marshal) and converts
// the rest of the tree with the converter; on any error it runs the converter on the whole
// tree, so errors (and which one comes first) are upstream's.
func toVirtualMachine(tree map[string]any) (*kubevirtv1.VirtualMachine, error) {
	if vm, ok := fastVirtualMachine(tree); ok {
		return vm, nil
	}
	vm := &kubevirtv1.VirtualMachine{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(tree, vm, true); err != nil {
		return nil, err
	}
	return vm, nil
}

func fastVirtualMachine(tree map[string]any) (*kubevirtv1.VirtualMachine, bool) {
	spec, _ := tree["spec"].(map[string]any)
	template, _ := spec["template"].(map[string]any)
	vmiSpec, ok := template["spec"].(map[string]any)
	if !ok {
		return nil, false
	}
	data, ok := encodeTree(vmiSpec)
	if !ok {
		return nil, false
	}
	delete(template, "spec")
	vm := &kubevirtv1.VirtualMachine{}
	err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(tree, vm, true)
	template["spec"] = vmiSpec
	if err != nil || vm.Spec.Template == nil {
		return nil, false
	}
	if err := vm.Spec.Template.Spec.UnmarshalJSON(data); err != nil {
		return nil, false
	}
	return vm, true
}
