package config

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// Render tests: no cluster. virt-template.md §3.1, §3.3, §5.1, §5.2, §6.3, §7.

var update = flag.Bool("update", false, "rewrite testdata/kind.golden.yaml from the current manifests")

// objectID is what an object is known by.
type objectID struct{ kind, namespace, name string }

func (id objectID) String() string { return id.kind + " " + id.namespace + "/" + id.name }

func ids(objs []*unstructured.Unstructured) []objectID {
	var out []objectID
	for _, u := range objs {
		out = append(out, objectID{u.GetKind(), u.GetNamespace(), u.GetName()})
	}
	return out
}

// install is upstream's object list after its prefix (virt-operator overlay, without the
// NetworkPolicies virt-operator does not deploy), in namespace ns.
func install(ns string) []objectID {
	return []objectID{
		{"CustomResourceDefinition", "", "virtualmachinetemplates.template.kubevirt.io"},
		{"CustomResourceDefinition", "", "virtualmachinetemplaterequests.template.kubevirt.io"},
		{"ServiceAccount", ns, "virt-template-apiserver"},
		{"ServiceAccount", ns, "virt-template-controller-manager"},
		{"ClusterRole", "", "virt-template-apiserver-role"},
		{"ClusterRole", "", "virt-template-manager-role"},
		{"ClusterRole", "", "virt-template-metrics-auth-role"},
		{"ClusterRole", "", "virt-template-metrics-reader"},
		{"ClusterRole", "", "virt-template-virtualmachinetemplate-admin-role"},
		{"ClusterRole", "", "virt-template-virtualmachinetemplate-editor-role"},
		{"ClusterRole", "", "virt-template-virtualmachinetemplate-viewer-role"},
		{"ClusterRole", "", "virt-template-virtualmachinetemplaterequest-admin-role"},
		{"ClusterRole", "", "virt-template-virtualmachinetemplaterequest-editor-role"},
		{"ClusterRole", "", "virt-template-virtualmachinetemplaterequest-viewer-role"},
		{"ClusterRole", "", "virt-template-virtualmachinetemplaterequest-source-role"},
		{"Role", ns, "virt-template-leader-election-role"},
		{"ClusterRoleBinding", "", "virt-template-apiserver-rolebinding"},
		{"ClusterRoleBinding", "", "virt-template-apiserver:system:auth-delegator"},
		{"ClusterRoleBinding", "", "virt-template-manager-rolebinding"},
		{"ClusterRoleBinding", "", "virt-template-metrics-auth-rolebinding"},
		{"RoleBinding", "kube-system", "virt-template-apiserver-auth-reader"},
		{"RoleBinding", ns, "virt-template-leader-election-rolebinding"},
		{"Service", ns, "virt-template-api-service"},
		{"Service", ns, "virt-template-controller-manager-metrics-service"},
		{"Service", ns, "virt-template-webhook-service"},
		{"Deployment", ns, "virt-template-apiserver"},
		{"Deployment", ns, "virt-template-controller"},
		{"ValidatingAdmissionPolicy", "", "virt-template-vmtr-authz"},
		{"ValidatingAdmissionPolicyBinding", "", "virt-template-vmtr-authz"},
		{"ValidatingWebhookConfiguration", "", "virt-template-validating-webhook-configuration"},
		{"APIService", "", "v1alpha1.subresources.template.kubevirt.io"},
		{"APIService", "", "v1beta1.subresources.template.kubevirt.io"},
	}
}

