// Package instancetype finds the instance type and preference a VirtualMachine refers to and
// applies them to a VMI spec, the subset of KubeVirt's pkg/instancetype the simulator needs:
// CPU and memory from the instance type (with KubeVirt's conflict rules and messages), and the
// cheap preference defaults (disk bus, interface model, firmware, machine type).
package instancetype

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8sfield "k8s.io/apimachinery/pkg/util/validation/field"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"kubevirt.io/api/instancetype/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Find returns the specs the VM refers to (nil when it refers to none). A missing object is
// the API's NotFound error, as KubeVirt's finders return it.
func Find(ctx context.Context, c client.Reader, vm *kubevirtv1.VirtualMachine) (*v1beta1.VirtualMachineInstancetypeSpec, *v1beta1.VirtualMachinePreferenceSpec, error) {
	it, err := FindInstancetype(ctx, c, vm)
	if err != nil {
		return nil, nil, err
	}
	pref, err := FindPreference(ctx, c, vm)
	if err != nil {
		return nil, nil, err
	}
	return it, pref, nil
}

// FindInstancetype resolves spec.instancetype; an empty kind means the cluster-wide kind.
func FindInstancetype(ctx context.Context, c client.Reader, vm *kubevirtv1.VirtualMachine) (*v1beta1.VirtualMachineInstancetypeSpec, error) {
	m := vm.Spec.Instancetype
	if m == nil {
		return nil, nil
	}
	switch strings.ToLower(m.Kind) {
	case "virtualmachineinstancetype", "virtualmachineinstancetypes":
		obj := &v1beta1.VirtualMachineInstancetype{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: vm.Namespace, Name: m.Name}, obj); err != nil {
			return nil, notFound(err, "virtualmachineinstancetypes", m.Name)
		}
		return &obj.Spec, nil
	case "virtualmachineclusterinstancetype", "virtualmachineclusterinstancetypes", "":
		obj := &v1beta1.VirtualMachineClusterInstancetype{}
		if err := c.Get(ctx, types.NamespacedName{Name: m.Name}, obj); err != nil {
			return nil, notFound(err, "virtualmachineclusterinstancetypes", m.Name)
		}
		return &obj.Spec, nil
	}
	// KubeVirt's message, pkg/instancetype/find/spec.go.
	return nil, fmt.Errorf("got unexpected kind in InstancetypeMatcher: %s", m.Kind)
}

// FindPreference resolves spec.preference; an empty kind means the cluster-wide kind.
func FindPreference(ctx context.Context, c client.Reader, vm *kubevirtv1.VirtualMachine) (*v1beta1.VirtualMachinePreferenceSpec, error) {
	m := vm.Spec.Preference
	if m == nil {
		return nil, nil
	}
	switch strings.ToLower(m.Kind) {
	case "virtualmachinepreference", "virtualmachinepreferences":
		obj := &v1beta1.VirtualMachinePreference{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: vm.Namespace, Name: m.Name}, obj); err != nil {
			return nil, notFound(err, "virtualmachinepreferences", m.Name)
		}
		return &obj.Spec, nil
	case "virtualmachineclusterpreference", "virtualmachineclusterpreferences", "":
		obj := &v1beta1.VirtualMachineClusterPreference{}
		if err := c.Get(ctx, types.NamespacedName{Name: m.Name}, obj); err != nil {
			return nil, notFound(err, "virtualmachineclusterpreferences", m.Name)
		}
		return &obj.Spec, nil
	}
	// KubeVirt's message, pkg/instancetype/preference/find/spec.go.
	return nil, fmt.Errorf("got unexpected kind in PreferenceMatcher: %s", m.Kind)
}

// Conflicts are VM fields an instance type also sets.
type Conflicts []*k8sfield.Path

// Error is KubeVirt's message, pkg/instancetype/conflict/conflicts.go.
func (c Conflicts) Error() string {
	paths := make([]string, 0, len(c))
	for _, p := range c {
		paths = append(paths, p.String())
	}
	return fmt.Sprintf("VM field(s) %s conflicts with selected instance type", strings.Join(paths, ", "))
}

