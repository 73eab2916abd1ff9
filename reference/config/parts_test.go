package config

import (
	"reflect"
	"testing"
)

func TestEveryObjectBelongsToAPart(t *testing.T) {
	tls, err := SelfSignedTLS(DefaultNamespace)
	if err != nil {
		t.Fatal(err)
	}
	objs := mustObjects(t, Options{CreateNamespace: true, TLS: tls})
	count := map[Part]int{}
	for _, u := range objs {
		p := PartOf(u)
		if p == "" {
			t.Errorf("%s %s belongs to no part", u.GetKind(), u.GetName())
		}
		count[p]++
	}
	want := map[Part]int{
		PartCRDs: 2, PartNamespace: 1, PartWebhook: 1, PartAdmission: 2, PartUserRoles: 7,
		// SA, ClusterRole, 2 ClusterRoleBindings, kube-system RoleBinding, Secret, Service, Deployment, 2 APIServices
		PartAPIServer: 10,
		// SA, manager/metrics-auth/metrics-reader ClusterRoles, 2 ClusterRoleBindings, leader-election Role and
		// RoleBinding, 2 Secrets, webhook and metrics Services, Deployment
		PartController: 13,
	}
	if !reflect.DeepEqual(count, want) {
		t.Errorf("objects per part %v, want %v", count, want)
	}
}

// What the hermetic lane's in-process API server needs, and nothing that would call a pod.
func TestSelectAPIServerIdentity(t *testing.T) {
	objs := Select(mustObjects(t, Options{CreateNamespace: true, APIServerExternalPort: 4443}), PartNamespace, PartAPIServer)
	var got []objectID
	for _, id := range ids(objs) {
		if id.kind != "Deployment" {
			got = append(got, id)
		}
	}
	want := []objectID{
		{"Namespace", "", DefaultNamespace},
		{"ServiceAccount", DefaultNamespace, APIServerServiceAccount},
		{"ClusterRole", "", APIServerClusterRole},
		{"ClusterRoleBinding", "", "virt-template-apiserver-rolebinding"},
		{"ClusterRoleBinding", "", "virt-template-apiserver:system:auth-delegator"},
		{"RoleBinding", "kube-system", APIServerAuthReaderBinding},
		{"Service", DefaultNamespace, APIServerService},
		{"APIService", "", APIServices[0]},
		{"APIService", "", APIServices[1]},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("apiserver part\n got %v\nwant %v", got, want)
	}
}
