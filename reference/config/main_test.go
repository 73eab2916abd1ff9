package config

import (
	"context"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/fixtures/crds"
	cluster "github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/internal/testcluster"
)

// admin is the cluster admin of the control plane TestMain starts; nil under -short, where
// only the render tests run.
var admin *rest.Config

// TestMain starts one hermetic control plane (with kube-controller-manager, so ClusterRoles
// aggregate) holding the KubeVirt, CDI, snapshot and template CRDs.
func TestMain(m *testing.M) {
	testcluster.Main(m, testcluster.Options{Templates: true, Sets: crds.Sets(),
		Started: func(_ context.Context, cp *cluster.ControlPlane) (func(), error) {
			admin = cp.RESTConfig()
			return nil, nil
		}})
}

func needCluster(t *testing.T) *rest.Config {
	t.Helper()
	if admin == nil {
		t.Skip("needs the hermetic control plane (not under -short)")
	}
	return rest.CopyConfig(admin)
}