// Causes are one FieldValueInvalid cause per conflict, as KubeVirt's webhook reports them.
func (c Conflicts) Causes() []Cause {
	out := make([]Cause, 0, len(c))
	for _, p := range c {
		out = append(out, Cause{Field: p.String(), Message: Conflicts{p}.Error()})
	}
	return out
}

// Cause is one rejected field.
type Cause struct{ Field, Message string }

// Apply writes the instance type and preference into spec (a VM's template spec, field its
// path). With conflicts nothing is applied.
func Apply(field *k8sfield.Path, it *v1beta1.VirtualMachineInstancetypeSpec, pref *v1beta1.VirtualMachinePreferenceSpec, spec *kubevirtv1.VirtualMachineInstanceSpec) Conflicts {
	if it != nil {
		if conflicts := conflictsOf(field, it, spec); len(conflicts) > 0 {
			return conflicts
		}
		applyCPU(it, pref, spec)
		guest := it.Memory.Guest.DeepCopy()
		if spec.Domain.Memory == nil {
			spec.Domain.Memory = &kubevirtv1.Memory{}
		}
		spec.Domain.Memory.Guest = &guest
	}
	if pref != nil {
		applyPreference(pref, spec)
	}
	return nil
}

// conflictsOf follows KubeVirt's validateCPU and validateMemory (pkg/instancetype/apply).
func conflictsOf(field *k8sfield.Path, it *v1beta1.VirtualMachineInstancetypeSpec, spec *kubevirtv1.VirtualMachineInstanceSpec) Conflicts {
	var out Conflicts
	d := &spec.Domain
	if _, ok := d.Resources.Requests[corev1.ResourceCPU]; ok {
		out = append(out, field.Child("domain", "resources", "requests", "cpu"))
	}
	if _, ok := d.Resources.Limits[corev1.ResourceCPU]; ok {
		out = append(out, field.Child("domain", "resources", "limits", "cpu"))
	}
	if cpu := d.CPU; cpu != nil {
		if cpu.Sockets != 0 {
			out = append(out, field.Child("domain", "cpu", "sockets"))
		}
		if cpu.Cores != 0 {
			out = append(out, field.Child("domain", "cpu", "cores"))
		}
		if cpu.Threads != 0 {
			out = append(out, field.Child("domain", "cpu", "threads"))
		}
		if cpu.Model != "" && it.CPU.Model != nil {
			out = append(out, field.Child("domain", "cpu", "model"))
		}
	}
	if len(out) > 0 {
		return out
	}
	// Memory reports its first conflict only, as KubeVirt does.
	if m := d.Memory; m != nil {
		if m.Guest != nil {
			return Conflicts{field.Child("domain", "memory", "guest")}
		}
		if m.Hugepages != nil && it.Memory.Hugepages != nil {
			return Conflicts{field.Child("domain", "memory", "hugepages")}
		}
	}
	if _, ok := d.Resources.Requests[corev1.ResourceMemory]; ok {
		return Conflicts{field.Child("domain", "resources", "requests", "memory")}
	}
	if _, ok := d.Resources.Limits[corev1.ResourceMemory]; ok {
		return Conflicts{field.Child("domain", "resources", "limits", "memory")}
	}
	return nil
}

// applyCPU spreads the guest vCPUs over the preferred topology (sockets by default).
func applyCPU(it *v1beta1.VirtualMachineInstancetypeSpec, pref *v1beta1.VirtualMachinePreferenceSpec, spec *kubevirtv1.VirtualMachineInstanceSpec) {
	if spec.Domain.CPU == nil {
		spec.Domain.CPU = &kubevirtv1.CPU{}
	}
	cpu := spec.Domain.CPU
	vcpus := it.CPU.Guest
	cpu.Sockets, cpu.Cores, cpu.Threads = 1, 1, 1
	topology := v1beta1.Sockets
	if pref != nil && pref.CPU != nil && pref.CPU.PreferredCPUTopology != nil {
		topology = *pref.CPU.PreferredCPUTopology
	}
	switch topology {
	case v1beta1.Cores, v1beta1.DeprecatedPreferCores:
		cpu.Cores = vcpus
	case v1beta1.Threads, v1beta1.DeprecatedPreferThreads:
		cpu.Threads = vcpus
	default:
		cpu.Sockets = vcpus
	}
	if it.CPU.Model != nil {
		cpu.Model = *it.CPU.Model
	}
}

