package sut

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
)

const ns = "kubevirt"

// disco serves the given group versions; the fake prefers the first version listed of a group.
func disco(gvs ...string) *discoveryfake.FakeDiscovery {
	f := &discoveryfake.FakeDiscovery{Fake: &clienttesting.Fake{}}
	for _, gv := range gvs {
		f.Resources = append(f.Resources, &metav1.APIResourceList{GroupVersion: gv})
	}
	return f
}

var (
	alphaOnly = []string{TemplateGroup + "/v1alpha1", SubresourceGroup + "/v1alpha1"}
	// v0.2.x: v1beta1 preferred for the CRDs, v1alpha1 for the subresources (versionPriority).
	both = []string{TemplateGroup + "/v1beta1", TemplateGroup + "/v1alpha1", SubresourceGroup + "/v1alpha1", SubresourceGroup + "/v1beta1"}
)

func obj(apiVersion, kind, namespace, name string, annotations map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	if annotations != nil {
		u.SetAnnotations(annotations)
	}
	return u
}

func kubevirtCR(version string) *unstructured.Unstructured {
	u := obj("kubevirt.io/v1", "KubeVirt", ns, "kubevirt", nil)
	if version != "" {
		_ = unstructured.SetNestedField(u.Object, version, "status", "observedKubeVirtVersion")
	}
	return u
}

func crd(name, ver string) *unstructured.Unstructured {
	var ann map[string]string
	if ver != "" {
		ann = map[string]string{release.VersionAnnotation: ver}
	}
	return obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", name, ann)
}

func deployment(name, image string, ann map[string]string) *unstructured.Unstructured {
	u := obj("apps/v1", "Deployment", ns, name, ann)
	_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"name": "c", "image": image}}, "spec", "template", "spec", "containers")
	return u
}

func dyn(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		kubevirtGVR: "KubeVirtList", crdGVR: "CustomResourceDefinitionList", deploymentGVR: "DeploymentList",
	}, objs...)
}

