package controller

import (
	"encoding/json"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/engine"
)

// sourceVM has a DataVolume disk with a DataVolumeTemplate, a plain PVC disk, a
// containerDisk, persistent EFI state, a MAC address and firmware serial and UUID.
func sourceVM() *virtv1.VirtualMachine {
	return &virtv1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Namespace: "src", Name: "fedora", Labels: map[string]string{"app": "x"}},
		Spec: virtv1.VirtualMachineSpec{
			DataVolumeTemplates: []virtv1.DataVolumeTemplateSpec{{ObjectMeta: metav1.ObjectMeta{Name: "fedora-root"}}},
			Template: &virtv1.VirtualMachineInstanceTemplateSpec{Spec: virtv1.VirtualMachineInstanceSpec{
				Domain: virtv1.DomainSpec{
					Devices:  virtv1.Devices{Interfaces: []virtv1.Interface{{Name: "default", MacAddress: "02:00:00:00:00:01"}}},
					Firmware: &virtv1.Firmware{Serial: "serial-1", UUID: "0b0d2d1e-0000-0000-0000-000000000001", Bootloader: &virtv1.Bootloader{EFI: &virtv1.EFI{Persistent: ptr.To(true)}}},
				},
				Volumes: []virtv1.Volume{
					{Name: "rootdisk", VolumeSource: virtv1.VolumeSource{DataVolume: &virtv1.DataVolumeSource{Name: "fedora-root"}}},
					{Name: "datadisk", VolumeSource: virtv1.VolumeSource{PersistentVolumeClaim: &virtv1.PersistentVolumeClaimVolumeSource{}}},
					{Name: "containerdisk", VolumeSource: virtv1.VolumeSource{ContainerDisk: &virtv1.ContainerDiskSource{Image: "quay.io/x"}}},
				},
			}},
		},
	}
}

func backup(volume string) snapshotv1beta1.VolumeBackup {
	return snapshotv1beta1.VolumeBackup{VolumeName: volume, VolumeSnapshotName: ptr.To("vs-" + volume)}
}

func TestClonedVolumesSkipBackendStorage(t *testing.T) {
	backups := []snapshotv1beta1.VolumeBackup{backup("rootdisk"), backup("persistent-state-for-fedora"), backup("datadisk")}
	var got []string
	for _, b := range clonedVolumes(defaultRelease, backups) {
		got = append(got, b.VolumeName)
	}
	if want := []string{"rootdisk", "datadisk"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("cloned volumes = %v, want %v", got, want)
	}
}

func TestTemplateSpec(t *testing.T) {
	vm := sourceVM()
	before := vm.DeepCopy()
	cloned := []snapshotv1beta1.VolumeBackup{backup("rootdisk"), backup("datadisk")}
	spec, err := templateSpec(defaultRelease, vm, cloned, "target", func(v string) string { return "clone-" + v })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(vm, before) {
		t.Error("templateSpec modified its input")
	}
	domain := spec.Template.Spec.Domain
	if mac := domain.Devices.Interfaces[0].MacAddress; mac != "" {
		t.Errorf("MAC address kept: %q", mac)
	}
	if domain.Firmware.Serial != "" || domain.Firmware.UUID != "" {
		t.Errorf("firmware serial/UUID kept: %+v", domain.Firmware)
	}
	if domain.Firmware.Bootloader == nil {
		t.Error("other firmware settings dropped")
	}
	wantVolumes := []virtv1.Volume{
		{Name: "rootdisk", VolumeSource: virtv1.VolumeSource{DataVolume: &virtv1.DataVolumeSource{Name: "fedora-root-${NAME}"}}},
		{Name: "datadisk", VolumeSource: virtv1.VolumeSource{DataVolume: &virtv1.DataVolumeSource{Name: "datadisk-${NAME}"}}},
		before.Spec.Template.Spec.Volumes[2],
	}
	if !reflect.DeepEqual(spec.Template.Spec.Volumes, wantVolumes) {
		t.Errorf("volumes = %+v, want %+v", spec.Template.Spec.Volumes, wantVolumes)
	}
	dvt := func(name, pvc string) virtv1.DataVolumeTemplateSpec {
		return virtv1.DataVolumeTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: cdiv1beta1.DataVolumeSpec{
				Source:  &cdiv1beta1.DataVolumeSource{PVC: &cdiv1beta1.DataVolumeSourcePVC{Namespace: "target", Name: pvc}},
				Storage: &cdiv1beta1.StorageSpec{},
			},
		}
	}
	// The template of the DataVolume disk is replaced in place, the PVC disk's appended.
	wantDVTs := []virtv1.DataVolumeTemplateSpec{dvt("fedora-root-${NAME}", "clone-rootdisk"), dvt("datadisk-${NAME}", "clone-datadisk")}
	if !reflect.DeepEqual(spec.DataVolumeTemplates, wantDVTs) {
		t.Errorf("dataVolumeTemplates = %+v, want %+v", spec.DataVolumeTemplates, wantDVTs)
	}
}

