package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/emulation"
)

// Releases the tests render: v0.1.8 (KubeVirt v1.8.3+), v0.2.2 (v1.9.0, the default) and
// v0.2.4 (AggregatedProcessCreate, kubevirt/kubevirt PR #19180).
var (
	v017                 = release.MustParse("v0.1.7")
	v018                 = release.MustParse("v0.1.8")
	v022                 = release.MustParse("v0.2.2")
	processCreateRelease = release.MustParse("v0.2.4")
	newest               = release.Version{}
)

func objectsFor(t *testing.T, v release.Version) []*unstructured.Unstructured {
	t.Helper()
	return mustObjects(t, Options{Release: &v})
}

// The default (nil Release) is v0.2.2, not the newest behaviour.
func TestReleaseDefault(t *testing.T) {
	if emulation.Default != v022 {
		t.Fatalf("emulation.Default = %s, want v0.2.2", emulation.Default)
	}
	def, err := YAML(mustObjects(t, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	explicit, err := YAML(objectsFor(t, v022))
	if err != nil {
		t.Fatal(err)
	}
	if string(def) != string(explicit) {
		t.Error("Options{} differs from Options{Release: v0.2.2}")
	}
	if !reflect.DeepEqual(APIServices, APIServicesFor(v022)) {
		t.Errorf("APIServices %v", APIServices)
	}
}

// CRDs: v1beta1 (ServesV1beta1), deprecation (DeprecatesV1alpha1), request fields
// (RequestTemplateLabels, RequestTTL).
func TestReleaseCRDs(t *testing.T) {
	for _, tc := range []struct {
		v                release.Version
		versions         []string
		deprecated       bool
		labels, ttl, cel bool
	}{
		{v018, []string{"v1alpha1"}, false, false, false, false},
		{v017, []string{"v1alpha1"}, false, false, false, false},
		{v022, []string{"v1alpha1", "v1beta1"}, true, true, true, true},
		{newest, []string{"v1alpha1", "v1beta1"}, true, true, true, true},
	} {
		t.Run(tc.v.String(), func(t *testing.T) {
			for _, u := range objectsFor(t, tc.v) {
				if u.GetKind() != "CustomResourceDefinition" {
					continue
				}
				var c apiextensionsv1.CustomResourceDefinition
				typed(t, u, &c)
				var names []string
				for _, ver := range c.Spec.Versions {
					names = append(names, ver.Name)
					if ver.Name == "v1alpha1" && (!ver.Served || !ver.Storage || ver.Deprecated != tc.deprecated) {
						t.Errorf("%s v1alpha1 served=%v storage=%v deprecated=%v", c.Name, ver.Served, ver.Storage, ver.Deprecated)
					}
					if c.Name != "virtualmachinetemplaterequests.template.kubevirt.io" {
						continue
					}
					spec := ver.Schema.OpenAPIV3Schema.Properties["spec"]
					labels, hasLabels := spec.Properties["templateLabels"]
					_, hasTTL := spec.Properties["ttlSecondsAfterFinished"]
					if hasLabels != tc.labels || hasTTL != tc.ttl || (len(labels.XValidations) > 0) != tc.cel {
						t.Errorf("%s %s: templateLabels %v (rules %d), ttlSecondsAfterFinished %v", c.Name, ver.Name, hasLabels, len(labels.XValidations), hasTTL)
					}
					for _, kept := range []string{"virtualMachineRef", "templateName"} {
						if _, ok := spec.Properties[kept]; !ok {
							t.Errorf("%s %s: spec.%s missing", c.Name, ver.Name, kept)
						}
					}
					if len(spec.XValidations) != 1 || spec.XValidations[0].Message != "spec is immutable" {
						t.Errorf("%s %s: spec rules %+v (RequestSpecImmutable is in every release)", c.Name, ver.Name, spec.XValidations)
					}
				}
				if !slices.Equal(names, tc.versions) {
					t.Errorf("%s versions %v, want %v", c.Name, names, tc.versions)
				}
			}
		})
	}
}

// APIServices (ServesV1beta1), with upstream's priorities: v1alpha1 15 in every release,
// v1beta1 10 (config/apiserver/apiservice.yaml@v0.1.7, v0.1.8, v0.2.0, v0.2.2).
func TestReleaseAPIServices(t *testing.T) {
	for _, tc := range []struct {
		v    release.Version
		want map[string]int64
	}{
		{v018, map[string]int64{"v1alpha1.subresources.template.kubevirt.io": 15}},
		{v022, map[string]int64{"v1alpha1.subresources.template.kubevirt.io": 15, "v1beta1.subresources.template.kubevirt.io": 10}},
	} {
		got := map[string]int64{}
		for _, u := range objectsFor(t, tc.v) {
			if u.GetKind() == "APIService" {
				got[u.GetName()], _, _ = unstructured.NestedInt64(u.Object, "spec", "versionPriority")
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: APIServices %v, want %v", tc.v, got, tc.want)
		}
		if names := APIServicesFor(tc.v); len(names) != len(tc.want) || tc.want[names[0]] != 15 {
			t.Errorf("%s: APIServicesFor = %v", tc.v, names)
		}
	}
}

// Webhook configuration and VAP (AdmissionCoversV1beta1).
func TestReleaseAdmission(t *testing.T) {
	for _, tc := range []struct {
		v        release.Version
		webhooks []string
		versions []string
	}{
		{v018, []string{"vvirtualmachinetemplate-v1alpha1.kb.io"}, []string{"v1alpha1"}},
		{v022, []string{"vvirtualmachinetemplate-v1alpha1.kb.io", "vvirtualmachinetemplate-v1beta1.kb.io"}, []string{"v1alpha1", "v1beta1"}},
	} {
		objs := objectsFor(t, tc.v)
		var vwc admissionregistrationv1.ValidatingWebhookConfiguration
		typed(t, find(t, objs, "ValidatingWebhookConfiguration", WebhookConfiguration), &vwc)
		var names []string
		for _, w := range vwc.Webhooks {
			names = append(names, w.Name)
		}
		if !slices.Equal(names, tc.webhooks) {
			t.Errorf("%s: webhooks %v, want %v", tc.v, names, tc.webhooks)
		}
		var vap admissionregistrationv1.ValidatingAdmissionPolicy
		typed(t, find(t, objs, "ValidatingAdmissionPolicy", VMTRAuthzPolicy), &vap)
		if rules := vap.Spec.MatchConstraints.ResourceRules; len(rules) != 1 || !slices.Equal(rules[0].APIVersions, tc.versions) {
			t.Errorf("%s: VAP rules %+v, want apiVersions %v", tc.v, rules, tc.versions)
		}
		// VAPSourceSubresource (v0.1.5+): the same three checks in every supported release.
		if len(vap.Spec.Validations) != 3 || !strings.Contains(vap.Spec.Validations[0].Expression, ".subresource('source')") {
			t.Errorf("%s: validations %+v", tc.v, vap.Spec.Validations)
		}
	}
}

// Aggregated user roles (AggregatedRoles in every supported release; the subresource rule
// only with AggregatedProcessCreate) and the controller's delete on requests (RequestTTL).
func TestReleaseRoles(t *testing.T) {
	subresources := func(objs []*unstructured.Unstructured, name string) bool {
		var role rbacv1.ClusterRole
		typed(t, find(t, objs, "ClusterRole", name), &role)
		if len(aggregationLabels(role.Labels)) == 0 {
			t.Errorf("%s does not aggregate", name)
		}
		return slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, "subresources.template.kubevirt.io")
		})
	}
	deletesRequests := func(objs []*unstructured.Unstructured) bool {
		var role rbacv1.ClusterRole
		typed(t, find(t, objs, "ClusterRole", "virt-template-manager-role"), &role)
		for _, r := range role.Rules {
			if slices.Equal(r.Resources, []string{"virtualmachinetemplaterequests"}) {
				if !slices.Equal(r.Verbs, []string{"delete", "get", "list", "patch", "watch"}) &&
					!slices.Equal(r.Verbs, []string{"get", "list", "patch", "watch"}) {
					t.Errorf("request verbs %v", r.Verbs)
				}
				return slices.Contains(r.Verbs, "delete")
			}
		}
		t.Fatal("no rule on virtualmachinetemplaterequests")
		return false
	}
	for _, tc := range []struct {
		v                  release.Version
		processCreate, ttl bool
	}{
		{v018, false, false},
		{v022, false, true},
		{processCreateRelease, true, true},
		{newest, true, true},
	} {
		objs := objectsFor(t, tc.v)
		for _, role := range []string{TemplateAdminRole, TemplateEditorRole} {
			if got := subresources(objs, role); got != tc.processCreate {
				t.Errorf("%s: %s grants process/create: %v, want %v", tc.v, role, got, tc.processCreate)
			}
		}
		if subresources(objs, TemplateViewerRole) {
			t.Errorf("%s: the viewer role grants process/create", tc.v)
		}
		if got := deletesRequests(objs); got != tc.ttl {
			t.Errorf("%s: controller may delete requests: %v, want %v", tc.v, got, tc.ttl)
		}
	}
}

