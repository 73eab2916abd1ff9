package simtest

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	kubevirtv1 "kubevirt.io/api/core/v1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
)

// A VM whose DataVolume is in phase Failed reports printableStatus DataVolumeError, as
// KubeVirt's HasDataVolumeErrors makes it (pkg/storage/types/dv.go, evaluated before
// Provisioning and Stopped), and the simulator's CDI leaves a Failed DataVolume alone.
func TestVMWithAFailedDataVolumeReportsDataVolumeError(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dv := &cdiv1beta1.DataVolume{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "broken"}, Spec: cdiv1beta1.DataVolumeSpec{
		Source:  &cdiv1beta1.DataVolumeSource{Blank: &cdiv1beta1.DataVolumeBlankImage{}},
		Storage: &cdiv1beta1.StorageSpec{Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}}
	e.must(e.c.Create(ctx, dv))
	e.must(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := e.get(dv, "broken"); err != nil {
			return err
		}
		dv.Status.Phase = cdiv1beta1.Failed
		return e.c.Status().Update(ctx, dv)
	}))

	v := vm("vm-dverror", kubevirtv1.RunStrategyHalted, withDisk("disk", "disk", kubevirtv1.VolumeSource{DataVolume: &kubevirtv1.DataVolumeSource{Name: "broken"}}))
	v.Namespace = e.ns
	e.must(e.c.Create(ctx, v))
	e.eventually("VM DataVolumeError", func() string {
		got := &kubevirtv1.VirtualMachine{}
		if err := e.get(got, "vm-dverror"); err != nil {
			return err.Error()
		}
		if got.Status.PrintableStatus != kubevirtv1.VirtualMachineStatusDataVolumeError {
			return fmt.Sprintf("printableStatus %q", got.Status.PrintableStatus)
		}
		return ""
	})
	e.must(e.get(dv, "broken"))
	if dv.Status.Phase != cdiv1beta1.Failed {
		t.Errorf("DataVolume phase %s after the VM's reconcile, want it left Failed", dv.Status.Phase)
	}
}
