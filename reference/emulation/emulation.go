// Package emulation chooses which virt-template release the reference implementation plays
// (issue 13, item 4): the --emulate-release flag of vmt-template-apiserver,
// vmt-template-controller and reference/config/render, its default and its lower bound.
//
// What a release does is asked of the behaviour table only
// (release.For(v).Has(release.ServesV1beta1), …); the one version comparison here is the
// support bound, Oldest.
package emulation

import (
	"fmt"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
)

// FlagName is the flag of both components and of the manifest renderer.
const FlagName = "emulate-release"

// Default is the release the reference plays unless told otherwise: v0.2.2, what KubeVirt
// v1.9.0 deploys (framework/release KubeVirtBundles).
var Default = release.MustParse("v0.2.2")

// Oldest is the oldest release the reference can play: v0.1.7, the oldest any KubeVirt
// deploys (v1.8.0). Older releases differ in rows whose older form the reference does not
// implement (release.VAPSourceSubresource, WebhookRendersTemplate, VersionAnnotated before
// v0.1.5; AggregatedRoles before v0.1.3), so they are refused.
var Oldest = release.MustParse("v0.1.7")

// Usage is the flag's help text (the backquoted word names the value in -help).
const Usage = "virt-template release to behave as: what it serves, its manifests, its controller; " +
	"a `version` such as v0.1.8, or \"\" or \"unknown\" for the newest behaviour of the release table " +
	"(framework/release); oldest supported v0.1.7 (not an upstream flag)"

// Check refuses releases older than Oldest; the unknown version (newest behaviour) is fine.
func Check(v release.Version) error {
	if !v.Unknown() && v.Less(Oldest) {
		return fmt.Errorf("virt-template %s cannot be emulated: the oldest release the reference implementation plays is %s", v, Oldest)
	}
	return nil
}

// Parse reads a flag value: release.Parse, then Check.
func Parse(s string) (release.Version, error) {
	v, err := release.Parse(s)
	if err != nil {
		return release.Version{}, err
	}
	if err := Check(v); err != nil {
		return release.Version{}, err
	}
	return v, nil
}

// Resolve is *v, or Default when v is nil (the zero value of the options that carry a
// *release.Version).
func Resolve(v *release.Version) release.Version {
	if v == nil {
		return Default
	}
	return *v
}

// Flag binds --emulate-release to *V: it is a flag.Value and a pflag.Value.
type Flag struct{ V *release.Version }

// String is the current value ("v0.2.2", or "unknown").
func (f Flag) String() string {
	if f.V == nil {
		return "" // the zero Flag: lets -help print the default
	}
	return f.V.String()
}

// Set parses and checks s.
func (f Flag) Set(s string) error {
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*f.V = v
	return nil
}

// Type names the value in pflag's help.
func (Flag) Type() string { return "version" }

// Banner is the one start line naming the release a component plays.
func Banner(component string, v release.Version) string {
	if v.Unknown() {
		return fmt.Sprintf("%s: emulating virt-template unknown (newest behaviour of the release table)", component)
	}
	return fmt.Sprintf("%s: emulating virt-template %s", component, v)
}