func mustObjects(t *testing.T, opts Options) []*unstructured.Unstructured {
	t.Helper()
	objs, err := Objects(opts)
	if err != nil {
		t.Fatalf("Objects(%+v): %v", opts, err)
	}
	return objs
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, u := range objs {
		if u.GetKind() == kind && u.GetName() == name {
			return u
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

// typed decodes u strictly into out: a misspelt field in the YAML fails here.
func typed(t *testing.T, u *unstructured.Unstructured, out any) {
	t.Helper()
	data, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, out); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

func TestObjectsAreUpstreamsInstallInApplyOrder(t *testing.T) {
	got := ids(mustObjects(t, Options{}))
	if want := install(DefaultNamespace); !reflect.DeepEqual(got, want) {
		t.Errorf("objects differ from upstream's install:\n got %v\nwant %v", got, want)
	}

	withNS := ids(mustObjects(t, Options{CreateNamespace: true}))
	if withNS[2] != (objectID{"Namespace", "", DefaultNamespace}) || len(withNS) != len(got)+1 {
		t.Errorf("CreateNamespace: the Namespace should follow the CRDs, got %v", withNS)
	}
}

// Every object decodes strictly into its Go type (APIService has none in our dependencies)
// and carries the common labels and the version annotation.
func TestObjectsDecodeStrictly(t *testing.T) {
	tls, err := SelfSignedTLS("vmt")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range mustObjects(t, Options{CreateNamespace: true, TLS: tls}) {
		if u.GetLabels()[NameLabel] != "virt-template" || u.GetLabels()[ManagedByLabel] != ManagedBy ||
			u.GetAnnotations()[VersionAnnotation] != "v0.2.2" {
			t.Errorf("%s %s: labels %v annotations %v", u.GetKind(), u.GetName(), u.GetLabels(), u.GetAnnotations())
		}
		if u.GetKind() == "APIService" || u.GetKind() == "CustomResourceDefinition" {
			continue // CRDs are decoded strictly by the crd package
		}
		obj, err := clientgoscheme.Scheme.New(u.GroupVersionKind())
		if err != nil {
			t.Errorf("%s: %v", u.GroupVersionKind(), err)
			continue
		}
		typed(t, u, obj)
	}
}

func TestNamespaceIsRewrittenEverywhere(t *testing.T) {
	const ns = "vmt-install"
	objs := mustObjects(t, Options{Namespace: ns})
	if got, want := ids(objs), install(ns); !reflect.DeepEqual(got, want) {
		t.Errorf("objects:\n got %v\nwant %v", got, want)
	}
	data, err := YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, stale := range []string{"namespace: " + placeholderNamespace + "\n", "namespace: " + DefaultNamespace + "\n"} {
		if bytes.Contains(data, []byte(stale)) {
			t.Errorf("rendered YAML still has %q", strings.TrimSpace(stale))
		}
	}
	for _, u := range objs {
		if subjects, ok, _ := unstructured.NestedSlice(u.Object, "subjects"); ok {
			for _, s := range subjects {
				if got := s.(map[string]any)["namespace"]; got != ns {
					t.Errorf("%s %s: subject namespace %v", u.GetKind(), u.GetName(), got)
				}
			}
		}
	}
	for _, name := range APIServices {
		if got, _, _ := unstructured.NestedString(find(t, objs, "APIService", name).Object, "spec", "service", "namespace"); got != ns {
			t.Errorf("%s: service namespace %q", name, got)
		}
	}
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	typed(t, find(t, objs, "ValidatingWebhookConfiguration", WebhookConfiguration), &vwc)
	for _, w := range vwc.Webhooks {
		if w.ClientConfig.Service == nil || w.ClientConfig.Service.Namespace != ns || w.ClientConfig.Service.Name != WebhookService {
			t.Errorf("%s: service %+v", w.Name, w.ClientConfig.Service)
		}
	}
}

func TestCABundleIsInjectedIntoAPIServicesAndWebhooks(t *testing.T) {
	tls, err := SelfSignedTLS(DefaultNamespace)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts Options
		want []byte
	}{
		{"explicit bundle", Options{CABundle: tls.CA}, tls.CA},
		{"from TLS", Options{TLS: tls}, tls.CA},
		{"none", Options{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := mustObjects(t, tc.opts)
			want := ""
			if tc.want != nil {
				want = base64.StdEncoding.EncodeToString(tc.want)
			}
			for _, name := range APIServices {
				spec, _, _ := unstructured.NestedMap(find(t, objs, "APIService", name).Object, "spec")
				if got, _ := spec["caBundle"].(string); got != want {
					t.Errorf("%s: caBundle %.20q, want %.20q", name, got, want)
				}
				if _, ok := spec["insecureSkipTLSVerify"]; ok {
					t.Errorf("%s: insecureSkipTLSVerify is set", name)
				}
			}
			var vwc admissionregistrationv1.ValidatingWebhookConfiguration
			typed(t, find(t, objs, "ValidatingWebhookConfiguration", WebhookConfiguration), &vwc)
			for _, w := range vwc.Webhooks {
				if !bytes.Equal(w.ClientConfig.CABundle, tc.want) {
					t.Errorf("%s: caBundle %.20q, want %.20q", w.Name, w.ClientConfig.CABundle, tc.want)
				}
			}
		})
	}
}

func TestHermeticOverrides(t *testing.T) {
	objs := mustObjects(t, Options{WebhookURL: "https://127.0.0.1:9443/", APIServerExternalPort: 40123})

	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	typed(t, find(t, objs, "ValidatingWebhookConfiguration", WebhookConfiguration), &vwc)
	wantURLs := map[string]string{
		"vvirtualmachinetemplate-v1alpha1.kb.io": "https://127.0.0.1:9443/validate-template-kubevirt-io-v1alpha1-virtualmachinetemplate",
		"vvirtualmachinetemplate-v1beta1.kb.io":  "https://127.0.0.1:9443/validate-template-kubevirt-io-v1beta1-virtualmachinetemplate",
	}
	for _, w := range vwc.Webhooks {
		if w.ClientConfig.Service != nil || w.ClientConfig.URL == nil || *w.ClientConfig.URL != wantURLs[w.Name] {
			t.Errorf("%s: clientConfig %+v, want url %s", w.Name, w.ClientConfig, wantURLs[w.Name])
		}
	}

	var svc corev1.Service
	typed(t, find(t, objs, "Service", APIServerService), &svc)
	if svc.Spec.Type != corev1.ServiceTypeExternalName || svc.Spec.ExternalName != "localhost" || svc.Spec.Selector != nil ||
		len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 40123 || svc.Spec.Ports[0].Name != "http-api" {
		t.Errorf("api service spec = %+v", svc.Spec)
	}
	for _, name := range APIServices {
		if port, _, _ := unstructured.NestedInt64(find(t, objs, "APIService", name).Object, "spec", "service", "port"); port != 40123 {
			t.Errorf("%s: service port %d", name, port)
		}
	}

	// Without the overrides: upstream's service on 443 and webhooks through the service.
	plain := mustObjects(t, Options{})
	svc = corev1.Service{}
	typed(t, find(t, plain, "Service", APIServerService), &svc)
	if svc.Spec.Type != "" || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].TargetPort != intstr.FromString("http-api") {
		t.Errorf("plain api service spec = %+v", svc.Spec)
	}
	for _, name := range APIServices {
		if _, ok, _ := unstructured.NestedFieldNoCopy(find(t, plain, "APIService", name).Object, "spec", "service", "port"); ok {
			t.Errorf("%s: plain install sets a service port", name)
		}
	}
}

func TestAPIServicePriorities(t *testing.T) {
	objs := mustObjects(t, Options{})
	for _, tc := range []struct {
		name, version   string
		versionPriority int64
	}{{APIServices[0], "v1alpha1", 15}, {APIServices[1], "v1beta1", 10}} {
		spec, _, _ := unstructured.NestedMap(find(t, objs, "APIService", tc.name).Object, "spec")
		if spec["group"] != "subresources.template.kubevirt.io" || spec["version"] != tc.version ||
			spec["groupPriorityMinimum"] != int64(1000) || spec["versionPriority"] != tc.versionPriority {
			t.Errorf("%s: spec %v", tc.name, spec)
		}
	}
}

func TestUserRolesAggregate(t *testing.T) {
	const (
		admin = "rbac.authorization.k8s.io/aggregate-to-admin"
		edit  = "rbac.authorization.k8s.io/aggregate-to-edit"
		view  = "rbac.authorization.k8s.io/aggregate-to-view"
	)
	subresources := rbacv1.PolicyRule{
		APIGroups: []string{"subresources.template.kubevirt.io"},
		Resources: []string{"virtualmachinetemplates/process", "virtualmachinetemplates/create"},
		Verbs:     []string{"create"},
	}
	cases := []struct {
		role       string
		aggregates []string
		verbs      []string // on the main resource
		extra      []rbacv1.PolicyRule
	}{
		{TemplateAdminRole, []string{admin}, []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}, []rbacv1.PolicyRule{subresources}},
		{TemplateEditorRole, []string{edit}, []string{"create", "delete", "get", "list", "patch", "update", "watch"}, []rbacv1.PolicyRule{subresources}},
		{TemplateViewerRole, []string{view}, []string{"get", "list", "watch"}, nil},
		{RequestAdminRole, []string{admin}, []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}, nil},
		{RequestEditorRole, []string{edit}, []string{"create", "delete", "get", "list", "patch", "update", "watch"}, nil},
		{RequestViewerRole, []string{view}, []string{"get", "list", "watch"}, nil},
	}
	// v0.2.4 adds the subresource rule (AggregatedProcessCreate); TestReleaseRoles
	// covers the releases without it.
	objs := mustObjects(t, Options{Release: &processCreateRelease})
	aggregated := map[string]bool{}
	for _, tc := range cases {
		aggregated[tc.role] = true
		var role rbacv1.ClusterRole
		typed(t, find(t, objs, "ClusterRole", tc.role), &role)
		if got := aggregationLabels(role.Labels); !reflect.DeepEqual(got, tc.aggregates) {
			t.Errorf("%s: aggregates to %v, want %v", tc.role, got, tc.aggregates)
		}
		resource := "virtualmachinetemplates"
		if strings.Contains(tc.role, "request") {
			resource = "virtualmachinetemplaterequests"
		}
		want := append([]rbacv1.PolicyRule{
			{APIGroups: []string{"template.kubevirt.io"}, Resources: []string{resource}, Verbs: tc.verbs},
			{APIGroups: []string{"template.kubevirt.io"}, Resources: []string{resource + "/status"}, Verbs: []string{"get"}},
		}, tc.extra...)
		if !reflect.DeepEqual(role.Rules, want) {
			t.Errorf("%s: rules\n got %+v\nwant %+v", tc.role, role.Rules, want)
		}
	}

	var source rbacv1.ClusterRole
	typed(t, find(t, objs, "ClusterRole", RequestSourceRole), &source)
	aggregated[RequestSourceRole] = true
	if got := aggregationLabels(source.Labels); !reflect.DeepEqual(got, []string{admin, edit}) {
		t.Errorf("source role aggregates to %v", got)
	}
	wantSource := []rbacv1.PolicyRule{{APIGroups: []string{"template.kubevirt.io"}, Resources: []string{"virtualmachinetemplaterequests/source"}, Verbs: []string{"create"}}}
	if !reflect.DeepEqual(source.Rules, wantSource) {
		t.Errorf("source role rules %+v", source.Rules)
	}

	// Component roles must not leak into user roles.
	for _, u := range objs {
		if u.GetKind() == "ClusterRole" && !aggregated[u.GetName()] && len(aggregationLabels(u.GetLabels())) > 0 {
			t.Errorf("component role %s aggregates: %v", u.GetName(), u.GetLabels())
		}
	}
}

