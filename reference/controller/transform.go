package controller

import (
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	virtv1 "kubevirt.io/api/core/v1"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/engine"
)

// The one parameter of a template made from a VirtualMachine: the VM's name, generated
// unless the user gives one (CapturedNameGenerated, v0.2.0+; required without a generator
// before).
const (
	nameParameter     = "NAME"
	nameReference     = "${" + nameParameter + "}"
	nameSuffix        = "-" + nameReference
	nameGeneratorFrom = "vm-[a-z0-9]{5}"
)

// backendStorageMarker is in the name of the volume KubeVirt keeps persistent EFI/TPM/CBT
// state on; that volume is not cloned into templates (SkipsPersistentState, v0.1.8+).
const backendStorageMarker = "persistent-state-for"

// templateName is the name of the template a request creates: spec.templateName or the
// request's own name.
func templateName(req *v1beta1.VirtualMachineTemplateRequest) string {
	if req.Spec.TemplateName != "" {
		return req.Spec.TemplateName
	}
	return req.Name
}

// snapshotName is the VirtualMachineSnapshot of a request, in the source VM's namespace.
func snapshotName(req *v1beta1.VirtualMachineTemplateRequest) string {
	return StableName(req.Name, string(req.UID))
}

// clonedDataVolumeName is the DataVolume cloning one captured volume, in the request's
// namespace.
func clonedDataVolumeName(req *v1beta1.VirtualMachineTemplateRequest, volume string) string {
	return StableName(templateName(req), string(req.UID), volume)
}

// backendStorageVolume is the volume backup holding VM state, as upstream finds it: the first
// whose name contains "persistent-state-for"; "" when there is none.
func backendStorageVolume(backups []snapshotv1beta1.VolumeBackup) string {
	for _, b := range backups {
		if strings.Contains(b.VolumeName, backendStorageMarker) {
			return b.VolumeName
		}
	}
	return ""
}

// clonedVolumes are the volume backups that become DataVolumes: all but the backend storage
// (SkipsPersistentState, v0.1.8+), all of them before.
func clonedVolumes(rel release.Release, backups []snapshotv1beta1.VolumeBackup) []snapshotv1beta1.VolumeBackup {
	if !rel.Has(release.SkipsPersistentState) {
		return backups
	}
	skip := backendStorageVolume(backups)
	var out []snapshotv1beta1.VolumeBackup
	for _, b := range backups {
		if skip != "" && b.VolumeName == skip {
			continue
		}
		out = append(out, b)
	}
	return out
}

// stripUniqueIdentifiers clears what must differ between VMs made from one template:
// interface MAC addresses and the firmware serial and UUID.
func stripUniqueIdentifiers(spec *virtv1.VirtualMachineSpec) {
	if spec.Template == nil {
		return
	}
	for i := range spec.Template.Spec.Domain.Devices.Interfaces {
		spec.Template.Spec.Domain.Devices.Interfaces[i].MacAddress = ""
	}
	if fw := spec.Template.Spec.Domain.Firmware; fw != nil {
		fw.Serial = ""
		fw.UUID = ""
	}
}

// keepSourceMACs is the deliberate keep-source-mac bug (package reference/faults): it puts
// the source VM's interface MAC addresses back into the template's spec, which templateSpec
// made from a deep copy of the source's, interfaces in the same order.
func keepSourceMACs(src *virtv1.VirtualMachine, spec *virtv1.VirtualMachineSpec) {
	if src.Spec.Template == nil || spec.Template == nil {
		return
	}
	from, to := src.Spec.Template.Spec.Domain.Devices.Interfaces, spec.Template.Spec.Domain.Devices.Interfaces
	for i := range to {
		if i < len(from) && from[i].Name == to[i].Name {
			to[i].MacAddress = from[i].MacAddress
		}
	}
}

