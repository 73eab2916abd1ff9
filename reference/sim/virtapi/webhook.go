package virtapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sfield "k8s.io/apimachinery/pkg/util/validation/field"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/reference/sim/internal/instancetype"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/kit"
)

// vmAdmitter reads instance types and preferences from the API server, not from the
// manager's cache: virt-api looks them up through its clientset, so an instance type
// created just before the VM is already seen (a cache lagging behind let a conflicting VM
// through).
type vmAdmitter struct{ c client.Reader }

func newVMAdmitter(c client.Reader) *vmAdmitter { return &vmAdmitter{c: c} }

// maxCauses is how many causes KubeVirt's ToAdmissionResponse reports.
const maxCauses = 10

// admit follows virt-api's VMsAdmitter.Admit for the checks modelled here, in its order:
// the instance type and preference are applied to a copy (a reference that cannot be found
// is ignored, as in KubeVirt ≥ 1.1: virt-controller reports it on the VM), conflicts are
// rejected, then the spec is validated (disks need volumes, DataVolumeTemplates need a volume).
func (a *vmAdmitter) admit(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	vm := &kubevirtv1.VirtualMachine{}
	if err := json.Unmarshal(req.Object.Raw, vm); err != nil {
		return kit.Error(err)
	}
	if vm.DeletionTimestamp != nil {
		return nil
	}
	if vm.Namespace == "" {
		vm.Namespace = req.Namespace
	}
	if vm.Spec.Template == nil {
		return toResponse([]metav1.StatusCause{{Type: metav1.CauseTypeFieldValueRequired,
			Message: "missing virtual machine template.", Field: "spec.template"}})
	}
	vmCopy := vm.DeepCopy()
	it, _ := instancetype.FindInstancetype(ctx, a.c, vm)
	pref, _ := instancetype.FindPreference(ctx, a.c, vm)
	if it != nil || pref != nil {
		if conflicts := instancetype.Apply(k8sfield.NewPath("spec", "template", "spec"), it, pref, &vmCopy.Spec.Template.Spec); len(conflicts) > 0 {
			var causes []metav1.StatusCause
			for _, c := range conflicts.Causes() {
				causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Message: c.Message, Field: c.Field})
			}
			return toResponse(causes)
		}
	}
	causes := validateDisks(k8sfield.NewPath("spec", "template", "spec"), &vmCopy.Spec.Template.Spec)
	causes = append(causes, validateDataVolumeTemplates(k8sfield.NewPath("spec"), &vmCopy.Spec)...)
	if len(causes) > 0 {
		return toResponse(causes)
	}
	resp := &admissionv1.AdmissionResponse{Allowed: true}
	if vm.Spec.Running != nil {
		resp.Warnings = append(resp.Warnings, "spec.running is deprecated, please use spec.runStrategy instead.")
	}
	return resp
}

// validateDisks is KubeVirt's disk/volume matching (vmi-create-admitter.go): a disk that is
// not an empty CD-ROM needs a volume of its name.
func validateDisks(field *k8sfield.Path, spec *kubevirtv1.VirtualMachineInstanceSpec) []metav1.StatusCause {
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = true
	}
	var causes []metav1.StatusCause
	for i, d := range spec.Domain.Devices.Disks {
		if volumes[d.Name] || d.CDRom != nil {
			continue
		}
		disk := field.Child("domain", "devices", "disks").Index(i)
		causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid,
			Message: fmt.Sprintf("%s '%s' not found.", disk.Child("Name").String(), d.Name), Field: disk.Child("name").String()})
	}
	return causes
}

// validateDataVolumeTemplates is KubeVirt's ValidateDataVolumeTemplate
// (pkg/storage/admitters/data-volume-template.go): each template must be used by a volume.
func validateDataVolumeTemplates(field *k8sfield.Path, spec *kubevirtv1.VirtualMachineSpec) []metav1.StatusCause {
	var causes []metav1.StatusCause
	for i, t := range spec.DataVolumeTemplates {
		if t.Name == "" {
			causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeFieldValueRequired,
				Message: fmt.Sprintf("'name' field must not be empty for DataVolumeTemplate entry %s.", field.Child("dataVolumeTemplate").Index(i).Child("name").String()),
				Field:   field.Child("dataVolumeTemplate").Index(i).Child("name").String()})
			continue
		}
		found := false
		for _, v := range spec.Template.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == t.Name || v.DataVolume != nil && v.DataVolume.Name == t.Name {
				found = true
			}
		}
		if !found {
			f := field.Child("dataVolumeTemplate").Index(i).String()
			causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeFieldValueRequired,
				Message: fmt.Sprintf("DataVolumeTemplate entry %s must be referenced in the VMI template's 'volumes' list", f), Field: f})
		}
	}
	return causes
}

// toResponse is KubeVirt's ToAdmissionResponse: messages joined by ", ", at most ten causes.
func toResponse(causes []metav1.StatusCause) *admissionv1.AdmissionResponse {
	extra := 0
	if len(causes) > maxCauses {
		extra, causes = len(causes)-maxCauses, causes[:maxCauses]
	}
	msgs := make([]string, 0, len(causes))
	for _, c := range causes {
		msgs = append(msgs, c.Message)
	}
	msg := strings.Join(msgs, ", ")
	if extra > 0 {
		msg = fmt.Sprintf("%s, and %v more validation errors", msg, extra)
	}
	return kit.Deny(msg, causes...)
}
