package incluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/framework/config"
	"github.com/vmt-conformance/vmt-conformance/framework/inforce"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/internal/testcluster"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// The image contract (cmd/vmt-image, README "Container image").
const (
	imageRepo  = "localhost/vmt-conformance"
	entrypoint = "/usr/local/bin/vmt-e2e"
	imageUser  = 65532
	// sonobuoyResultsDir is sonobuoy's plugin results directory (pkg/plugin/constants.go
	// ResultsDir, v0.57.5), the default of vmt-e2e --sonobuoy.
	sonobuoyResultsDir = "/tmp/sonobuoy/results"
)

var cp *local.ControlPlane

func TestMain(m *testing.M) {
	testcluster.Main(m, testcluster.Options{Started: func(_ context.Context, c *local.ControlPlane) (func(), error) {
		cp = c
		return nil, nil
	}})
}

// manifests decodes, strictly (an unknown field is an error), every object of the
// kustomization's resources, in order.
func manifests(t *testing.T) []runtime.Object {
	t.Helper()
	raw, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.Kind != "Kustomization" || !slices.Equal(k.Resources, []string{"namespace.yaml", "rbac.yaml", "job.yaml"}) {
		t.Fatalf("kustomization.yaml: kind %q, resources %q", k.Kind, k.Resources)
	}
	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	var objs []runtime.Object
	for _, file := range k.Resources {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
		for i := 0; ; i++ {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			obj, _, err := decoder.Decode(doc, nil, nil)
			if err != nil {
				t.Fatalf("%s document %d: %v", file, i, err)
			}
			objs = append(objs, obj)
		}
	}
	return objs
}

func stripComments(doc []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(append(out, l...), '\n')
		}
	}
	return out
}

// set is the manifests by kind.
type set struct {
	ns       *corev1.Namespace
	sa       *corev1.ServiceAccount
	job      *batchv1.Job
	cr       map[string]*rbacv1.ClusterRole
	crb      []*rbacv1.ClusterRoleBinding
	roles    map[string]*rbacv1.Role // namespace/name
	bindings []*rbacv1.RoleBinding
}

func byKind(t *testing.T, objs []runtime.Object) set {
	t.Helper()
	s := set{cr: map[string]*rbacv1.ClusterRole{}, roles: map[string]*rbacv1.Role{}}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Namespace:
			s.ns = o
		case *corev1.ServiceAccount:
			s.sa = o
		case *batchv1.Job:
			s.job = o
		case *rbacv1.ClusterRole:
			s.cr[o.Name] = o
		case *rbacv1.ClusterRoleBinding:
			s.crb = append(s.crb, o)
		case *rbacv1.Role:
			s.roles[o.Namespace+"/"+o.Name] = o
		case *rbacv1.RoleBinding:
			s.bindings = append(s.bindings, o)
		default:
			t.Fatalf("unexpected object %T", o)
		}
	}
	if s.ns == nil || s.sa == nil || s.job == nil || len(s.cr) == 0 || len(s.crb) == 0 {
		t.Fatalf("want a Namespace, a ServiceAccount, a Job, ClusterRoles and bindings; got %d objects", len(objs))
	}
	return s
}

func container(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return corev1.Container{}
}

func envValue(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

func mountOf(c corev1.Container, volume string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	return ""
}

// runnerArgs are the runner's --name=value flags.
func runnerArgs(t *testing.T, args []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, a := range args {
		name, value, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "--") {
			t.Fatalf("argument %q: write runner flags as --name[=value]", a)
		}
		if !ok {
			value = "true"
		}
		out[name] = value
	}
	return out
}

// checkRunner checks what the Job and the plugin pass the runner: a lane it knows, the
// existing provider, the sonobuoy hand-over into the results volume.
func checkRunner(t *testing.T, what string, c corev1.Container, resultsDir string) {
	t.Helper()
	if !strings.HasPrefix(c.Image, imageRepo+":") {
		t.Errorf("%s: image %q, want %s:<tag> (the image contract)", what, c.Image, imageRepo)
	}
	if len(c.Command) > 0 && !slices.Equal(c.Command, []string{entrypoint}) {
		t.Errorf("%s: command %q, want the entrypoint %s", what, c.Command, entrypoint)
	}
	flags := runnerArgs(t, c.Args)
	if _, err := tiers.Lane(flags["lane"]); err != nil {
		t.Errorf("%s: --lane: %v", what, err)
	}
	if flags["provider"] != "existing" || !slices.Contains(config.Providers, flags["provider"]) {
		t.Errorf("%s: --provider=%q, want existing", what, flags["provider"])
	}
	if flags["sonobuoy"] != "true" {
		t.Errorf("%s: want --sonobuoy (tarball + done file in $SONOBUOY_RESULTS_DIR)", what)
	}
	if _, ok := flags["artifacts"]; ok {
		t.Errorf("%s: --sonobuoy places the artifacts itself; drop --artifacts", what)
	}
	if dir, _ := envValue(c, "SONOBUOY_RESULTS_DIR"); dir != resultsDir || mountOf(c, "results") != resultsDir {
		t.Errorf("%s: SONOBUOY_RESULTS_DIR=%q, results volume at %q, want both %s", what, dir, mountOf(c, "results"), resultsDir)
	}
	for _, env := range []string{"POD_NAME", "POD_NAMESPACE", "SERVICE_ACCOUNT"} {
		found := false
		for _, e := range c.Env {
			found = found || (e.Name == env && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil)
		}
		if !found {
			t.Errorf("%s: %s from the downward API names the pod in the run's identity line", what, env)
		}
	}
}

