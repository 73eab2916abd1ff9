// Package sut detects the system under test once per run: the template API versions the
// cluster serves (and which of them discovery prefers and the suite speaks), the KubeVirt
// and virt-template versions and how the latter was learned, which implementation answers,
// and the local lane's profile. The suite's first process detects it and hands it to the
// others in framework.Session; specs read framework.SUT() and framework.Release(); the
// runner (cmd/vmt-e2e) detects it too, to filter requires-v1beta1 and write run.json.
package sut

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// The template API groups and versions.
const (
	TemplateGroup    = "template.kubevirt.io"
	SubresourceGroup = "subresources.template.kubevirt.io"
	V1alpha1         = "v1alpha1"
	V1beta1          = "v1beta1"
)

// BinaryAnnotation is the annotation the local lane's simulator puts on the template
// component Deployments naming the binary that answers ("<path> sha256:<12 hex>",
// reference/sim/operator.BinaryAnnotation); real clusters lack it.
const BinaryAnnotation = "vmt-conformance.io/binary"

// ProfileEnv carries the local provider's profile from the runner to the suite, whose
// first process adopts the runner's cluster as the existing provider.
const ProfileEnv = "VMT_SUT_PROFILE"

// The objects detection reads.
var (
	// CRDs are read for release.VersionAnnotation, in this order.
	CRDs = []string{"virtualmachinetemplates." + TemplateGroup, "virtualmachinetemplaterequests." + TemplateGroup}
	// Deployments are the template components in the install namespace, read for the
	// annotation, their images and the binary annotation, in this order.
	Deployments = []string{"virt-template-apiserver", "virt-template-controller"}

	crdGVR        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	deploymentGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	kubevirtGVR   = schema.GroupVersionResource{Group: "kubevirt.io", Version: "v1", Resource: "kubevirts"}
)

// SUT is the system under test: the recorded data (tiers.SystemUnderTest, the run.json
// schema) with what specs ask of it.
type SUT struct {
	tiers.SystemUnderTest
}

// Release is the behaviour the specs expect: ExpectedRelease (forced or detected); the
// unknown version gives the newest behaviour.
func (s SUT) Release() release.Release {
	r, err := release.ForString(s.ExpectedRelease)
	if err != nil {
		return release.For(release.Version{})
	}
	return r
}

// SpeaksV1beta1 reports whether the suite speaks v1beta1, i.e. both groups serve it.
func (s SUT) SpeaksV1beta1() bool { return s.APIs.Speaks == V1beta1 }

// TemplateVersion is the template.kubevirt.io version the suite speaks (v1beta1 when the
// cluster serves no template API at all, so requests fail with the server's own answer).
func (s SUT) TemplateVersion() string {
	if s.APIs.Speaks == "" {
		return V1beta1
	}
	return s.APIs.Speaks
}

// SubresourceVersion is the subresources.template.kubevirt.io version for /process and
// /create: the spoken one.
func (s SUT) SubresourceVersion() string { return s.TemplateVersion() }

// V1beta1 decides the v1beta1 capability (label requires-v1beta1) and says why.
func (s SUT) V1beta1() (bool, string) {
	vt := s.VirtTemplate
	if vt == "" {
		vt = tiers.Unknown
	}
	tpl, sub := s.APIs.Template, s.APIs.Subresources
	switch {
	case s.SpeaksV1beta1():
		return true, fmt.Sprintf("virt-template %s: %s and %s serve v1beta1", vt, TemplateGroup, SubresourceGroup)
	case len(tpl.Served) == 0:
		return false, fmt.Sprintf("virt-template %s: %s is not served", vt, TemplateGroup)
	case slices.Contains(tpl.Served, V1beta1):
		return false, fmt.Sprintf("virt-template %s serves %s only in %s", vt, SubresourceGroup, sub.Served0())
	}
	return false, fmt.Sprintf("virt-template %s serves only %s", vt, strings.Join(tpl.Served, ", "))
}

// SetCapability records the v1beta1 capability in caps, as every provider gets it.
func (s SUT) SetCapability(caps cluster.Capabilities) {
	ok, why := s.V1beta1()
	caps.Set(cluster.V1beta1, ok, why)
}

