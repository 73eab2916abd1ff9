// Package cluster defines how the suite gets a cluster: a Provider brings one up (or adopts
// one), hands out a rest.Config and a kubeconfig, reports the capabilities the runner filters
// specs by, collects artifacts and tears down. Providers: existing (KUBECONFIG), local
// (hermetic control plane built from Go modules) and kind.
package cluster

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/client-go/rest"
)

// Provider is one way of getting a cluster for the suite.
type Provider interface {
	// Name is the provider's name as given to --vmt.provider.
	Name() string
	// Up starts the cluster, or adopts it for providers that do not own one.
	Up(ctx context.Context) error
	// RESTConfig is the admin configuration; valid after Up.
	RESTConfig() *rest.Config
	// KubeconfigPath is a kubeconfig file for the same admin identity; valid after Up.
	KubeconfigPath() string
	// Capabilities reports what the cluster offers; valid after Up.
	Capabilities(ctx context.Context) (Capabilities, error)
	// CollectArtifacts writes provider-level diagnostics (component logs) below dir.
	CollectArtifacts(ctx context.Context, dir string) error
	// Down stops what Up started. Providers that adopted a cluster leave it running.
	Down(ctx context.Context) error
}

// Capability is something a spec may require of a cluster. Each one is the label
// "requires-<capability>" in the tiers vocabulary; the runner filters out the specs whose
// capability the provider lacks.
type Capability string

const (
	// Guest: VMs really boot (a virt-handler runs); never offered by the local lane.
	Guest Capability = "guest"
	// WindowsImage: a Windows DataSource is available to adopt.
	WindowsImage Capability = "windows-image"
	// SnapshotStorage: VM snapshots of PVC-backed disks work (snapshot-capable storage).
	SnapshotStorage Capability = "snapshot-storage"
	// OpenShift: the template.openshift.io Template API is served.
	OpenShift Capability = "openshift"
	// Virtctl: a virtctl binary with the `template` command is available.
	Virtctl Capability = "virtctl"
	// TemplateOperator: virt-operator deploys and removes the template feature by its gate.
	TemplateOperator Capability = "template-operator"
	// HCO: the HyperConverged CR exists and owns the KubeVirt configuration.
	HCO Capability = "hco"
	// V1beta1: both template API groups serve v1beta1 (virt-template v0.2.0+). Providers
	// do not decide it: the framework does, from discovery (framework/sut).
	V1beta1 Capability = "v1beta1"
	// Monitoring: a Prometheus alerts API answers through a Service proxy
	// (framework/monitoring), so the scale lane can check that no critical alert began to
	// fire. Providers decide it; the local and kind lanes run no monitoring stack.
	Monitoring Capability = "monitoring"
)

// All lists every capability, in the order reports print them.
var All = []Capability{Guest, WindowsImage, SnapshotStorage, OpenShift, Virtctl, TemplateOperator, HCO, V1beta1, Monitoring}

// Label is the spec label that requires c.
func (c Capability) Label() string { return "requires-" + string(c) }

// ParseCapability accepts "guest" or "requires-guest".
func ParseCapability(s string) (Capability, error) {
	c := Capability(strings.TrimPrefix(strings.TrimSpace(s), "requires-"))
	if !slices.Contains(All, c) {
		return "", fmt.Errorf("unknown capability %q (known: %s)", s, strings.Join(Names(All), ", "))
	}
	return c, nil
}

// Names returns the capabilities as strings.
func Names(cs []Capability) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// Capabilities is the set a cluster offers, with the reason each was decided, so the
// runner can print why a spec was filtered out.
type Capabilities struct {
	have   map[Capability]bool
	reason map[Capability]string
}

// NewCapabilities returns an empty set.
func NewCapabilities() Capabilities {
	return Capabilities{have: map[Capability]bool{}, reason: map[Capability]string{}}
}

// Set records whether the cluster offers c, and why.
func (cs Capabilities) Set(c Capability, offered bool, why string) {
	cs.have[c] = offered
	cs.reason[c] = why
}

// Has reports whether c is offered.
func (cs Capabilities) Has(c Capability) bool { return cs.have[c] }

// Reason says why c was decided the way it was.
func (cs Capabilities) Reason(c Capability) string {
	if r, ok := cs.reason[c]; ok {
		return r
	}
	return "not detected"
}

// Offered lists the capabilities the cluster has, sorted.
func (cs Capabilities) Offered() []Capability {
	var out []Capability
	for _, c := range All {
		if cs.have[c] {
			out = append(out, c)
		}
	}
	return out
}

// Missing lists the capabilities the cluster lacks, in All's order.
func (cs Capabilities) Missing() []Capability {
	var out []Capability
	for _, c := range All {
		if !cs.have[c] {
			out = append(out, c)
		}
	}
	return out
}

// Override applies declarations such as "+guest,-virtctl" (or "guest" for "+guest") that an
// operator makes when detection cannot know.
func (cs Capabilities) Override(decl string) error {
	for _, item := range strings.Split(decl, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		offered := true
		switch item[0] {
		case '+':
			item = item[1:]
		case '-':
			offered, item = false, item[1:]
		}
		c, err := ParseCapability(item)
		if err != nil {
			return fmt.Errorf("capability override %q: %w", decl, err)
		}
		cs.Set(c, offered, "declared by --vmt.capabilities")
	}
	return nil
}

// Encode renders the set as "guest=true;..." for handing from the runner to suite processes.
func (cs Capabilities) Encode() string {
	parts := make([]string, 0, len(cs.have))
	for c, ok := range cs.have {
		parts = append(parts, fmt.Sprintf("%s=%t:%s", c, ok, strings.ReplaceAll(cs.reason[c], ";", ",")))
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// DecodeCapabilities parses what Encode produced.
func DecodeCapabilities(s string) (Capabilities, error) {
	cs := NewCapabilities()
	if strings.TrimSpace(s) == "" {
		return cs, nil
	}
	for _, part := range strings.Split(s, ";") {
		name, rest, ok := strings.Cut(part, "=")
		val, why, _ := strings.Cut(rest, ":")
		if !ok || (val != "true" && val != "false") {
			return cs, fmt.Errorf("malformed capability entry %q", part)
		}
		c, err := ParseCapability(name)
		if err != nil {
			return cs, err
		}
		cs.Set(c, val == "true", why)
	}
	return cs, nil
}