func aggregationLabels(labels map[string]string) []string {
	var out []string
	for k, v := range labels {
		if strings.HasPrefix(k, "rbac.authorization.k8s.io/aggregate-to-") && v == "true" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// The component roles carry upstream's rules (virt-template.md §3.3, §6.3).
func TestComponentRoles(t *testing.T) {
	objs := mustObjects(t, Options{})
	var apiserver rbacv1.ClusterRole
	typed(t, find(t, objs, "ClusterRole", APIServerClusterRole), &apiserver)
	wantAPI := []rbacv1.PolicyRule{
		{APIGroups: []string{"kubevirt.io"}, Resources: []string{"virtualmachines"}, Verbs: []string{"create"}},
		{APIGroups: []string{"template.kubevirt.io"}, Resources: []string{"virtualmachinetemplates", "virtualmachinetemplates/status"}, Verbs: []string{"get"}},
	}
	if !reflect.DeepEqual(apiserver.Rules, wantAPI) {
		t.Errorf("apiserver role rules %+v", apiserver.Rules)
	}
	var manager rbacv1.ClusterRole
	typed(t, find(t, objs, "ClusterRole", "virt-template-manager-role"), &manager)
	allows := func(group, resource, verb string) bool {
		for _, r := range manager.Rules {
			if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
				return true
			}
		}
		return false
	}
	for _, need := range [][3]string{
		{"snapshot.kubevirt.io", "virtualmachinesnapshots", "create"},
		{"snapshot.kubevirt.io", "virtualmachinesnapshotcontents", "get"},
		{"cdi.kubevirt.io", "datavolumes", "create"},
		{"cdi.kubevirt.io", "datavolumes/source", "create"},
		{"subresources.kubevirt.io", "expand-vm-spec", "update"},
		{"template.kubevirt.io", "virtualmachinetemplates", "create"},
		{"template.kubevirt.io", "virtualmachinetemplaterequests/finalizers", "update"},
		{"template.kubevirt.io", "virtualmachinetemplates/status", "patch"},
	} {
		if !allows(need[0], need[1], need[2]) {
			t.Errorf("manager role cannot %s %s.%s", need[2], need[1], need[0])
		}
	}
	if allows("template.kubevirt.io", "virtualmachinetemplates", "delete") {
		t.Error("manager role may delete templates; upstream's may not")
	}
}

// Every Deployment runs as a service account of the install that some binding grants
// permissions; every binding points at a role that exists here or is built in.
func TestServiceAccountsExistAndAreBound(t *testing.T) {
	const ns = "vmt-install"
	objs := mustObjects(t, Options{Namespace: ns})
	have := map[objectID]bool{}
	for _, id := range ids(objs) {
		have[id] = true
	}
	builtIn := map[objectID]bool{
		{"ClusterRole", "", "system:auth-delegator"}:                         true,
		{"Role", "kube-system", "extension-apiserver-authentication-reader"}: true,
	}
	bound := map[string][]string{} // service account -> roles
	for _, u := range objs {
		switch u.GetKind() {
		case "ClusterRoleBinding", "RoleBinding":
			var b rbacv1.RoleBinding // same shape as ClusterRoleBinding
			typed(t, u, &b)
			role := objectID{b.RoleRef.Kind, "", b.RoleRef.Name}
			if b.RoleRef.Kind == "Role" {
				role.namespace = u.GetNamespace()
			}
			if !have[role] && !builtIn[role] {
				t.Errorf("%s %s refers to missing %v", u.GetKind(), u.GetName(), role)
			}
			for _, s := range b.Subjects {
				if s.Kind != rbacv1.ServiceAccountKind || !have[objectID{"ServiceAccount", s.Namespace, s.Name}] {
					t.Errorf("%s %s: subject %+v is not a service account of the install", u.GetKind(), u.GetName(), s)
				}
				bound[s.Name] = append(bound[s.Name], b.RoleRef.Name)
			}
		}
	}
	wantBound := map[string][]string{
		ControllerServiceAccount: {"virt-template-manager-role", "virt-template-metrics-auth-role", "virt-template-leader-election-role"},
		APIServerServiceAccount:  {APIServerClusterRole, "system:auth-delegator", "extension-apiserver-authentication-reader"},
	}
	for _, name := range []string{ControllerDeployment, APIServerDeployment} {
		var d appsv1.Deployment
		typed(t, find(t, objs, "Deployment", name), &d)
		sa := d.Spec.Template.Spec.ServiceAccountName
		if !have[objectID{"ServiceAccount", ns, sa}] {
			t.Errorf("%s runs as missing service account %s", name, sa)
		}
		got, want := slices.Sorted(slices.Values(bound[sa])), slices.Sorted(slices.Values(wantBound[sa]))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: service account %s bound to %v, want %v", name, sa, got, want)
		}
	}
}