func TestJobManifestsAreConsistent(t *testing.T) {
	s := byKind(t, manifests(t))
	ns := s.ns.Name
	if s.sa.Namespace != ns || s.job.Namespace != ns {
		t.Fatalf("ServiceAccount in %q and Job in %q, want both in the Namespace %q", s.sa.Namespace, s.job.Namespace, ns)
	}
	pod := s.job.Spec.Template.Spec
	if pod.ServiceAccountName != s.sa.Name {
		t.Errorf("Job runs as %q, the manifests create ServiceAccount %q", pod.ServiceAccountName, s.sa.Name)
	}
	if pod.AutomountServiceAccountToken != nil && !*pod.AutomountServiceAccountToken {
		t.Error("the Job turns the token off: the existing provider needs it in the pod")
	}
	if pod.RestartPolicy != corev1.RestartPolicyNever || s.job.Spec.BackoffLimit == nil || *s.job.Spec.BackoffLimit != 0 {
		t.Error("a conformance run is not retried: restartPolicy Never, backoffLimit 0")
	}
	if sc := pod.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != imageUser {
		t.Errorf("the pod runs as the image's user %d", imageUser)
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
	}
	for _, c := range pod.Containers {
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				t.Errorf("container %s mounts %q, which the pod does not define", c.Name, m.Name)
			}
		}
	}
	run := container(t, pod, "conformance")
	resultsDir := mountOf(run, "results")
	checkRunner(t, "Job", run, resultsDir)
	if sc := run.SecurityContext; sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem && mountOf(run, "tmp") != "/tmp" {
		t.Error("a read-only root needs a writable /tmp (HOME, temporary files, the in-cluster kubeconfig)")
	}
	collector := container(t, pod, "collector")
	if mountOf(collector, "results") != resultsDir || !strings.Contains(strings.Join(collector.Command, " "), resultsDir+"/done") {
		t.Errorf("the collector must mount the results volume at %s and wait for %s/done", resultsDir, resultsDir)
	}

	// Every binding names the ServiceAccount and a role the manifests define.
	subject := rbacv1.Subject{Kind: "ServiceAccount", Name: s.sa.Name, Namespace: ns}
	for _, b := range s.crb {
		if _, ok := s.cr[b.RoleRef.Name]; !ok || b.RoleRef.Kind != "ClusterRole" || !slices.Contains(b.Subjects, subject) {
			t.Errorf("ClusterRoleBinding %s: roleRef %v, subjects %v", b.Name, b.RoleRef, b.Subjects)
		}
	}
	for _, b := range s.bindings {
		if _, ok := s.roles[b.Namespace+"/"+b.RoleRef.Name]; !ok || b.RoleRef.Kind != "Role" || !slices.Contains(b.Subjects, subject) {
			t.Errorf("RoleBinding %s/%s: roleRef %v, subjects %v", b.Namespace, b.Name, b.RoleRef, b.Subjects)
		}
	}
	if len(s.bindings) != len(s.roles) {
		t.Errorf("%d Roles, %d RoleBindings", len(s.roles), len(s.bindings))
	}
}

// pluginManifest is sonobuoy's plugin definition (pkg/plugin/manifest/manifest.go, v0.57.5).
type pluginManifest struct {
	SonobuoyConfig struct {
		Driver       string   `json:"driver"`
		PluginName   string   `json:"plugin-name"`
		ResultFormat string   `json:"result-format"`
		ResultFiles  []string `json:"result-files"`
		Description  string   `json:"description"`
		SourceURL    string   `json:"source-url"`
	} `json:"sonobuoy-config"`
	Spec corev1.Container `json:"spec"`
}

