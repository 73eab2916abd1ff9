package rbac

import rbacv1 "k8s.io/api/rbac/v1"

// DefaultServiceAccount is the persona of ns's "default" ServiceAccount, which the cluster
// creates with the namespace: the identity KubeVirt authorizes a VM's DataVolumeTemplate
// clones for when the VM names no service account (pkg/virt-controller/watch/vm/vm.go
// authorizeDataVolume@v1.8.4 and @v1.9.0). Grants to it are removed with DeferCleanup like
// any other; the account itself is the namespace's.
func DefaultServiceAccount(ns string) *Persona {
	return newPersona("system:serviceaccount:"+ns+":default", "system:serviceaccounts", "system:serviceaccounts:"+ns)
}

// CloneDataVolumes allows cloning from the namespace it is granted in: `create` on CDI's
// datavolumes/source, the explicit clone permission CDI checks (containerized-data-importer-api
// pkg/apis/core/v1beta1/authorize_utils.go).
func CloneDataVolumes() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{"cdi.kubevirt.io"}, Resources: []string{"datavolumes/source"}, Verbs: []string{"create"}}
}
