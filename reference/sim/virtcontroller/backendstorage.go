package virtcontroller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Backend storage: the PVC KubeVirt keeps a VM's persistent EFI variables and vTPM state on,
// as kubevirt/kubevirt pkg/storage/backend-storage/backend-storage.go makes it @v1.8.4 and
// @v1.9.0 (the releases the profiles play; the same since v1.8.2):
//   - virt-controller creates it when the VMI of a VM that needs it starts (CreatePVCForVMI),
//     generateName "persistent-state-for-<vmi>-", label persistent-state-for=<vmi>
//     (PVCPrefix), label cdi.kubevirt.io/applyStorageProfile=true, owned by the VMI's owners
//     (the VM), 10Mi (PVCSize), ReadWriteOnce Filesystem here (the access mode comes from the
//     storage profile), the cluster's default storage class (VMStateStorageClass unset); the
//     VMI's status.volumeStatus gets an entry "persistent-state-for-this-vm" (VolumeName,
//     UpdateVolumeStatus) naming the claim;
//   - a VM needs it when its template has a persistent TPM or persistent EFI
//     (IsBackendStorageNeeded; the CBT case never applies here);
//   - a VirtualMachineSnapshot backs it up as the volume "persistent-state-for-<vm>"
//     (pkg/storage/utils/volumes.go@v1.8.4, @v1.9.0: BackendPVCVolumeName, createBackendPVCVolume),
//     found by its label (getBackendPVCName), the newest claim not being deleted when several.
const (
	backendStoragePrefix       = "persistent-state-for"
	backendStorageSize         = "10Mi"
	labelApplyStorageProfile   = "cdi.kubevirt.io/applyStorageProfile"
	annotationDefaultClass     = "storageclass.kubernetes.io/is-default-class"
	backendStorageVolumeMaxLen = 63 // validation.DNS1035LabelMaxLength
	backendStorageStatusName   = backendStoragePrefix + "-this-vm"
)

// needsBackendStorage is IsBackendStorageNeeded for a VMI spec (and a VM's template spec).
func needsBackendStorage(spec *kubevirtv1.VirtualMachineInstanceSpec) bool {
	if tpm := spec.Domain.Devices.TPM; tpm != nil && tpm.Persistent != nil && *tpm.Persistent {
		return true
	}
	fw := spec.Domain.Firmware
	return fw != nil && fw.Bootloader != nil && fw.Bootloader.EFI != nil &&
		fw.Bootloader.EFI.Persistent != nil && *fw.Bootloader.EFI.Persistent
}

// backendStorageVolumeName is BackendPVCVolumeName: openshift/library-go naming.GetName
// ("persistent-state-for", vm, 63). The simulator plays only names that fit unshortened.
func backendStorageVolumeName(vm string) (string, error) {
	name := backendStoragePrefix + "-" + vm
	if len(name) > backendStorageVolumeMaxLen {
		return "", fmt.Errorf("simulator: backend storage of VM %q: names longer than %d characters (shortened by KubeVirt with a hash) are not simulated",
			vm, backendStorageVolumeMaxLen-len(backendStoragePrefix)-1)
	}
	return name, nil
}

// backendStorageClaim is the VM's current backend storage PVC (PVCForVMI by label), nil when
// there is none.
func backendStorageClaim(ctx context.Context, c client.Client, namespace, vm string) (*corev1.PersistentVolumeClaim, error) {
	list := &corev1.PersistentVolumeClaimList{}
	if err := c.List(ctx, list, client.InNamespace(namespace), client.MatchingLabels{backendStoragePrefix: vm}); err != nil {
		return nil, fmt.Errorf("listing the backend storage of %s/%s: %w", namespace, vm, err)
	}
	var newest *corev1.PersistentVolumeClaim
	for i := range list.Items {
		pvc := &list.Items[i]
		if pvc.DeletionTimestamp != nil {
			continue
		}
		if newest == nil || pvc.CreationTimestamp.After(newest.CreationTimestamp.Time) {
			newest = pvc
		}
	}
	return newest, nil
}