func applyPreference(pref *v1beta1.VirtualMachinePreferenceSpec, spec *kubevirtv1.VirtualMachineInstanceSpec) {
	if d := pref.Devices; d != nil {
		for i := range spec.Domain.Devices.Disks {
			disk := &spec.Domain.Devices.Disks[i]
			switch {
			case disk.Disk != nil && disk.Disk.Bus == "" && d.PreferredDiskBus != "":
				disk.Disk.Bus = d.PreferredDiskBus
			case disk.CDRom != nil && disk.CDRom.Bus == "" && d.PreferredCdromBus != "":
				disk.CDRom.Bus = d.PreferredCdromBus
			case disk.Disk == nil && disk.CDRom == nil && disk.LUN == nil && d.PreferredDiskBus != "":
				disk.Disk = &kubevirtv1.DiskTarget{Bus: d.PreferredDiskBus}
			}
		}
		for i := range spec.Domain.Devices.Interfaces {
			if iface := &spec.Domain.Devices.Interfaces[i]; iface.Model == "" && d.PreferredInterfaceModel != "" {
				iface.Model = d.PreferredInterfaceModel
			}
		}
	}
	if f := pref.Firmware; f != nil {
		efi := f.PreferredEfi != nil || (f.DeprecatedPreferredUseEfi != nil && *f.DeprecatedPreferredUseEfi)
		if efi && (spec.Domain.Firmware == nil || spec.Domain.Firmware.Bootloader == nil) {
			if spec.Domain.Firmware == nil {
				spec.Domain.Firmware = &kubevirtv1.Firmware{}
			}
			e := &kubevirtv1.EFI{}
			if f.PreferredEfi != nil {
				e = f.PreferredEfi.DeepCopy()
			} else if f.DeprecatedPreferredUseSecureBoot != nil {
				e.SecureBoot = f.DeprecatedPreferredUseSecureBoot
			}
			spec.Domain.Firmware.Bootloader = &kubevirtv1.Bootloader{EFI: e}
		}
	}
	if m := pref.Machine; m != nil && m.PreferredMachineType != "" && (spec.Domain.Machine == nil || spec.Domain.Machine.Type == "") {
		spec.Domain.Machine = &kubevirtv1.Machine{Type: m.PreferredMachineType}
	}
}

// Expand is virt-api's expand-spec: the VM with its instance type and preference applied and
// the references removed. A VM without references is returned as is.
func Expand(ctx context.Context, c client.Reader, vm *kubevirtv1.VirtualMachine) (*kubevirtv1.VirtualMachine, error) {
	if vm.Spec.Instancetype == nil && vm.Spec.Preference == nil {
		return vm, nil
	}
	it, pref, err := Find(ctx, c, vm)
	if err != nil {
		return nil, err
	}
	out := vm.DeepCopy()
	if out.Spec.Template == nil {
		return nil, fmt.Errorf("VirtualMachine %s/%s has no spec.template", vm.Namespace, vm.Name)
	}
	if conflicts := Apply(k8sfield.NewPath("spec", "template", "spec"), it, pref, &out.Spec.Template.Spec); len(conflicts) > 0 {
		return nil, conflicts
	}
	out.Spec.Instancetype, out.Spec.Preference = nil, nil
	out.Status.InstancetypeRef, out.Status.PreferenceRef = nil, nil
	return out, nil
}

// notFound gives a missing object the API server's wording (a cached client names the kind):
// `<resource>.instancetype.kubevirt.io "<name>" not found`, as KubeVirt reports it.
func notFound(err error, resource, name string) error {
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(schema.GroupResource{Group: "instancetype.kubevirt.io", Resource: resource}, name)
	}
	return err
}
