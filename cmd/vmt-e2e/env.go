package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// detectVersions finds what the reports call the cluster's versions, best effort: a
// version it cannot read is left out rather than failing the run. virt-template's comes
// from the system under test (framework/sut), which knows how it was learned.
func detectVersions(ctx context.Context, cfg *rest.Config) map[string]string {
	out := map[string]string{}
	if cfg == nil {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 10 * time.Second
	if dc, err := discovery.NewDiscoveryClientForConfig(cfg); err == nil {
		if v, err := dc.ServerVersion(); err == nil {
			out["kubernetes"] = v.GitVersion
		}
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return out
	}
	first := func(gvr schema.GroupVersionResource, field ...string) string {
		list, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil || len(list.Items) == 0 {
			return ""
		}
		v, _, _ := unstructured.NestedString(list.Items[0].Object, field...)
		return v
	}
	if v := first(schema.GroupVersionResource{Group: "kubevirt.io", Version: "v1", Resource: "kubevirts"}, "status", "observedKubeVirtVersion"); v != "" {
		out["kubevirt"] = v
	}
	if v := first(schema.GroupVersionResource{Group: "cdi.kubevirt.io", Version: "v1beta1", Resource: "cdis"}, "status", "observedVersion"); v != "" {
		out["cdi"] = v
	}
	return out
}

func capabilityStates(caps cluster.Capabilities) []tiers.CapabilityState {
	var out []tiers.CapabilityState
	for _, c := range cluster.All {
		out = append(out, tiers.CapabilityState{Label: c.Label(), Offered: caps.Has(c), Reason: caps.Reason(c)})
	}
	return out
}

func writeRunInfo(dir string, info tiers.RunInfo) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep && readable in the label filter
	enc.SetIndent("", "  ")
	if err := enc.Encode(info); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, tiers.RunInfoFile), b.Bytes(), 0o644)
}