// Options are what detection needs beyond the cluster.
type Options struct {
	// InstallNamespace holds the KubeVirt CR and the template components.
	InstallNamespace string
	// ExpectRelease forces the expected release (--vmt.expect-release); "" = detected.
	ExpectRelease string
	// Profile is the local provider's profile, "" elsewhere (see ProfileOf).
	Profile string
}

// ProfileOf is the local provider's profile name, else what the runner passed in
// ProfileEnv (the suite adopts the runner's local cluster as the existing provider).
func ProfileOf(p cluster.Provider) string {
	if lp, ok := p.(*local.Provider); ok {
		return lp.Profile().Name
	}
	return os.Getenv(ProfileEnv)
}

// Groups is the part of discovery detection reads (discovery.DiscoveryInterface has it).
type Groups interface {
	ServerGroups() (*metav1.APIGroupList, error)
}

// Detect reads the system under test through cfg. Only discovery failing is an error:
// whatever else cannot be read is "unknown", and the SUT says why.
func Detect(ctx context.Context, cfg *rest.Config, opts Options) (SUT, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return SUT{}, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return SUT{}, err
	}
	return DetectWith(ctx, dc, dyn, opts)
}

// DetectWith is Detect with the clients given (fakes in tests).
func DetectWith(ctx context.Context, groups Groups, dyn dynamic.Interface, opts Options) (SUT, error) {
	var s SUT
	list, err := groups.ServerGroups()
	if err != nil && list == nil {
		return s, fmt.Errorf("detecting the system under test: reading API discovery: %w", err)
	}
	s.APIs.Template = groupVersions(list, TemplateGroup)
	s.APIs.Subresources = groupVersions(list, SubresourceGroup)
	switch {
	case slices.Contains(s.APIs.Template.Served, V1beta1) && slices.Contains(s.APIs.Subresources.Served, V1beta1):
		s.APIs.Speaks = V1beta1
	case slices.Contains(s.APIs.Template.Served, V1alpha1):
		s.APIs.Speaks = V1alpha1
	}

	s.KubeVirt = kubeVirtVersion(ctx, dyn, opts.InstallNamespace)
	d := detector{ctx: ctx, dyn: dyn, ns: opts.InstallNamespace}
	d.read()
	s.Images, s.Binary = d.images, d.binary
	s.Implementation = implementation(d.images, d.binary)
	vt, source := d.virtTemplate(s.KubeVirt)
	s.VirtTemplate, s.VirtTemplateSource = vt.String(), source
	s.Profile = opts.Profile

	switch {
	case opts.ExpectRelease != "":
		want, err := release.Parse(opts.ExpectRelease)
		if err != nil {
			return s, fmt.Errorf("--vmt.expect-release: %w", err)
		}
		s.ExpectedRelease = want.String()
		s.ExpectedReleaseSource = fmt.Sprintf("forced by --vmt.expect-release; detected %s", vt)
	case vt.Unknown():
		s.ExpectedRelease, s.ExpectedReleaseSource = tiers.Unknown, "the virt-template release was not detected"
	default:
		s.ExpectedRelease, s.ExpectedReleaseSource = vt.String(), "detected"
	}
	return s, nil
}

// groupVersions lists the versions of group, oldest first, with discovery's preferred one.
func groupVersions(list *metav1.APIGroupList, group string) tiers.GroupVersions {
	gv := tiers.GroupVersions{Group: group, Served: []string{}}
	if list == nil {
		return gv
	}
	for _, g := range list.Groups {
		if g.Name != group {
			continue
		}
		for _, v := range g.Versions {
			if !slices.Contains(gv.Served, v.Version) {
				gv.Served = append(gv.Served, v.Version)
			}
		}
		gv.Preferred = g.PreferredVersion.Version
	}
	// Oldest first: v1alpha1 before v1beta1 (Kubernetes version priority).
	slices.SortFunc(gv.Served, version.CompareKubeAwareVersionStrings)
	return gv
}

func kubeVirtVersion(ctx context.Context, dyn dynamic.Interface, ns string) string {
	list, err := dyn.Resource(kubevirtGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return tiers.Unknown
	}
	for _, kv := range list.Items {
		if v, _, _ := unstructured.NestedString(kv.Object, "status", "observedKubeVirtVersion"); v != "" {
			return v
		}
	}
	return tiers.Unknown
}