func detect(t *testing.T, groups Groups, objs []runtime.Object, opts Options) SUT {
	t.Helper()
	if opts.InstallNamespace == "" {
		opts.InstallNamespace = ns
	}
	s, err := DetectWith(context.Background(), groups, dyn(objs...), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestV1alpha1OnlyClusterFromTheKubeVirtMapping(t *testing.T) {
	// KubeVirt v1.8.1 as shipped: no annotation kept on these objects, images by digest.
	s := detect(t, disco(alphaOnly...), []runtime.Object{
		kubevirtCR("v1.8.1"),
		deployment("virt-template-apiserver", "quay.io/kubevirt/virt-template-apiserver@sha256:aa", nil),
		deployment("virt-template-controller", "quay.io/kubevirt/virt-template-controller@sha256:bb", nil),
	}, Options{})
	if s.KubeVirt != "v1.8.1" || s.VirtTemplate != "v0.1.7" || !strings.Contains(s.VirtTemplateSource, "KubeVirt v1.8.1 deploys it") {
		t.Fatalf("versions: %+v", s.SystemUnderTest)
	}
	if s.APIs.Speaks != V1alpha1 || s.SpeaksV1beta1() || s.SubresourceVersion() != V1alpha1 {
		t.Errorf("spoken %q, want v1alpha1", s.APIs.Speaks)
	}
	if s.APIs.Template.Preferred != V1alpha1 || strings.Join(s.APIs.Template.Served, ",") != "v1alpha1" {
		t.Errorf("template group %+v", s.APIs.Template)
	}
	if s.ExpectedRelease != "v0.1.7" || s.ExpectedReleaseSource != "detected" || s.Release().Has(release.StripsMACSerialUUID) {
		t.Errorf("expected %s (%s)", s.ExpectedRelease, s.ExpectedReleaseSource)
	}
	if !strings.Contains(s.Implementation, "virt-template-controller=quay.io/kubevirt/virt-template-controller@sha256:bb") {
		t.Errorf("implementation %q", s.Implementation)
	}
	caps := cluster.NewCapabilities()
	s.SetCapability(caps)
	if caps.Has(cluster.V1beta1) || caps.Reason(cluster.V1beta1) != "virt-template v0.1.7 serves only v1alpha1" {
		t.Errorf("v1beta1 capability: %t, %q", caps.Has(cluster.V1beta1), caps.Reason(cluster.V1beta1))
	}
}

func TestBothVersionsFromTheAnnotation(t *testing.T) {
	s := detect(t, disco(both...), []runtime.Object{
		kubevirtCR("v1.9.0"),
		crd(CRDs[0], "v0.2.2"),
		crd(CRDs[1], "v0.2.2"),
		deployment("virt-template-apiserver", "quay.io/kubevirt/virt-template-apiserver:v0.2.2", map[string]string{release.VersionAnnotation: "v0.2.2"}),
	}, Options{})
	if s.VirtTemplate != "v0.2.2" || s.VirtTemplateSource != "annotation template.kubevirt.io/virt-template-version on CustomResourceDefinition virtualmachinetemplates.template.kubevirt.io" {
		t.Fatalf("virt-template %s (%s)", s.VirtTemplate, s.VirtTemplateSource)
	}
	if s.APIs.Speaks != V1beta1 || s.APIs.Template.Preferred != V1beta1 || s.APIs.Subresources.Preferred != V1alpha1 {
		t.Errorf("spoken %q, preferred %q/%q: spoken and preferred differ on v0.2.x", s.APIs.Speaks, s.APIs.Template.Preferred, s.APIs.Subresources.Preferred)
	}
	if got := strings.Join(s.APIs.Subresources.Served, ","); got != "v1alpha1,v1beta1" {
		t.Errorf("served %s, want oldest first", got)
	}
	if ok, why := s.V1beta1(); !ok || !strings.Contains(why, "serve v1beta1") {
		t.Errorf("v1beta1: %t %q", ok, why)
	}
}

func TestImageTagWhenNotAnnotated(t *testing.T) {
	s := detect(t, disco(alphaOnly...), []runtime.Object{
		kubevirtCR("v1.8.1"), // the mapping says v0.1.7; the image says what really runs
		crd(CRDs[0], ""),
		deployment("virt-template-apiserver", "registry.example/virt-template-apiserver:v0.1.8", nil),
	}, Options{})
	if s.VirtTemplate != "v0.1.8" || !strings.Contains(s.VirtTemplateSource, "image tag of Deployment kubevirt/virt-template-apiserver") {
		t.Fatalf("virt-template %s (%s)", s.VirtTemplate, s.VirtTemplateSource)
	}
}

// The local lane: the annotation names the release the reference emulates, the images are
// tagged devel, the binary annotation names what really answers.
func TestLocalLaneAnnotationBinaryAndProfile(t *testing.T) {
	ann := map[string]string{release.VersionAnnotation: "v0.1.8", BinaryAnnotation: "/cache/bin/vmt-template-apiserver sha256:0123456789ab"}
	s := detect(t, disco(alphaOnly...), []runtime.Object{
		kubevirtCR("v1.8.3"),
		deployment("virt-template-apiserver", "ghcr.io/vmt-conformance/vmt-template-apiserver:devel", ann),
	}, Options{Profile: "kubevirt-1.8"})
	if s.VirtTemplate != "v0.1.8" || !strings.Contains(s.VirtTemplateSource, "Deployment kubevirt/virt-template-apiserver") {
		t.Fatalf("virt-template %s (%s)", s.VirtTemplate, s.VirtTemplateSource)
	}
	if s.Binary != "virt-template-apiserver=/cache/bin/vmt-template-apiserver sha256:0123456789ab" ||
		s.Implementation != "binaries virt-template-apiserver=/cache/bin/vmt-template-apiserver sha256:0123456789ab (images virt-template-apiserver=ghcr.io/vmt-conformance/vmt-template-apiserver:devel)" {
		t.Errorf("implementation %q", s.Implementation)
	}
	if s.Profile != "kubevirt-1.8" {
		t.Errorf("profile %q", s.Profile)
	}
}

func TestDisagreeingAnnotationsAreNamed(t *testing.T) {
	s := detect(t, disco(both...), []runtime.Object{
		crd(CRDs[0], "v0.2.2"),
		deployment("virt-template-controller", "x/virt-template-controller:v0.2.1", map[string]string{release.VersionAnnotation: "v0.2.1"}),
	}, Options{})
	if s.VirtTemplate != "v0.2.2" || !strings.Contains(s.VirtTemplateSource, "Deployment kubevirt/virt-template-controller says v0.2.1") {
		t.Fatalf("virt-template %s (%s)", s.VirtTemplate, s.VirtTemplateSource)
	}
}

func TestUnknownMeansNewestBehaviour(t *testing.T) {
	s := detect(t, disco(both...), []runtime.Object{
		kubevirtCR(""), // no status yet
		deployment("virt-template-apiserver", "ghcr.io/x/apiserver:devel", nil),
	}, Options{})
	if s.KubeVirt != "unknown" || s.VirtTemplate != "unknown" || s.ExpectedRelease != "unknown" {
		t.Fatalf("%+v", s.SystemUnderTest)
	}
	if !strings.Contains(s.VirtTemplateSource, "has no version tag") || !s.Release().Unknown() || !s.Release().Has(release.AggregatedProcessCreate) {
		t.Errorf("source %q, release %s", s.VirtTemplateSource, s.Release().Version())
	}
	if !strings.Contains(strings.Join(s.Lines(), "\n"), "newest behaviour assumed") {
		t.Errorf("lines do not say the newest behaviour is assumed:\n%s", strings.Join(s.Lines(), "\n"))
	}

	// Nothing at all: no template API, no KubeVirt.
	s = detect(t, disco("apps/v1"), nil, Options{})
	if s.APIs.Speaks != "" || s.TemplateVersion() != V1beta1 || s.Implementation != "unknown" {
		t.Errorf("%+v", s.SystemUnderTest)
	}
	if ok, why := s.V1beta1(); ok || why != "virt-template unknown: template.kubevirt.io is not served" {
		t.Errorf("v1beta1: %t %q", ok, why)
	}
}

func TestKubeVirtWithoutVirtTemplate(t *testing.T) {
	s := detect(t, disco(), []runtime.Object{kubevirtCR("v1.7.2")}, Options{})
	if s.VirtTemplate != "unknown" || !strings.Contains(s.VirtTemplateSource, "KubeVirt v1.7.2 deploys no virt-template") {
		t.Fatalf("%s (%s)", s.VirtTemplate, s.VirtTemplateSource)
	}
}

// --vmt.expect-release forces what the specs expect, whatever was detected.
func TestExpectReleaseForces(t *testing.T) {
	objs := []runtime.Object{crd(CRDs[0], "v0.2.2")}
	s := detect(t, disco(both...), objs, Options{ExpectRelease: "0.1.7"})
	if s.VirtTemplate != "v0.2.2" || s.ExpectedRelease != "v0.1.7" || s.ExpectedReleaseSource != "forced by --vmt.expect-release; detected v0.2.2" {
		t.Fatalf("%+v", s.SystemUnderTest)
	}
	if s.Release().Has(release.ServesV1beta1) {
		t.Error("the forced v0.1.7 must not have v1beta1")
	}
	if _, err := DetectWith(context.Background(), disco(both...), dyn(objs...), Options{ExpectRelease: "latest"}); err == nil {
		t.Error("a bad --vmt.expect-release must be refused")
	}
}

func TestSubresourcesOnlyInV1alpha1(t *testing.T) {
	s := detect(t, disco(TemplateGroup+"/v1beta1", TemplateGroup+"/v1alpha1", SubresourceGroup+"/v1alpha1"), nil, Options{})
	if s.APIs.Speaks != V1alpha1 {
		t.Errorf("spoken %q: both groups must serve v1beta1 to speak it", s.APIs.Speaks)
	}
	if ok, why := s.V1beta1(); ok || why != "virt-template unknown serves subresources.template.kubevirt.io only in v1alpha1" {
		t.Errorf("v1beta1: %t %q", ok, why)
	}
}
