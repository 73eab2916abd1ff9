package tiers

import (
	"fmt"
	"sort"
	"strings"

	"github.com/onsi/ginkgo/v2/reporters"
)

// SUTFile is where the suite's first process writes the system under test it detected
// (framework/sut), so the reports of a plain ginkgo run name it too; run.json, when the
// runner wrote one, takes precedence.
const SUTFile = "sut.json"

// Unknown is what the system-under-test fields say when nothing told them.
const Unknown = "unknown"

// SystemUnderTest is what ran on the cluster: the KubeVirt and virt-template versions (and
// how the latter was learned), the template API versions the cluster serves, prefers and
// the suite speaks, which implementation answered, and the release whose behaviour the
// specs expected. framework/sut detects it once per run; run.json, the JUnit suite
// properties and the header of every report carry it.
type SystemUnderTest struct {
	// KubeVirt is the KubeVirt CR's status.observedKubeVirtVersion, or "unknown".
	KubeVirt string `json:"kubevirt"`
	// VirtTemplate is the virt-template release detected on the cluster, or "unknown".
	VirtTemplate string `json:"virtTemplate"`
	// VirtTemplateSource says how VirtTemplate was learned (annotation, image tag, the
	// KubeVirt mapping) or why it is unknown.
	VirtTemplateSource string `json:"virtTemplateSource"`
	// ExpectedRelease is the release whose behaviour the specs expect (framework.Release):
	// the detected one unless --vmt.expect-release forced another; "unknown" means the
	// newest behaviour was assumed.
	ExpectedRelease       string `json:"expectedRelease"`
	ExpectedReleaseSource string `json:"expectedReleaseSource"`
	// APIs are the template API versions served, preferred by discovery and spoken.
	APIs APIVersions `json:"apis"`
	// Implementation names what answered: the component images (and, on the local lane,
	// the binary the simulator started), or "unknown".
	Implementation string `json:"implementation"`
	// Images maps each template component Deployment to its first container's image.
	Images map[string]string `json:"images,omitempty"`
	// Binary is the local lane's binary annotation of the components, when present.
	Binary string `json:"binary,omitempty"`
	// Profile is the local provider's profile (e.g. kubevirt-1.8); empty elsewhere.
	Profile string `json:"profile,omitempty"`
}

// APIVersions are the versions of the two template API groups.
type APIVersions struct {
	Template     GroupVersions `json:"template"`     // template.kubevirt.io
	Subresources GroupVersions `json:"subresources"` // subresources.template.kubevirt.io
	// Speaks is the version the suite reads and writes (the newest both groups serve):
	// v1beta1, v1alpha1, or "" when template.kubevirt.io is not served at all.
	Speaks string `json:"speaks"`
}

// GroupVersions is one group as discovery listed it.
type GroupVersions struct {
	Group     string   `json:"group"`
	Served    []string `json:"served"`
	Preferred string   `json:"preferred"`
}

// String is "v1alpha1, v1beta1 (preferred v1alpha1)" or "not served".
func (g GroupVersions) String() string {
	if len(g.Served) == 0 {
		return "not served"
	}
	return fmt.Sprintf("%s (preferred %s)", strings.Join(g.Served, ", "), orUnknown(g.Preferred))
}

// SpeaksText is the spoken version for people: "v1beta1", or "none (…not served)".
func (a APIVersions) SpeaksText() string {
	if a.Speaks == "" {
		return "none (" + a.Template.Group + " is not served)"
	}
	return a.Speaks
}

// PreferredText is "template.kubevirt.io v1beta1, subresources.template.kubevirt.io v1alpha1".
func (a APIVersions) PreferredText() string {
	return fmt.Sprintf("%s %s, %s %s", a.Template.Group, orUnknown(a.Template.Preferred),
		a.Subresources.Group, orUnknown(a.Subresources.Preferred))
}

// VirtTemplateText is "v0.2.2 (annotation … on CRD …)".
func (s SystemUnderTest) VirtTemplateText() string {
	return fmt.Sprintf("%s (%s)", orUnknown(s.VirtTemplate), orUnknown(s.VirtTemplateSource))
}

