package simtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// A running VM with a persistent vTPM gets KubeVirt's backend storage PVC
// (persistent-state-for-<vm>-xxxxx, labelled persistent-state-for=<vm>, owned by the VM), and
// its snapshot backs it up as the volume persistent-state-for-<vm> (kubevirt/kubevirt
// pkg/storage/backend-storage/backend-storage.go, pkg/storage/utils/volumes.go @v1.8.4, @v1.9.0);
// the VMI's volume status names it persistent-state-for-this-vm.
func TestPersistentStateVolumeIsCreatedAndSnapshotted(t *testing.T) {
	e := newEnv(t)
	v := vm("vm-tpm", kubevirtv1.RunStrategyAlways, withBlankDataVolume("rootdisk"))
	persistent := true
	v.Spec.Template.Spec.Domain.Devices.TPM = &kubevirtv1.TPMDevice{Persistent: &persistent}
	v.Namespace = e.ns
	e.must(e.c.Create(context.Background(), v))

	var claim string
	e.eventually("backend storage PVC of vm-tpm, owned by the VM, Bound", func() string {
		list := &corev1.PersistentVolumeClaimList{}
		if err := e.c.List(context.Background(), list, client.InNamespace(e.ns), client.MatchingLabels{"persistent-state-for": "vm-tpm"}); err != nil {
			return err.Error()
		}
		if len(list.Items) != 1 {
			return fmt.Sprintf("%d claims labelled persistent-state-for=vm-tpm", len(list.Items))
		}
		pvc := list.Items[0]
		if !strings.HasPrefix(pvc.Name, "persistent-state-for-vm-tpm-") || len(pvc.OwnerReferences) != 1 ||
			pvc.OwnerReferences[0].Kind != "VirtualMachine" || pvc.OwnerReferences[0].Name != "vm-tpm" ||
			pvc.Labels["cdi.kubevirt.io/applyStorageProfile"] != "true" || pvc.Status.Phase != corev1.ClaimBound {
			return fmt.Sprintf("claim %s owners %+v labels %v phase %s", pvc.Name, pvc.OwnerReferences, pvc.Labels, pvc.Status.Phase)
		}
		claim = pvc.Name
		vmi := &kubevirtv1.VirtualMachineInstance{}
		if err := e.get(vmi, "vm-tpm"); err != nil {
			return err.Error()
		}
		for _, vs := range vmi.Status.VolumeStatus {
			if vs.Name == "persistent-state-for-this-vm" && vs.PersistentVolumeClaimInfo != nil && vs.PersistentVolumeClaimInfo.ClaimName == pvc.Name {
				return ""
			}
		}
		return fmt.Sprintf("VMI volume status %+v lacks persistent-state-for-this-vm: %s", vmi.Status.VolumeStatus, pvc.Name)
	})

	apiGroup := "kubevirt.io"
	e.must(e.c.Create(context.Background(), &snapshotv1beta1.VirtualMachineSnapshot{ObjectMeta: metav1.ObjectMeta{Name: "snap-tpm", Namespace: e.ns},
		Spec: snapshotv1beta1.VirtualMachineSnapshotSpec{Source: corev1.TypedLocalObjectReference{APIGroup: &apiGroup, Kind: "VirtualMachine", Name: "vm-tpm"}}}))
	e.eventually("the snapshot content backs up rootdisk and persistent-state-for-vm-tpm", func() string {
		s := &snapshotv1beta1.VirtualMachineSnapshot{}
		if err := e.get(s, "snap-tpm"); err != nil {
			return err.Error()
		}
		if s.Status == nil || s.Status.VirtualMachineSnapshotContentName == nil {
			return fmt.Sprintf("status %+v", s.Status)
		}
		content := &snapshotv1beta1.VirtualMachineSnapshotContent{}
		if err := e.get(content, *s.Status.VirtualMachineSnapshotContentName); err != nil {
			return err.Error()
		}
		got := map[string]string{}
		for _, b := range content.Spec.VolumeBackups {
			got[b.VolumeName] = b.PersistentVolumeClaim.Name
		}
		if len(got) != 2 || got["rootdisk"] != "rootdisk" || got["persistent-state-for-vm-tpm"] != claim {
			return fmt.Sprintf("volume backups (volume: claim) %v, want rootdisk and persistent-state-for-vm-tpm: %s", got, claim)
		}
		return ""
	})
}