// The Deployments carry upstream's container, args, probes, resources and hardening, and
// each Service selects its Deployment's pods on a port the container declares.
func TestDeploymentsAndServices(t *testing.T) {
	tls, err := SelfSignedTLS(DefaultNamespace)
	if err != nil {
		t.Fatal(err)
	}
	objs := mustObjects(t, Options{ControllerImage: "example.org/c:1", APIServerImage: "example.org/a:1", TLS: tls})
	cases := []struct {
		deployment, container, sa, image string
		command, args                    []string
		probePort                        int32
		secrets                          []string
		services                         []string
	}{
		{
			ControllerDeployment, ControllerContainer, ControllerServiceAccount, "example.org/c:1", []string{"/manager"},
			[]string{"--metrics-bind-address=:8443", "--leader-elect", "--health-probe-bind-address=:8081",
				"--metrics-cert-path=/tmp/k8s-metrics-server/metrics-certs", "--webhook-cert-path=/tmp/k8s-webhook-server/serving-certs",
				"--emulate-release=v0.2.2"},
			8081, []string{MetricsCertSecret, WebhookCertSecret}, []string{WebhookService, MetricsService},
		},
		{
			APIServerDeployment, APIServerContainer, APIServerServiceAccount, "example.org/a:1", []string{"/apiserver"},
			[]string{"--disable-http2-serving", "--secure-port=9443",
				"--tls-cert-file=/tmp/k8s-api-server/api-cert/tls.crt", "--tls-private-key-file=/tmp/k8s-api-server/api-cert/tls.key",
				"--emulate-release=v0.2.2"},
			9443, []string{APIServerCertSecret}, []string{APIServerService},
		},
	}
	for _, tc := range cases {
		t.Run(tc.deployment, func(t *testing.T) {
			var d appsv1.Deployment
			typed(t, find(t, objs, "Deployment", tc.deployment), &d)
			pod := d.Spec.Template.Spec
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || len(pod.Containers) != 1 {
				t.Fatalf("replicas %v, %d containers; virt-operator requires 1 and 1", d.Spec.Replicas, len(pod.Containers))
			}
			c := pod.Containers[0]
			if c.Name != tc.container || c.Image != tc.image || !reflect.DeepEqual(c.Command, tc.command) || !reflect.DeepEqual(c.Args, tc.args) {
				t.Errorf("container %s image %s command %v args %v", c.Name, c.Image, c.Command, c.Args)
			}
			if pod.ServiceAccountName != tc.sa {
				t.Errorf("service account %s", pod.ServiceAccountName)
			}
			for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.IntVal != tc.probePort {
					t.Errorf("%s probe %+v", name, p)
				}
			}
			r := c.Resources
			if r.Requests.Cpu().String() != "10m" || r.Requests.Memory().String() != "64Mi" ||
				r.Limits.Cpu().String() != "500m" || r.Limits.Memory().String() != "128Mi" {
				t.Errorf("resources %+v", r)
			}
			sc := c.SecurityContext
			if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
				sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("security context: pod %+v container %+v", pod.SecurityContext, sc)
			}
			var secrets []string
			for _, v := range pod.Volumes {
				if v.Secret != nil {
					secrets = append(secrets, v.Secret.SecretName)
					find(t, objs, "Secret", v.Secret.SecretName) // TLS adds every mounted secret
				}
			}
			if !reflect.DeepEqual(secrets, tc.secrets) {
				t.Errorf("secret volumes %v, want %v", secrets, tc.secrets)
			}
			for _, name := range tc.services {
				var svc corev1.Service
				typed(t, find(t, objs, "Service", name), &svc)
				for k, v := range svc.Spec.Selector {
					if d.Spec.Template.Labels[k] != v {
						t.Errorf("service %s selects %s=%s, pods have %v", name, k, v, d.Spec.Template.Labels)
					}
				}
				if len(svc.Spec.Selector) == 0 {
					t.Errorf("service %s selects nothing", name)
				}
				for _, p := range svc.Spec.Ports {
					if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.TargetPort.StrVal }) {
						t.Errorf("service %s targets port %q the container does not declare", name, p.TargetPort.StrVal)
					}
				}
			}
		})
	}
	var webhook corev1.Service
	typed(t, find(t, objs, "Service", WebhookService), &webhook)
	if len(webhook.Spec.Ports) != 1 || webhook.Spec.Ports[0].Port != 443 {
		t.Errorf("webhook service ports %+v, want 443", webhook.Spec.Ports)
	}
}

