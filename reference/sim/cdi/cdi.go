// Package cdi is the simulator's CDI role: a default StorageClass and VolumeSnapshotClass,
// DataVolumes provisioned as Bound PVCs (there is no provisioner: the role binds claims of
// its storage class to PersistentVolumes it makes) that move through CDI's phases and
// conditions to Succeeded, DataSources Ready when their source exists, and CDI's clone
// authorization (SubjectAccessReview of datavolumes/source in the source namespace) as an
// admission webhook. No data is ever copied.
package cdi

import (
	"context"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/reference/sim/kit"
)

// Names of what the role installs.
const (
	StorageClassName  = "vmt-sim-local"
	SnapshotClassName = "vmt-sim-snapshot"
	// Provisioner is the CSI driver name the storage class and snapshot class carry.
	Provisioner = "sim.vmt-conformance.io"
	// WebhookConfigurationName holds the DataVolume webhook.
	WebhookConfigurationName = "vmt-sim-cdi-datavolume"
	// WebhookName is CDI's, so denials read as on a real cluster: real CDI authorizes clones
	// in its mutating webhook of this name (pkg/apiserver/webhooks/datavolume-mutate.go).
	WebhookName = "datavolume-mutate.cdi.kubevirt.io"
)

// Options configure the role.
type Options struct {
	// Ready is called once the storage defaults exist and the webhook answers.
	Ready func()
	// FaultSkipCloneAuthorization is a deliberate bug for the suite's self-tests (package
	// reference/faults): the DataVolume webhook admits clones without the permission check.
	// Never set it otherwise.
	FaultSkipCloneAuthorization bool
	// FaultFailVMDataVolumes is a deliberate bug for the suite's self-tests (package
	// reference/faults): every DataVolume controlled by a VirtualMachine (made from its
	// dataVolumeTemplates) goes to phase Failed instead of being populated. Never set it
	// otherwise.
	FaultFailVMDataVolumes bool
}

// Setup registers the role with the manager.
func Setup(mgr ctrl.Manager, opts Options) error {
	if err := setupDataVolumes(mgr, opts.FaultFailVMDataVolumes); err != nil {
		return err
	}
	if err := setupBinder(mgr); err != nil {
		return err
	}
	if err := setupReclaimer(mgr); err != nil {
		return err
	}
	if err := setupDataSources(mgr); err != nil {
		return err
	}
	srv, err := kit.NewServer("vmt-sim-cdi", nil)
	if err != nil {
		return err
	}
	srv.Mux.Handle("/datavolume-validate", kit.AdmissionHandler(newAdmitter(mgr.GetClient(), opts.FaultSkipCloneAuthorization).admit))
	if err := mgr.Add(srv); err != nil {
		return err
	}
	reg := kit.NewRegistration(mgr.GetClient())
	return mgr.Add(kit.RunnableFunc(func(ctx context.Context) error {
		c := mgr.GetClient()
		if err := ensureStorage(ctx, c); err != nil {
			return err
		}
		if err := kit.EnsureClusterRoles(ctx, c, kit.CDIUserRoles()); err != nil {
			return err
		}
		whc := &admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: WebhookConfigurationName},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{kit.ValidatingWebhook(WebhookName,
				srv.URL("/datavolume-validate"), srv.CAPEM, kit.Rule("cdi.kubevirt.io", "v1beta1", "datavolumes"))},
		}
		if err := reg.Apply(ctx, whc); err != nil {
			return err
		}
		if err := kit.WaitForWebhook(ctx, c, probeDataVolume()); err != nil {
			return err
		}
		if opts.Ready != nil {
			opts.Ready()
		}
		<-ctx.Done()
		unregister, cancel := context.WithTimeout(context.Background(), kit.Intervals.Unregister)
		defer cancel()
		return reg.Remove(unregister)
	}))
}

func probeDataVolume() client.Object {
	dv := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
		"metadata": map[string]any{"name": "vmt-sim-probe", "namespace": metav1.NamespaceDefault},
		"spec": map[string]any{
			"source":  map[string]any{"blank": map[string]any{}},
			"storage": map[string]any{"resources": map[string]any{"requests": map[string]any{"storage": "1Mi"}}},
		},
	}}
	return dv
}

// ensureStorage makes the storage class the default unless another one already is, and the
// snapshot class for its driver.
func ensureStorage(ctx context.Context, c client.Client) error {
	classes := &storagev1.StorageClassList{}
	if err := c.List(ctx, classes); err != nil {
		return fmt.Errorf("listing storage classes: %w", err)
	}
	isDefault := "true"
	for _, sc := range classes.Items {
		if sc.Name != StorageClassName && sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			isDefault = "false"
		}
	}
	immediate := storagev1.VolumeBindingImmediate
	del := corev1.PersistentVolumeReclaimDelete
	sc := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: StorageClassName, Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": isDefault}},
		Provisioner:       Provisioner,
		ReclaimPolicy:     &del,
		VolumeBindingMode: &immediate,
	}
	if err := c.Create(ctx, sc); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating storage class %s: %w", StorageClassName, err)
	}
	vsc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
		"metadata": map[string]any{"name": SnapshotClassName,
			"annotations": map[string]any{"snapshot.storage.kubernetes.io/is-default-class": "true"}},
		"driver":         Provisioner,
		"deletionPolicy": "Delete",
	}}
	if err := c.Create(ctx, vsc); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating volume snapshot class %s: %w", SnapshotClassName, err)
	}
	return nil
}
