package tiers

import (
	"slices"
	"strings"
)

// Tiers. A spec's tier always comes from its scenario (tiers.Scenario); specs never set it.
const (
	Tier1 = "tier1" // functional: one feature, API contracts (testing-tiers.md)
	Tier2 = "tier2" // end-to-end: multi-feature, upgrade, capability toggles
	Tier3 = "tier3" // extended: expensive to run (Windows guests)
	// Scale is the tier of the scalability NFR (VMT-024). It has its own lane; no tier
	// lane, nightly or ga-readiness selects it.
	Scale = "scale"
)

// Priorities, from the STP's testing goals.
const (
	P0 = "P0"
	P1 = "P1"
	P2 = "P2"
)

// JiraEpic is the STP's traceability key; every scenario carries it. Other Jira keys
// (e.g. CNV-97433, CNV-86058) come from scenarios.yaml and are listed by JiraKeys.
const JiraEpic = "CNV-73392"

// Capabilities a cluster may lack. The runner adds `!requires-X` to the lane expression
// for every capability its provider does not have (LabelFilter). A spec that is selected
// but finds its capability missing fails; it never skips.
const (
	// RequiresGuest: VMs boot a real guest OS (guest agent, console). The hermetic lane's
	// simulator never fakes guest state, so it lacks this.
	RequiresGuest = "requires-guest"
	// RequiresWindowsImage: a Windows golden-image DataSource exists (framework/windows).
	RequiresWindowsImage = "requires-windows-image"
	// RequiresSnapshotStorage: a storage class with VolumeSnapshots and clone-from-snapshot,
	// which a successful VirtualMachineTemplateRequest capture needs.
	RequiresSnapshotStorage = "requires-snapshot-storage"
	// RequiresOpenShift: OpenShift APIs, notably template.openshift.io Templates.
	RequiresOpenShift = "requires-openshift"
	// RequiresVirtctl: a virtctl with the `template` commands (upstream or our reference CLI).
	RequiresVirtctl = "requires-virtctl"
	// RequiresTemplateOperator: an operator deploys and removes virt-template from the
	// Template capability (virt-operator, HCO, or the hermetic simulator), so a Serial spec
	// may toggle it.
	RequiresTemplateOperator = "requires-template-operator"
	// RequiresHCO: the HyperConverged CR (OpenShift Virtualization) manages the gate.
	RequiresHCO = "requires-hco"
	// RequiresV1beta1: template.kubevirt.io and subresources.template.kubevirt.io serve
	// v1beta1 (virt-template v0.2.0 and later, KubeVirt v1.9). The Beta behaviours
	// (both API versions, spec.templateLabels, spec.ttlSecondsAfterFinished) need it;
	// the framework decides it from discovery on every provider (framework/sut).
	RequiresV1beta1 = "requires-v1beta1"
	// RequiresMonitoring: the cluster's Prometheus alerts API answers (Prometheus Operator's
	// prometheus-operated Service, or the Service VMT_MONITORING_ALERTS names), so the
	// monitoring NFR (VMT-030) can compare the alerts firing before and after a measurement.
	RequiresMonitoring = "requires-monitoring"
)

// Behaviour labels.
const (
	// Serial is the label ginkgo adds by itself to specs decorated with ginkgo.Serial.
	// Never attach it by hand: a label without the decorator would not make the spec run
	// alone. Ginkgo's label filters match case-insensitively, so `serial` in an expression
	// selects it.
	Serial = "Serial"
	// UpgradePre and UpgradePost mark the two phases of an upgrade spec (VMT-012). Such
	// specs only run in the upgrade-pre / upgrade-post lanes.
	UpgradePre  = "upgrade-pre"
	UpgradePost = "upgrade-post"
	// Disruptive: the spec changes cluster-wide state other workloads see (e.g. disables
	// the Template capability).
	Disruptive = "disruptive"
)

// Sentinel labels returned instead of an invalid id or label, so that ginkgo accepts the
// decorator (ginkgo exits at tree construction on an invalid label string) and the spec
// is visibly broken. They are not in the vocabulary: the catalogue check flags them, and
// RegistrationErrors explains them.
const (
	InvalidScenario = "invalid-scenario"
	InvalidLabel    = "invalid-label"
)