// The policy carries upstream's variables, checks, messages and reason (virt-template.md §5.2).
func TestVMTRAuthzPolicy(t *testing.T) {
	objs := mustObjects(t, Options{})
	var vap admissionregistrationv1.ValidatingAdmissionPolicy
	typed(t, find(t, objs, "ValidatingAdmissionPolicy", VMTRAuthzPolicy), &vap)
	if vap.Spec.FailurePolicy == nil || *vap.Spec.FailurePolicy != admissionregistrationv1.Fail {
		t.Errorf("failurePolicy %v", vap.Spec.FailurePolicy)
	}
	rules := vap.Spec.MatchConstraints.ResourceRules
	if len(rules) != 1 || !reflect.DeepEqual(rules[0].Operations, []admissionregistrationv1.OperationType{admissionregistrationv1.Create}) ||
		!reflect.DeepEqual(rules[0].APIVersions, []string{"v1alpha1", "v1beta1"}) ||
		!reflect.DeepEqual(rules[0].Resources, []string{"virtualmachinetemplaterequests"}) {
		t.Errorf("match rules %+v", rules)
	}
	vars := map[string]string{}
	for _, v := range vap.Spec.Variables {
		vars[v.Name] = v.Expression
	}
	wantVars := map[string]string{
		"sourceNS": "object.spec.virtualMachineRef.namespace",
		"sourceVM": "object.spec.virtualMachineRef.name",
		"targetNS": "object.metadata.namespace",
	}
	if !reflect.DeepEqual(vars, wantVars) {
		t.Errorf("variables %v", vars)
	}
	wantMessages := []string{
		`'User is not allowed to use VirtualMachine ' + variables.sourceNS + '/' + variables.sourceVM + ' as a source for VirtualMachineTemplateRequests'`,
		`'User is not allowed to create DataVolumes in namespace ' + variables.targetNS`,
		`'User is not allowed to create VirtualMachineTemplates in namespace ' + variables.targetNS`,
	}
	if len(vap.Spec.Validations) != len(wantMessages) {
		t.Fatalf("%d validations", len(vap.Spec.Validations))
	}
	for i, v := range vap.Spec.Validations {
		if v.MessageExpression != wantMessages[i] || v.Reason == nil || *v.Reason != "Forbidden" {
			t.Errorf("validation %d: message %q reason %v", i, v.MessageExpression, v.Reason)
		}
	}
	if !strings.HasPrefix(vap.Spec.Validations[0].Expression, "variables.sourceNS == variables.targetNS ||") {
		t.Errorf("the source check must let same-namespace requests through: %q", vap.Spec.Validations[0].Expression)
	}
	var binding admissionregistrationv1.ValidatingAdmissionPolicyBinding
	typed(t, find(t, objs, "ValidatingAdmissionPolicyBinding", VMTRAuthzPolicy), &binding)
	if binding.Spec.PolicyName != VMTRAuthzPolicy || !reflect.DeepEqual(binding.Spec.ValidationActions, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}) {
		t.Errorf("binding spec %+v", binding.Spec)
	}
}

