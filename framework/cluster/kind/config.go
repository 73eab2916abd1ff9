// Package kind is the kind lane's provider: a sigs.k8s.io/kind cluster (created, loaded and
// deleted through sigs.k8s.io/e2e-framework's kind support and env funcs) with real KubeVirt
// (software emulation) and CDI from their release manifests, and the reference template
// components, their images written by internal/image (no docker build; loaded with kind load
// image-archive) and installed from reference/config.
//
// Everything the lane does is a Plan: an ordered list of steps, each naming the exact external
// command it runs (docker, go, kind), the files it writes or the manifests it applies, built
// without touching anything, so the plan is unit-tested where there is no Docker. Up runs the plan; Down
// deletes the cluster.
package kind

import (
	"bytes"
	"fmt"

	kinddefaults "sigs.k8s.io/kind/pkg/apis/config/defaults"
	kindv1alpha4 "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

// Pinned versions. KindVersion is the sigs.k8s.io/kind module in go.mod (a test checks they
// agree); the node image is that kind release's default, digest included. The KubeVirt
// release is the profile's (Options.Profile, framework/cluster/local's profiles).
const (
	KindVersion = "v0.30.0"
	NodeImage   = kinddefaults.Image
	CDIVersion  = "v1.64.0"
)

// ConfigFile is the checked-in cluster configuration, relative to the repository root; it is
// what ClusterConfig renders (a test keeps them equal).
const ConfigFile = "ci/kind/cluster.yaml"

// configHeader explains the checked-in file to whoever opens it.
const configHeader = `# The kind lane's cluster (framework/cluster/kind.ClusterConfig renders this file; a test
# keeps them equal: regenerate with  go test ./framework/cluster/kind -run TestCheckedInConfig -update).
# One control-plane node and one worker: virt-handler runs on the worker, whose guests boot
# with software emulation (no /dev/kvm needed). The node image is kind ` + KindVersion + `'s default.
`

// ClusterConfig is the kind cluster the lane creates.
func ClusterConfig() *kindv1alpha4.Cluster {
	c := &kindv1alpha4.Cluster{
		TypeMeta: kindv1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Nodes: []kindv1alpha4.Node{
			{Role: kindv1alpha4.ControlPlaneRole, Image: NodeImage},
			{Role: kindv1alpha4.WorkerRole, Image: NodeImage},
		},
	}
	return c
}

// ConfigYAML renders ClusterConfig as the checked-in file holds it.
func ConfigYAML() ([]byte, error) {
	raw, err := yaml.Marshal(ClusterConfig())
	if err != nil {
		return nil, fmt.Errorf("rendering the kind cluster config: %w", err)
	}
	return append([]byte(configHeader), raw...), nil
}

// ParseConfig reads a kind cluster config strictly (unknown fields are errors) and checks
// what the lane needs of it: a control plane and at least one worker for virt-handler.
func ParseConfig(raw []byte) (*kindv1alpha4.Cluster, error) {
	var c kindv1alpha4.Cluster
	if err := yaml.UnmarshalStrict(bytes.TrimSpace(raw), &c); err != nil {
		return nil, fmt.Errorf("kind cluster config: %w", err)
	}
	if c.Kind != "Cluster" || c.APIVersion != "kind.x-k8s.io/v1alpha4" {
		return nil, fmt.Errorf("kind cluster config: want kind Cluster, apiVersion kind.x-k8s.io/v1alpha4; got %q, %q", c.Kind, c.APIVersion)
	}
	roles := map[kindv1alpha4.NodeRole]int{}
	for _, n := range c.Nodes {
		roles[n.Role]++
	}
	if roles[kindv1alpha4.ControlPlaneRole] < 1 || roles[kindv1alpha4.WorkerRole] < 1 {
		return nil, fmt.Errorf("kind cluster config: want a control-plane node and at least one worker (virt-handler does not run on the control plane); got %v", roles)
	}
	return &c, nil
}
