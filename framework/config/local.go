package config

import (
	"flag"
	"os"
	"strings"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
)

// Local configures the local (hermetic) provider.
type Local struct {
	// Profile is the KubeVirt generation the lane plays (framework/cluster/local profiles):
	// kubevirt-1.8 (KubeVirt v1.8.4, virt-template v0.1.8, Template gate Alpha) or
	// kubevirt-1.9 (v1.9.0, v0.2.2, Beta; the default).
	Profile string
}

func (l *Local) register(c *Config, fs *flag.FlagSet) {
	c.str(fs, &l.Profile, "vmt.local.profile", "VMT_PROFILE", local.DefaultProfile,
		"KubeVirt generation the local provider (and the kind lane) plays: "+strings.Join(local.ProfileNames(), " | "))
}

// validate refuses an unknown profile with one line listing the known ones. With the local
// or kind provider it also exports local.VirtctlKubeVirtVersionEnv (unless set) to the profile's
// KubeVirt version, so the reference CLI every suite process runs answers like that
// KubeVirt's virtctl; every process validates the same flags, so all agree.
func (l *Local) validate(provider string) error {
	p, err := local.LookupProfile(l.Profile)
	if err != nil {
		return err
	}
	if (provider == "local" || provider == "kind") && os.Getenv(local.VirtctlKubeVirtVersionEnv) == "" {
		return os.Setenv(local.VirtctlKubeVirtVersionEnv, p.KubeVirtVersion)
	}
	return nil
}