func TestWebhookConfiguration(t *testing.T) {
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	typed(t, find(t, mustObjects(t, Options{}), "ValidatingWebhookConfiguration", WebhookConfiguration), &vwc)
	if len(vwc.Webhooks) != 2 {
		t.Fatalf("%d webhooks", len(vwc.Webhooks))
	}
	for i, version := range []string{"v1alpha1", "v1beta1"} {
		w := vwc.Webhooks[i]
		wantPath := "/validate-template-kubevirt-io-" + version + "-virtualmachinetemplate"
		if w.Name != "vvirtualmachinetemplate-"+version+".kb.io" || w.ClientConfig.Service == nil || w.ClientConfig.Service.Path == nil ||
			*w.ClientConfig.Service.Path != wantPath || *w.FailurePolicy != admissionregistrationv1.Fail ||
			*w.SideEffects != admissionregistrationv1.SideEffectClassNone || !reflect.DeepEqual(w.AdmissionReviewVersions, []string{"v1"}) {
			t.Errorf("webhook %d: %+v", i, w)
		}
		if len(w.Rules) != 1 || !reflect.DeepEqual(w.Rules[0].APIVersions, []string{version}) ||
			!reflect.DeepEqual(w.Rules[0].Operations, []admissionregistrationv1.OperationType{"CREATE", "UPDATE"}) ||
			!reflect.DeepEqual(w.Rules[0].Resources, []string{"virtualmachinetemplates"}) {
			t.Errorf("webhook %d rules %+v", i, w.Rules)
		}
	}
}