// VersionAnnotated: every object names the emulated release; both Deployments run our
// components with --emulate-release of it.
func TestReleaseAnnotationAndArgs(t *testing.T) {
	for _, v := range []release.Version{v017, v018, v022, processCreateRelease, newest} {
		for _, u := range objectsFor(t, v) {
			if got := u.GetAnnotations()[VersionAnnotation]; got != v.String() {
				t.Errorf("%s: %s %s annotated %q", v, u.GetKind(), u.GetName(), got)
			}
			if u.GetKind() != "Deployment" {
				continue
			}
			var d appsv1.Deployment
			typed(t, u, &d)
			if args := d.Spec.Template.Spec.Containers[0].Args; args[len(args)-1] != "--emulate-release="+v.String() {
				t.Errorf("%s: %s args %v", v, u.GetName(), args)
			}
		}
	}
}

// Releases older than v0.1.7 are refused with one line naming the oldest supported one.
func TestReleaseTooOld(t *testing.T) {
	old := release.MustParse("v0.1.6")
	_, err := Objects(Options{Release: &old})
	if err == nil || !strings.Contains(err.Error(), "virt-template v0.1.6 cannot be emulated: the oldest release the reference implementation plays is v0.1.7") ||
		strings.Contains(err.Error(), "\n") {
		t.Errorf("error %v", err)
	}
}