// ensureBackendStorage creates the backend storage PVC of a starting VMI that needs one and
// records it in the VMI's volume status (UpdateVolumeStatus). It reports whether the VMI
// changed.
func ensureBackendStorage(ctx context.Context, c client.Client, vmi *kubevirtv1.VirtualMachineInstance) (bool, error) {
	if !needsBackendStorage(&vmi.Spec) {
		return false, nil
	}
	pvc, err := backendStorageClaim(ctx, c, vmi.Namespace, vmi.Name)
	if err != nil {
		return false, err
	}
	if pvc == nil {
		class, err := defaultStorageClass(ctx, c)
		if err != nil {
			return false, err
		}
		owners := vmi.OwnerReferences
		if len(owners) == 0 {
			owners = []metav1.OwnerReference{*metav1.NewControllerRef(vmi, kubevirtv1.VirtualMachineInstanceGroupVersionKind)}
		}
		fs := corev1.PersistentVolumeFilesystem
		pvc = &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{
				GenerateName:    backendStoragePrefix + "-" + vmi.Name + "-",
				Namespace:       vmi.Namespace,
				OwnerReferences: owners,
				Labels:          map[string]string{backendStoragePrefix: vmi.Name, labelApplyStorageProfile: "true"},
			},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(backendStorageSize)}},
				StorageClassName: &class,
				VolumeMode:       &fs,
			},
		}
		if err := c.Create(ctx, pvc); err != nil {
			return false, fmt.Errorf("creating the backend storage of VMI %s/%s: %w", vmi.Namespace, vmi.Name, err)
		}
	}
	for _, vs := range vmi.Status.VolumeStatus {
		if strings.HasPrefix(vs.Name, backendStoragePrefix) { // IsBackendStorageVolume
			return false, nil
		}
	}
	vmi.Status.VolumeStatus = append(vmi.Status.VolumeStatus, kubevirtv1.VolumeStatus{
		Name:                      backendStorageStatusName,
		PersistentVolumeClaimInfo: &kubevirtv1.PersistentVolumeClaimInfo{ClaimName: pvc.Name, AccessModes: pvc.Spec.AccessModes},
	})
	return true, nil
}

// defaultStorageClass is the cluster's default storage class (KubeVirt's getStorageClass
// without VMStateStorageClass), the newest when several are marked default.
func defaultStorageClass(ctx context.Context, c client.Client) (string, error) {
	list := &storagev1.StorageClassList{}
	if err := c.List(ctx, list); err != nil {
		return "", fmt.Errorf("listing storage classes: %w", err)
	}
	name, newest := "", time.Time{}
	for _, sc := range list.Items {
		if sc.Annotations[annotationDefaultClass] == "true" && (name == "" || sc.CreationTimestamp.After(newest)) {
			name, newest = sc.Name, sc.CreationTimestamp.Time
		}
	}
	if name == "" {
		return "", fmt.Errorf("no default storage class for the backend storage (persistent EFI/TPM state)")
	}
	return name, nil
}

// backendStorageBackup is the volume the snapshot of vm backs its backend storage up as
// (GetVolumes WithAllVolumes), or nil when the VM needs none or has none yet (a VM that never
// ran: KubeVirt's ErrNoBackendPVC, which it tolerates for a stopped VM).
func backendStorageBackup(ctx context.Context, c client.Client, vm *kubevirtv1.VirtualMachine) (*kubevirtv1.Volume, error) {
	if vm.Spec.Template == nil || !needsBackendStorage(&vm.Spec.Template.Spec) {
		return nil, nil
	}
	pvc, err := backendStorageClaim(ctx, c, vm.Namespace, vm.Name)
	if err != nil || pvc == nil {
		return nil, err
	}
	name, err := backendStorageVolumeName(vm.Name)
	if err != nil {
		return nil, err
	}
	return &kubevirtv1.Volume{Name: name, VolumeSource: kubevirtv1.VolumeSource{
		PersistentVolumeClaim: &kubevirtv1.PersistentVolumeClaimVolumeSource{
			PersistentVolumeClaimVolumeSource: corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc.Name},
		},
	}}, nil
}