func TestBadOptions(t *testing.T) {
	tls, err := SelfSignedTLS(DefaultNamespace)
	if err != nil {
		t.Fatal(err)
	}
	halfTLS := *tls
	halfTLS.Webhook.Key = nil
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"namespace", Options{Namespace: "Not_A_Namespace"}, `namespace "Not_A_Namespace"`},
		{"long namespace", Options{Namespace: strings.Repeat("n", 64)}, "must be no more than 63 characters"},
		{"image", Options{ControllerImage: "bad image"}, `controller image "bad image" is not an image reference`},
		{"CA bundle", Options{CABundle: []byte("not pem")}, "CA bundle: not PEM-encoded certificates"},
		{"CA bundle with a key", Options{CABundle: tls.APIServer.Key}, `holds a "EC PRIVATE KEY" block`},
		{"http webhook", Options{WebhookURL: "http://127.0.0.1:9443"}, "must be https://"},
		{"webhook query", Options{WebhookURL: "https://127.0.0.1:9443/?x=1"}, "without user, query or fragment"},
		{"port", Options{APIServerExternalPort: 70000}, "port 70000 is not in 1-65535"},
		{"TLS", Options{TLS: &halfTLS}, "the webhook key pair needs both a certificate and a key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Objects(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "invalid manifest options: ") {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDecodeDocumentsRejectsBadYAML(t *testing.T) {
	for name, doc := range map[string]string{
		"duplicate key": "apiVersion: v1\nkind: ServiceAccount\nkind: Secret\nmetadata:\n  name: x\n",
		"no name":       "apiVersion: v1\nkind: ServiceAccount\nmetadata: {}\n",
		"not an object": "- a\n- b\n",
	} {
		if _, err := decodeDocuments([]byte(doc)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// The kind lane applies exactly this (render with default flags); an intended change to the
// manifests is reviewed as a change to the golden file (go test -run Golden -update).
func TestKindManifestsGolden(t *testing.T) {
	var out bytes.Buffer
	if err := runRender(&out); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "kind.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("rendered manifests differ from %s; if intended, rerun with -update and review the diff", golden)
	}
	// The stream reads back as the same objects.
	objs, err := decodeDocuments(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(objs); !reflect.DeepEqual(got, install(DefaultNamespace)) {
		t.Errorf("golden objects %v", got)
	}
}

// runRender is what `render` prints with default flags.
func runRender(out *bytes.Buffer) error {
	objs, err := Objects(Options{})
	if err != nil {
		return err
	}
	data, err := YAML(objs)
	out.Write(data)
	return err
}
