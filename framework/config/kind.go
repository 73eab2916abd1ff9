package config

import "flag"

// Kind configures the kind lane (framework/cluster/kind).
type Kind struct {
	// Cluster is the kind cluster's name.
	Cluster string
	// Keep leaves the cluster running after the run (and after a failed start-up).
	Keep bool
}

func (k *Kind) register(c *Config, fs *flag.FlagSet) {
	c.str(fs, &k.Cluster, "vmt.kind.cluster", "VMT_KIND_CLUSTER", "vmt-conformance", "name of the kind cluster the kind provider creates (or reuses)")
	c.boolean(fs, &k.Keep, "vmt.kind.keep", "VMT_KIND_KEEP", false, "keep the kind cluster after the run instead of deleting it")
}
