package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	virtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// copySourceSecrets is the copy-source-secrets fault (Options.FaultCopySourceSecrets), a
// deliberate bug: every Secret and ConfigMap the captured VM refers to is copied, data and
// all, from the source VM's namespace into the template's namespace. Upstream keeps these
// volumes as references and copies nothing.
func (r *requestReconciler) copySourceSecrets(ctx context.Context, vm *virtv1.VirtualMachine, target string) error {
	if vm.Spec.Template == nil || vm.Namespace == target {
		return nil
	}
	var secrets, configMaps []string
	for _, v := range vm.Spec.Template.Spec.Volumes {
		switch {
		case v.Secret != nil:
			secrets = append(secrets, v.Secret.SecretName)
		case v.ConfigMap != nil:
			configMaps = append(configMaps, v.ConfigMap.Name)
		case v.CloudInitNoCloud != nil:
			for _, ref := range []*corev1.LocalObjectReference{v.CloudInitNoCloud.UserDataSecretRef, v.CloudInitNoCloud.NetworkDataSecretRef} {
				if ref != nil {
					secrets = append(secrets, ref.Name)
				}
			}
		}
	}
	read := func(obj client.Object) error {
		if err := r.apiReader.Get(ctx, types.NamespacedName{Namespace: vm.Namespace, Name: obj.GetName()}, obj); err != nil {
			return fmt.Errorf("copy-source-secrets: reading %s/%s: %w", vm.Namespace, obj.GetName(), err)
		}
		return nil
	}
	create := func(obj client.Object) error {
		if err := r.client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("copy-source-secrets: copying %s into %s: %w", obj.GetName(), target, err)
		}
		return nil
	}
	for _, name := range secrets {
		src := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := read(src); err != nil {
			return err
		}
		if err := create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: target}, Data: src.Data, Type: src.Type}); err != nil {
			return err
		}
	}
	for _, name := range configMaps {
		src := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := read(src); err != nil {
			return err
		}
		if err := create(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: target}, Data: src.Data}); err != nil {
			return err
		}
	}
	return nil
}