func TestSonobuoyPlugin(t *testing.T) {
	raw, err := os.ReadFile("../sonobuoy/plugin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p pluginManifest
	if err := yaml.UnmarshalStrict(raw, &p); err != nil {
		t.Fatalf("plugin.yaml: %v", err)
	}
	sc := p.SonobuoyConfig
	if sc.Driver != "Job" || sc.PluginName != "vmt-conformance" || sc.ResultFormat != "junit" || !slices.Equal(sc.ResultFiles, []string{tiers.JUnitFile}) {
		t.Fatalf("sonobuoy-config %+v: want driver Job, plugin-name vmt-conformance, result-format junit, result-files [%s]", sc, tiers.JUnitFile)
	}
	if !slices.Equal(p.Spec.Command, []string{entrypoint}) {
		t.Errorf("plugin command %q, want the image's entrypoint %s", p.Spec.Command, entrypoint)
	}
	checkRunner(t, "plugin", p.Spec, sonobuoyResultsDir)

	// The plugin and the Job run the same image.
	job := byKind(t, manifests(t)).job
	if img := container(t, job.Spec.Template.Spec, "conformance").Image; img != p.Spec.Image {
		t.Errorf("the Job runs %s, the plugin %s", img, p.Spec.Image)
	}
}

// The manifests apply to a cluster (RBAC for real, the Job as a server-side dry run: no pod
// runs on the hermetic control plane), and the ServiceAccount may do what the suite does and
// not what it does not. The needs are taken from the suite's calls (framework/, tests/,
// cmd/vmt-e2e), not from rbac.yaml.
func TestManifestsApplyAndGrantWhatTheSuiteNeeds(t *testing.T) {
	if cp == nil {
		t.Fatal("no control plane: run without -short (testcluster.Main starts one)")
	}
	ctx := context.Background()
	c, err := ctrlclient.New(cp.RESTConfig(), ctrlclient.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	s := byKind(t, manifests(t))
	for _, o := range manifests(t) {
		obj := o.(ctrlclient.Object)
		var opts []ctrlclient.CreateOption
		if _, isJob := o.(*batchv1.Job); isJob {
			opts = append(opts, ctrlclient.DryRunAll)
		}
		if err := c.Create(ctx, obj, opts...); err != nil {
			t.Fatalf("creating %T %s/%s: %v", o, obj.GetNamespace(), obj.GetName(), err)
		}
	}

	user := "system:serviceaccount:" + s.sa.Namespace + ":" + s.sa.Name
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + s.sa.Namespace, "system:authenticated"}
	const specNS, install = "vmt-e2e-0123abcd", "kubevirt"
	access := func(verb, group, resource, ns string) inforce.Access {
		res, sub, _ := strings.Cut(resource, "/")
		return inforce.Access{User: user, Groups: groups, Verb: verb, Group: group, Resource: res, Subresource: sub, Namespace: ns}
	}
	named := func(a inforce.Access, name string) inforce.Access { a.Name = name; return a }
	needs := []inforce.Access{
		// framework/namespace: a namespace per spec; cleanup deletes earlier runs' and annotates kept ones.
		access("create", "", "namespaces", ""), access("delete", "", "namespaces", ""), access("patch", "", "namespaces", ""), access("list", "", "namespaces", ""),
		// framework/rbac personas, captures' volumes, request quotas.
		access("create", "", "serviceaccounts", specNS), access("create", "", "secrets", specNS), access("create", "", "configmaps", specNS),
		access("create", "", "persistentvolumeclaims", specNS), access("create", "", "resourcequotas", specNS),
		// framework/artifacts dumps and component logs; cleanup's PV check.
		access("list", "", "pods", specNS), access("get", "", "pods/log", install), access("list", "", "events", specNS), access("list", "", "persistentvolumes", ""),
		// The API under test.
		access("create", "template.kubevirt.io", "virtualmachinetemplates", specNS), access("update", "template.kubevirt.io", "virtualmachinetemplates", specNS),
		access("delete", "template.kubevirt.io", "virtualmachinetemplates", specNS), access("create", "template.kubevirt.io", "virtualmachinetemplaterequests", specNS),
		access("delete", "template.kubevirt.io", "virtualmachinetemplaterequests", specNS),
		// The vmtr-authz policy's check for a source VM in another namespace (VMT-002, VMT-008, VMT-029).
		named(access("create", "template.kubevirt.io", "virtualmachinetemplaterequests/source", "vmt-source-0123"), "source-vm"),
		access("create", "subresources.template.kubevirt.io", "virtualmachinetemplates/process", specNS),
		access("create", "subresources.template.kubevirt.io", "virtualmachinetemplates/create", specNS),
		// VMs, KubeVirt CR (Serial feature-gate specs), HCO.
		access("create", "kubevirt.io", "virtualmachines", specNS), access("delete", "kubevirt.io", "virtualmachines", specNS),
		access("list", "kubevirt.io", "virtualmachineinstances", specNS),
		access("list", "kubevirt.io", "kubevirts", install), named(access("patch", "kubevirt.io", "kubevirts", install), "kubevirt"),
		access("patch", "hco.kubevirt.io", "hyperconvergeds", "openshift-cnv"),
		// CDI: golden image, capture volumes, the clone permission granted to test users.
		access("create", "cdi.kubevirt.io", "datavolumes", specNS), access("create", "cdi.kubevirt.io", "datavolumes/source", specNS),
		access("create", "cdi.kubevirt.io", "datasources", specNS), access("list", "cdi.kubevirt.io", "cdis", ""),
		access("list", "snapshot.kubevirt.io", "virtualmachinesnapshots", specNS), access("list", "snapshot.storage.k8s.io", "volumesnapshotclasses", ""),
		access("create", "instancetype.kubevirt.io", "virtualmachineclusterinstancetypes", ""), access("create", "instancetype.kubevirt.io", "virtualmachineinstancetypes", specNS),
		// Granting test users, acting as them.
		access("create", "rbac.authorization.k8s.io", "roles", specNS), access("create", "rbac.authorization.k8s.io", "rolebindings", specNS),
		access("create", "rbac.authorization.k8s.io", "clusterroles", ""), access("delete", "rbac.authorization.k8s.io", "clusterrolebindings", ""),
		access("escalate", "rbac.authorization.k8s.io", "roles", specNS), named(access("bind", "rbac.authorization.k8s.io", "clusterroles", ""), "admin"),
		named(access("impersonate", "", "users", ""), "vmt-e2e:owner-abcde"), named(access("impersonate", "", "groups", ""), "system:serviceaccounts:"+specNS),
		named(access("impersonate", "", "serviceaccounts", specNS), "default"),
		access("create", "authorization.k8s.io", "subjectaccessreviews", ""), access("create", "authorization.k8s.io", "selfsubjectaccessreviews", ""),
		// Detection and in-force waits.
		access("get", "apiextensions.k8s.io", "customresourcedefinitions", ""), access("get", "apiregistration.k8s.io", "apiservices", ""),
		access("get", "admissionregistration.k8s.io", "validatingwebhookconfigurations", ""), access("get", "admissionregistration.k8s.io", "validatingadmissionpolicies", ""),
		access("get", "admissionregistration.k8s.io", "validatingadmissionpolicybindings", ""),
		access("get", "apps", "deployments", install), access("get", "apps", "daemonsets", install),
		access("list", "template.openshift.io", "templates", ""), access("list", "monitoring.coreos.com", "prometheuses", ""),
		access("create", "template.openshift.io", "templates", specNS), // VMT-007: virtctl template convert reads one from the cluster
		// The run Lease (framework/cleanup).
		access("create", "coordination.k8s.io", "leases", "default"), access("list", "coordination.k8s.io", "leases", "default"), access("delete", "coordination.k8s.io", "leases", "default"),
	}
	// What the suite never does itself: the account must not be able to.
	notNeeded := []inforce.Access{
		access("create", "", "pods", specNS),                             // pods come from controllers
		access("delete", "", "nodes", ""),                                // nodes are not touched
		access("create", "", "persistentvolumes", ""),                    // provisioners make PVs
		access("create", "coordination.k8s.io", "leases", "kube-system"), // the Lease lives in default only
		access("update", "apiextensions.k8s.io", "customresourcedefinitions", ""),
		access("delete", "apiregistration.k8s.io", "apiservices", ""),
		access("patch", "admissionregistration.k8s.io", "validatingwebhookconfigurations", ""),
		access("delete", "admissionregistration.k8s.io", "validatingadmissionpolicies", ""),
		access("delete", "apps", "deployments", install), // components change only through the KubeVirt CR
		access("create", "apps", "daemonsets", install),
		access("delete", "kubevirt.io", "kubevirts", install),
		access("create", "certificates.k8s.io", "certificatesigningrequests", ""),
	}
	kube, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := inforce.Allowed(ctx, kube, wait.Medium, needs...); err != nil {
		t.Fatalf("the ServiceAccount lacks what the suite needs: %v", err)
	}
	if err := inforce.Denied(ctx, kube, wait.Short, notNeeded...); err != nil {
		t.Fatalf("the ServiceAccount may do more than the suite needs: %v", err)
	}
	t.Logf("%d needs allowed, %d non-needs denied for %s", len(needs), len(notNeeded), user)
}
