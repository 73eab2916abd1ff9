package kit

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Aggregation labels of the Kubernetes user-facing roles.
const (
	aggregateToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
	aggregateToEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	aggregateToView  = "rbac.authorization.k8s.io/aggregate-to-view"
)

var (
	readVerbs  = []string{"get", "list", "watch"}
	writeVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	allVerbs   = append(append([]string{}, writeVerbs...), "deletecollection")
)

// userRoles returns the admin, edit and view ClusterRoles a product ships for its users,
// aggregated into Kubernetes' admin, edit and view, named <prefix>:admin and so on. writable
// are the rules of edit (admin adds deletecollection); view reads the same resources.
func userRoles(prefix string, writable []rbacv1.PolicyRule, extraEdit []rbacv1.PolicyRule) []*rbacv1.ClusterRole {
	with := func(verbs []string) []rbacv1.PolicyRule {
		out := make([]rbacv1.PolicyRule, len(writable))
		for i, r := range writable {
			out[i] = rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: r.Resources, Verbs: verbs}
		}
		return out
	}
	role := func(name, label string, rules []rbacv1.PolicyRule) *rbacv1.ClusterRole {
		return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: prefix + ":" + name, Labels: map[string]string{label: "true"}}, Rules: rules}
	}
	return []*rbacv1.ClusterRole{
		role("admin", aggregateToAdmin, append(with(allVerbs), extraEdit...)),
		role("edit", aggregateToEdit, append(with(writeVerbs), extraEdit...)),
		role("view", aggregateToView, with(readVerbs)),
	}
}

// KubeVirtUserRoles are virt-operator's kubevirt.io:admin/edit/view: VMs, VMIs, snapshots,
// instance types and preferences, and the VM subresources a user calls.
func KubeVirtUserRoles() []*rbacv1.ClusterRole {
	return userRoles("kubevirt.io", []rbacv1.PolicyRule{
		{APIGroups: []string{"kubevirt.io"}, Resources: []string{"virtualmachines", "virtualmachineinstances", "virtualmachineinstancemigrations", "virtualmachineinstancereplicasets", "virtualmachineinstancepresets"}},
		{APIGroups: []string{"snapshot.kubevirt.io"}, Resources: []string{"virtualmachinesnapshots", "virtualmachinesnapshotcontents", "virtualmachinerestores"}},
		{APIGroups: []string{"instancetype.kubevirt.io"}, Resources: []string{"virtualmachineinstancetypes", "virtualmachinepreferences"}},
	}, []rbacv1.PolicyRule{
		{APIGroups: []string{"subresources.kubevirt.io"}, Resources: []string{"virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart", "expand-vm-spec"}, Verbs: []string{"update"}},
		{APIGroups: []string{"subresources.kubevirt.io"}, Resources: []string{"virtualmachines/expand-spec"}, Verbs: []string{"get"}},
		{APIGroups: []string{"instancetype.kubevirt.io"}, Resources: []string{"virtualmachineclusterinstancetypes", "virtualmachineclusterpreferences"}, Verbs: readVerbs},
	})
}

// CDIUserRoles are CDI's cdi.kubevirt.io:admin/edit/view: DataVolumes (and cloning from them),
// DataSources, DataImportCrons.
func CDIUserRoles() []*rbacv1.ClusterRole {
	return userRoles("cdi.kubevirt.io", []rbacv1.PolicyRule{
		{APIGroups: []string{"cdi.kubevirt.io"}, Resources: []string{"datavolumes", "datasources", "dataimportcrons"}},
	}, []rbacv1.PolicyRule{
		{APIGroups: []string{"cdi.kubevirt.io"}, Resources: []string{"datavolumes/source"}, Verbs: []string{"create"}},
	})
}

// EnsureClusterRoles creates or updates roles.
func EnsureClusterRoles(ctx context.Context, c client.Client, roles []*rbacv1.ClusterRole) error {
	for _, want := range roles {
		have := &rbacv1.ClusterRole{}
		err := c.Get(ctx, client.ObjectKeyFromObject(want), have)
		switch {
		case apierrors.IsNotFound(err):
			err = c.Create(ctx, want.DeepCopy())
		case err == nil:
			have.Labels, have.Rules = want.Labels, want.Rules
			err = c.Update(ctx, have)
		}
		if err != nil {
			return fmt.Errorf("ensuring ClusterRole %s: %w", want.Name, err)
		}
	}
	return nil
}
