package config

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/fixtures/crds"
	cluster "github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/reference/config/crd"
)

// admin is the cluster admin of the control plane TestMain starts; nil under -short, where
// only the render tests run.
var admin *rest.Config

// TestMain starts one hermetic control plane (with kube-controller-manager, so ClusterRoles
// aggregate) holding the KubeVirt, CDI, snapshot and template CRDs.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(withCluster(m))
}

func withCluster(m *testing.M) int {
	if err := cluster.CheckAssets(cluster.DefaultAssetsDir()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	defs, err := crdsUnderTest()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cp, err := cluster.Start(ctx, cluster.Options{CRDs: defs})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the control plane:", err)
		return 1
	}
	defer func() { _ = cp.Stop() }()
	admin = cp.RESTConfig()
	return m.Run()
}

func crdsUnderTest() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	templates, err := crd.CustomResourceDefinitions()
	if err != nil {
		return nil, fmt.Errorf("decoding the template CRDs: %w", err)
	}
	others, err := crds.Load(crds.Sets()...)
	if err != nil {
		return nil, fmt.Errorf("loading the KubeVirt, CDI and snapshot CRDs: %w", err)
	}
	return append(templates, others...), nil
}

func needCluster(t *testing.T) *rest.Config {
	t.Helper()
	if admin == nil {
		t.Skip("needs the hermetic control plane (not under -short)")
	}
	return rest.CopyConfig(admin)
}