func TestTemplateSpecWithoutTemplate(t *testing.T) {
	vm := sourceVM()
	vm.Spec.Template = nil
	_, err := templateSpec(defaultRelease, vm, nil, "target", func(v string) string { return v })
	if err == nil || err.Error() != "source VirtualMachine src/fedora has no template spec" {
		t.Fatalf("err = %v", err)
	}
}

func TestNewTemplate(t *testing.T) {
	req := &v1beta1.VirtualMachineTemplateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "target", Name: "req", UID: "uid-1"},
		Spec: v1beta1.VirtualMachineTemplateRequestSpec{
			TemplateName:   "golden",
			TemplateLabels: map[string]string{"team": "a", "template.kubevirt.io/type": "sneaky"},
		},
	}
	spec, err := templateSpec(defaultRelease, sourceVM(), []snapshotv1beta1.VolumeBackup{backup("rootdisk")}, "target", func(v string) string { return "clone-" + v })
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := newTemplate(defaultRelease, req, spec)
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Namespace != "target" || tpl.Name != "golden" {
		t.Errorf("template %s/%s, want target/golden", tpl.Namespace, tpl.Name)
	}
	if want := map[string]string{"team": "a", v1beta1.LabelRequestUID: "uid-1"}; !reflect.DeepEqual(tpl.Labels, want) {
		t.Errorf("labels = %v, want %v", tpl.Labels, want)
	}
	wantParams := []v1beta1.Parameter{{Name: "NAME", Required: true, Generate: "expression", From: "vm-[a-z0-9]{5}"}}
	if !reflect.DeepEqual(tpl.Spec.Parameters, wantParams) {
		t.Errorf("parameters = %+v", tpl.Spec.Parameters)
	}
	var stored map[string]any
	if err := json.Unmarshal(tpl.Spec.VirtualMachine.Raw, &stored); err != nil {
		t.Fatal(err)
	}
	if md := stored["metadata"].(map[string]any); md["name"] != "${NAME}" || len(md) != 1 {
		t.Errorf("VM metadata = %v, want only name ${NAME}", md)
	}

	// The template renders: NAME is generated, the disk is named after the VM.
	res, err := engine.Processor{}.Process(tpl, map[string]string{"NAME": "vm-one"})
	if err != nil {
		t.Fatal(err)
	}
	if res.VirtualMachine.Name != "vm-one" || res.VirtualMachine.Spec.DataVolumeTemplates[0].Name != "fedora-root-vm-one" {
		t.Errorf("rendered %s with DataVolumeTemplates %v", res.VirtualMachine.Name, res.VirtualMachine.Spec.DataVolumeTemplates)
	}
	if warnings, err := (engine.Processor{}).Validate(tpl); err != nil || len(warnings) > 0 {
		t.Errorf("the webhook would refuse the template: %v %v", warnings, err)
	}
}