// detector holds what it read of the CRDs and the component Deployments.
type detector struct {
	ctx context.Context
	dyn dynamic.Interface
	ns  string

	annotated []found // version annotations, CRDs then Deployments
	images    map[string]string
	binary    string
	notes     []string
}

type found struct {
	where, value string
}

func (d *detector) read() {
	d.images = map[string]string{}
	for _, name := range CRDs {
		crd, err := d.dyn.Resource(crdGVR).Get(d.ctx, name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		if v, ok := crd.GetAnnotations()[release.VersionAnnotation]; ok {
			d.annotated = append(d.annotated, found{"CustomResourceDefinition " + name, v})
		}
	}
	var binaries []string
	for _, name := range Deployments {
		dep, err := d.dyn.Resource(deploymentGVR).Namespace(d.ns).Get(d.ctx, name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		where := "Deployment " + d.ns + "/" + name
		if v, ok := dep.GetAnnotations()[release.VersionAnnotation]; ok {
			d.annotated = append(d.annotated, found{where, v})
		}
		if b := dep.GetAnnotations()[BinaryAnnotation]; b != "" {
			binaries = append(binaries, name+"="+b)
		}
		containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
		if len(containers) > 0 {
			if c, ok := containers[0].(map[string]any); ok {
				if img, _ := c["image"].(string); img != "" {
					d.images[name] = img
				}
			}
		}
	}
	d.binary = strings.Join(binaries, ", ")
}

// virtTemplate decides the release: the version annotation, else an image tag, else the
// KubeVirt mapping, else unknown; the text says which and what disagreed.
func (d *detector) virtTemplate(kubevirt string) (release.Version, string) {
	for i, a := range d.annotated {
		v, err := release.Parse(a.value)
		if err != nil || v.Unknown() {
			d.notes = append(d.notes, fmt.Sprintf("%s has %s=%q, not a version", a.where, release.VersionAnnotation, a.value))
			continue
		}
		source := fmt.Sprintf("annotation %s on %s", release.VersionAnnotation, a.where)
		for _, other := range d.annotated[i+1:] {
			if o, err := release.Parse(other.value); err == nil && o.Compare(v) != 0 {
				source += fmt.Sprintf("; %s says %s", other.where, other.value)
			}
		}
		return v, source
	}
	for _, name := range Deployments {
		img, ok := d.images[name]
		if !ok {
			continue
		}
		v, err := release.FromImage(img)
		switch {
		case err != nil:
			d.notes = append(d.notes, fmt.Sprintf("image %s of Deployment %s has no version tag", img, name))
		case v.Unknown():
			d.notes = append(d.notes, fmt.Sprintf("image %s of Deployment %s is not tagged with a version", img, name))
		default:
			return v, fmt.Sprintf("image tag of Deployment %s/%s (%s)", d.ns, name, img)
		}
	}
	if kubevirt != tiers.Unknown {
		v, err := release.ForKubeVirt(kubevirt)
		switch {
		case errors.Is(err, release.ErrNoVirtTemplate):
			d.notes = append(d.notes, fmt.Sprintf("KubeVirt %s deploys no virt-template", kubevirt))
		case err != nil:
			d.notes = append(d.notes, err.Error())
		case v.Unknown():
			d.notes = append(d.notes, fmt.Sprintf("KubeVirt %s is newer than the mapping", kubevirt))
		default:
			return v, fmt.Sprintf("KubeVirt %s deploys it (release.ForKubeVirt; no version annotation or image tag)", kubevirt)
		}
	}
	if len(d.notes) == 0 {
		d.notes = append(d.notes, "no version annotation, component Deployment or KubeVirt version found")
	}
	return release.Version{}, "not detected: " + strings.Join(d.notes, "; ")
}

func implementation(images map[string]string, binary string) string {
	switch {
	case binary != "" && len(images) > 0:
		return fmt.Sprintf("binaries %s (images %s)", binary, tiers.ImagesText(images))
	case binary != "":
		return "binaries " + binary
	case len(images) > 0:
		return tiers.ImagesText(images)
	}
	return tiers.Unknown
}

// WriteFile writes s as tiers.SUTFile into dir, so reports of a plain ginkgo run name the
// system under test.
func WriteFile(dir string, s SUT) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(s.SystemUnderTest, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, tiers.SUTFile), append(raw, '\n'), 0o644)
}