// ExpectedText is the release the specs expect with why, saying when the newest behaviour
// was assumed.
func (s SystemUnderTest) ExpectedText() string {
	text := fmt.Sprintf("%s (%s)", orUnknown(s.ExpectedRelease), orUnknown(s.ExpectedReleaseSource))
	if orUnknown(s.ExpectedRelease) == Unknown {
		text += "; newest behaviour assumed"
	}
	return text
}

// Items are the rows every rendering shows, in order: name, value.
func (s SystemUnderTest) Items() []NameValue {
	items := []NameValue{
		{"KubeVirt", orUnknown(s.KubeVirt)},
		{"virt-template", s.VirtTemplateText()},
		{"specs expect", s.ExpectedText()},
		{"API version spoken", s.APIs.SpeaksText()},
		{"API versions served", fmt.Sprintf("%s %s; %s %s", s.APIs.Template.Group, s.APIs.Template.Served0(), s.APIs.Subresources.Group, s.APIs.Subresources.Served0())},
		{"preferred (discovery)", s.APIs.PreferredText()},
		{"implementation", orUnknown(s.Implementation)},
	}
	if s.Profile != "" {
		items = append(items, NameValue{"local profile", s.Profile})
	}
	return items
}

// Served0 is the served versions joined, or "none".
func (g GroupVersions) Served0() string {
	if len(g.Served) == 0 {
		return "none"
	}
	return strings.Join(g.Served, ", ")
}

// Lines renders Items as "name: value" lines, for the runner's and the suite's output.
func (s SystemUnderTest) Lines() []string {
	var out []string
	for _, it := range s.Items() {
		out = append(out, fmt.Sprintf("%-22s %s", it.Name+":", it.Value))
	}
	return out
}

// NameValue is one row of a rendering.
type NameValue struct{ Name, Value string }

// JUnit suite-level property names of the system under test.
const (
	PropSUTKubeVirt           = "vmt-sut-kubevirt"
	PropSUTVirtTemplate       = "vmt-sut-virt-template"
	PropSUTVirtTemplateSource = "vmt-sut-virt-template-source"
	PropSUTExpectedRelease    = "vmt-sut-expected-release"
	PropSUTAPISpoken          = "vmt-sut-api-version"
	PropSUTAPIPreferred       = "vmt-sut-api-preferred"
	PropSUTAPIServed          = "vmt-sut-api-served"
	PropSUTImplementation     = "vmt-sut-implementation"
	PropSUTProfile            = "vmt-sut-profile"
)

// junitProperties are the suite-level properties of s; a nil s says every value is
// unknown, so a reader never mistakes a missing detection for an empty one.
func (s *SystemUnderTest) junitProperties() []reporters.JUnitProperty {
	if s == nil {
		return []reporters.JUnitProperty{{Name: PropSUTVirtTemplate, Value: Unknown + " (not detected: no run.json or sut.json)"}}
	}
	props := []reporters.JUnitProperty{
		{Name: PropSUTKubeVirt, Value: orUnknown(s.KubeVirt)},
		{Name: PropSUTVirtTemplate, Value: orUnknown(s.VirtTemplate)},
		{Name: PropSUTVirtTemplateSource, Value: orUnknown(s.VirtTemplateSource)},
		{Name: PropSUTExpectedRelease, Value: s.ExpectedText()},
		{Name: PropSUTAPISpoken, Value: s.APIs.SpeaksText()},
		{Name: PropSUTAPIPreferred, Value: s.APIs.PreferredText()},
		{Name: PropSUTAPIServed, Value: fmt.Sprintf("%s %s; %s %s", s.APIs.Template.Group, s.APIs.Template.Served0(), s.APIs.Subresources.Group, s.APIs.Subresources.Served0())},
		{Name: PropSUTImplementation, Value: orUnknown(s.Implementation)},
	}
	if s.Profile != "" {
		props = append(props, reporters.JUnitProperty{Name: PropSUTProfile, Value: s.Profile})
	}
	return props
}

// ImagesText is "deployment=image, …" sorted by deployment.
func ImagesText(images map[string]string) string {
	names := make([]string, 0, len(images))
	for n := range images {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + images[n]
	}
	return strings.Join(parts, ", ")
}

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return Unknown
	}
	return s
}