// The vocabulary's fixed parts, each kept in exactly one list. Scenario ids and Jira keys
// are the other part and come from scenarios.yaml.
var (
	tierLabels       = []string{Tier1, Tier2, Tier3, Scale}
	priorityLabels   = []string{P0, P1, P2}
	capabilityLabels = []string{
		RequiresGuest,
		RequiresWindowsImage,
		RequiresSnapshotStorage,
		RequiresOpenShift,
		RequiresVirtctl,
		RequiresTemplateOperator,
		RequiresHCO,
		RequiresV1beta1,
		RequiresMonitoring,
	}
	behaviourLabels = []string{Serial, UpgradePre, UpgradePost, Disruptive}
)

// labelKind says which part of the vocabulary a label belongs to.
type labelKind int

const (
	kindUnknown labelKind = iota
	kindTier
	kindPriority
	kindScenario
	kindJira
	kindCapability
	kindBehaviour
)

// Tiers returns the tier labels.
func Tiers() []string { return slices.Clone(tierLabels) }

// Priorities returns the priority labels.
func Priorities() []string { return slices.Clone(priorityLabels) }

// Capabilities returns the capability labels (the one list of them).
func Capabilities() []string { return slices.Clone(capabilityLabels) }

// Behaviours returns the behaviour labels.
func Behaviours() []string { return slices.Clone(behaviourLabels) }

// ScenarioIDs returns every scenario id in the catalogue, in or out of scope, sorted.
func ScenarioIDs() []string { return defaultCatalogue.ids() }

// JiraKeys returns every Jira key the catalogue uses, sorted.
func JiraKeys() []string { return defaultCatalogue.jiraKeys() }

// Vocabulary returns every known label, grouped as tiers, priorities, scenario ids, Jira
// keys, capabilities, behaviours.
func Vocabulary() []string { return defaultCatalogue.vocabulary() }

// Known reports whether label is in the closed vocabulary. The match is exact: labels
// are written in one spelling even though ginkgo's filters ignore case.
func Known(label string) bool { return defaultCatalogue.kindOf(label) != kindUnknown }

// IsCapability reports whether label is a capability label.
func IsCapability(label string) bool { return slices.Contains(capabilityLabels, label) }

func (c *ScenarioCatalogue) kindOf(label string) labelKind {
	switch {
	case slices.Contains(tierLabels, label):
		return kindTier
	case slices.Contains(priorityLabels, label):
		return kindPriority
	case slices.Contains(capabilityLabels, label):
		return kindCapability
	case slices.Contains(behaviourLabels, label):
		return kindBehaviour
	}
	if _, ok := c.byID[label]; ok {
		return kindScenario
	}
	if slices.Contains(c.jira, label) {
		return kindJira
	}
	return kindUnknown
}

func (c *ScenarioCatalogue) ids() []string {
	out := make([]string, 0, len(c.scenarios))
	for _, s := range c.scenarios {
		out = append(out, s.ID)
	}
	return out
}

func (c *ScenarioCatalogue) inScopeIDs() []string {
	var out []string
	for _, s := range c.scenarios {
		if s.InScope {
			out = append(out, s.ID)
		}
	}
	return out
}

func (c *ScenarioCatalogue) jiraKeys() []string { return slices.Clone(c.jira) }

func (c *ScenarioCatalogue) vocabulary() []string {
	var out []string
	out = append(out, tierLabels...)
	out = append(out, priorityLabels...)
	out = append(out, c.ids()...)
	out = append(out, c.jira...)
	out = append(out, capabilityLabels...)
	out = append(out, behaviourLabels...)
	return out
}

// describeVocabulary is the one-line "known set" used in error messages.
func (c *ScenarioCatalogue) describeVocabulary() string {
	return "known labels: tiers " + strings.Join(tierLabels, " ") +
		"; priorities " + strings.Join(priorityLabels, " ") +
		"; scenarios " + idRange(c.ids()) +
		"; Jira " + strings.Join(c.jira, " ") +
		"; capabilities " + strings.Join(capabilityLabels, " ") +
		"; behaviour " + strings.Join(behaviourLabels, " ")
}

// idRange prints sorted ids compactly: "VMT-001…VMT-024" when there are many.
func idRange(ids []string) string {
	switch len(ids) {
	case 0:
		return "(none)"
	case 1, 2, 3:
		return strings.Join(ids, " ")
	}
	return ids[0] + "…" + ids[len(ids)-1]
}

// caseTwin returns the vocabulary label equal to label ignoring case, if any; used to
// point at the canonical spelling ("serial" -> "Serial").
func (c *ScenarioCatalogue) caseTwin(label string) (string, bool) {
	for _, known := range c.vocabulary() {
		if strings.EqualFold(known, label) && known != label {
			return known, true
		}
	}
	return "", false
}
