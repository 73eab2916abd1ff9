package operator

import (
	"slices"

	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
)

// TemplateGate is the KubeVirt feature gate of the template feature.
const TemplateGate = "Template"

// GateMaturity says whether the Template gate is on when a KubeVirt CR does not mention it:
// Alpha (KubeVirt v1.8: opt-in through featureGates) or Beta (v1.9: on unless listed in
// disabledFeatureGates).
type GateMaturity string

const (
	Alpha GateMaturity = "alpha"
	Beta  GateMaturity = "beta"
)

// templateGateBeta is the first KubeVirt version whose Template gate is Beta: kubevirt/kubevirt
// pkg/virt-config/featuregate/active.go@v1.8.0:274 registers it Alpha (so do v1.8.1 … v1.8.4),
// @v1.9.0:325 Beta; v1.9.0-alpha.0 and -beta.0 still have it Alpha, -rc.0 has it Beta.
var templateGateBeta = release.MustParse("v1.9.0-rc.0")

// MaturityFor is the Template gate's maturity in KubeVirt version kv: Alpha up to v1.8.x
// (and v1.9.0-beta.0), Beta from v1.9.0-rc.0 on, and for the unknown version (the newest).
func MaturityFor(kv release.Version) GateMaturity {
	if kv.Less(templateGateBeta) {
		return Alpha
	}
	return Beta
}

// Wanted reports whether virt-operator would deploy virt-template for kv, and why: the
// Template gate must be on (explicitly, or by the Beta default) and
// spec.configuration.virtTemplateDeployment.enabled must not be false.
func Wanted(kv *kubevirtv1.KubeVirt, maturity GateMaturity) (bool, string) {
	if kv == nil {
		return false, "no KubeVirt CR"
	}
	if kv.DeletionTimestamp != nil {
		return false, "the KubeVirt CR is being deleted"
	}
	cfg := kv.Spec.Configuration
	on := maturity == Beta
	why := "the Template gate is Beta and not disabled"
	if !on {
		why = "the Template gate is Alpha and not listed in featureGates"
	}
	if dc := cfg.DeveloperConfiguration; dc != nil {
		if slices.Contains(dc.FeatureGates, TemplateGate) {
			on, why = true, "Template is listed in featureGates"
		}
		if slices.Contains(dc.DisabledFeatureGates, TemplateGate) {
			on, why = false, "Template is listed in disabledFeatureGates"
		}
	}
	if on && cfg.VirtTemplateDeployment != nil && cfg.VirtTemplateDeployment.Enabled != nil && !*cfg.VirtTemplateDeployment.Enabled {
		return false, "virtTemplateDeployment.enabled is false"
	}
	return on, why
}