// templateSpec turns the expanded source VM into the template's VirtualMachine spec: unique
// identifiers stripped (StripsMACSerialUUID, v0.1.8+), and every cloned volume rewritten to a DataVolume
// "<disk>-${NAME}" whose DataVolumeTemplate clones the request's DataVolume from
// dvNamespace. <disk> is the volume's original DataVolume name, or the volume name.
// Volumes that were not cloned (containerDisk, cloud-init, …) are kept.
func templateSpec(rel release.Release, vm *virtv1.VirtualMachine, cloned []snapshotv1beta1.VolumeBackup, dvNamespace string,
	dvName func(volume string) string,
) (virtv1.VirtualMachineSpec, error) {
	spec := *vm.Spec.DeepCopy()
	if spec.Template == nil {
		return spec, fmt.Errorf("source VirtualMachine %s/%s has no template spec", vm.Namespace, vm.Name)
	}
	if rel.Has(release.StripsMACSerialUUID) {
		stripUniqueIdentifiers(&spec)
	}
	for _, b := range cloned {
		disk := rewriteVolume(spec.Template.Spec.Volumes, b.VolumeName)
		if disk == "" {
			disk = b.VolumeName
		}
		spec.DataVolumeTemplates = putDataVolumeTemplate(spec.DataVolumeTemplates, disk, dvNamespace, dvName(b.VolumeName))
	}
	return spec, nil
}

// rewriteVolume makes the volume named volume a DataVolume "<disk>-${NAME}" and returns
// <disk>; "" when the VM has no such volume.
func rewriteVolume(volumes []virtv1.Volume, volume string) string {
	for i := range volumes {
		if volumes[i].Name != volume {
			continue
		}
		disk := volume
		if volumes[i].DataVolume != nil {
			disk = volumes[i].DataVolume.Name
		}
		volumes[i] = virtv1.Volume{
			Name:         volume,
			VolumeSource: virtv1.VolumeSource{DataVolume: &virtv1.DataVolumeSource{Name: disk + nameSuffix}},
		}
		return disk
	}
	return ""
}

// putDataVolumeTemplate replaces the DataVolumeTemplate named disk, or appends one, with
// "<disk>-${NAME}" cloning the PVC pvcNamespace/pvcName.
func putDataVolumeTemplate(dvts []virtv1.DataVolumeTemplateSpec, disk, pvcNamespace, pvcName string) []virtv1.DataVolumeTemplateSpec {
	dvt := virtv1.DataVolumeTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Name: disk + nameSuffix},
		Spec: cdiv1beta1.DataVolumeSpec{
			Source:  &cdiv1beta1.DataVolumeSource{PVC: &cdiv1beta1.DataVolumeSourcePVC{Namespace: pvcNamespace, Name: pvcName}},
			Storage: &cdiv1beta1.StorageSpec{},
		},
	}
	for i := range dvts {
		if dvts[i].Name == disk {
			dvts[i] = dvt
			return dvts
		}
	}
	return append(dvts, dvt)
}

// templateLabels are the request's templateLabels without system keys
// (RequestTemplateLabels, v0.2.0+; before, the field does not exist), plus the RequestUID.
func templateLabels(rel release.Release, req *v1beta1.VirtualMachineTemplateRequest) map[string]string {
	labels := map[string]string{}
	if !rel.Has(release.RequestTemplateLabels) {
		labels[v1beta1.LabelRequestUID] = string(req.UID)
		return labels
	}
	for k, v := range req.Spec.TemplateLabels {
		if !strings.HasPrefix(k, core.GroupName+"/") {
			labels[k] = v
		}
	}
	labels[v1beta1.LabelRequestUID] = string(req.UID)
	return labels
}

// newTemplate is the VirtualMachineTemplate a request creates from spec: named after the
// request, in its namespace, a VM whose only metadata is name ${NAME}, and the NAME
// parameter (with its generator from v0.2.0, CapturedNameGenerated). The VM is stored as upstream stores it: the JSON of a typed VirtualMachine with
// empty TypeMeta (the engine forces kubevirt.io/v1 VirtualMachine when processing).
func newTemplate(rel release.Release, req *v1beta1.VirtualMachineTemplateRequest, spec virtv1.VirtualMachineSpec) (*v1beta1.VirtualMachineTemplate, error) {
	raw, err := json.Marshal(&virtv1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Name: nameReference}, Spec: spec})
	if err != nil {
		return nil, fmt.Errorf("encoding the template's VirtualMachine: %w", err)
	}
	name := v1beta1.Parameter{Name: nameParameter, Required: true}
	if rel.Has(release.CapturedNameGenerated) {
		name.Generate, name.From = engine.GeneratorExpression, nameGeneratorFrom
	}
	return &v1beta1.VirtualMachineTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: req.Namespace, Name: templateName(req), Labels: templateLabels(rel, req)},
		Spec: v1beta1.VirtualMachineTemplateSpec{
			VirtualMachine: &runtime.RawExtension{Raw: raw},
			Parameters:     []v1beta1.Parameter{name},
		},
	}, nil
}
