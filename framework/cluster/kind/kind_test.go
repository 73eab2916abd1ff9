package kind

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/internal/image"
	refconfig "github.com/vmt-conformance/vmt-conformance/reference/config"
)

var update = flag.Bool("update", false, "rewrite ci/kind/cluster.yaml and testdata/plan.<profile>.golden from the code")

const repoRoot = "../../.."

var testOpts = Options{Name: "lane", SourceDir: "/src", ToolsDir: "/tools", StateDir: "/state"}

func TestCheckedInConfig(t *testing.T) {
	want, err := ConfigYAML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(repoRoot, ConfigFile)
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from ClusterConfig(); regenerate with go test ./framework/cluster/kind -run TestCheckedInConfig -update\n--- got\n%s\n--- want\n%s", ConfigFile, got, want)
	}
	c, err := ParseConfig(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		if n.Image != NodeImage || !strings.Contains(n.Image, "@sha256:") || !strings.HasPrefix(n.Image, "kindest/node:v1.34.") {
			t.Errorf("node %s image %q: want kind %s's pinned v1.34 image by digest", n.Role, n.Image, KindVersion)
		}
	}
}

func TestParseConfigRefusesWhatTheLaneCannotUse(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{"kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n", "at least one worker"},
		{"kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n  extraPortMapping: []\n", "unknown field"},
		{"kind: Config\napiVersion: v1\n", "want kind Cluster"},
		{"nodes: [", "kind cluster config"},
	} {
		if _, err := ParseConfig([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseConfig(%q) = %v, want an error with %q", tc.config, err, tc.want)
		}
	}
}

// The kind CLI the lane installs is the sigs.k8s.io/kind module go.mod pins, whose config
// types and node image this package uses.
func TestKindVersionIsGoModsPin(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	pins := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[1], "v") {
			pins[f[0]] = f[1]
		}
	}
	if pins["sigs.k8s.io/kind"] != KindVersion {
		t.Errorf("KindVersion %s, go.mod pins sigs.k8s.io/kind %s", KindVersion, pins["sigs.k8s.io/kind"])
	}
	if pins["sigs.k8s.io/e2e-framework"] == "" {
		t.Error("go.mod does not pin sigs.k8s.io/e2e-framework")
	}
	// The CDI release matches the API module the suite is built with.
	if pins["kubevirt.io/containerized-data-importer-api"] != CDIVersion {
		t.Errorf("CDI %s, API module %s", CDIVersion, pins["kubevirt.io/containerized-data-importer-api"])
	}
	// The KubeVirt release is the profile's; the API module (which TestKubeVirtPatch checks
	// the patch against) is no newer than any profile's, so every field it knows exists there.
	api := release.MustParse(pins["kubevirt.io/api"])
	for _, p := range local.Profiles() {
		if release.MustParse(p.KubeVirtVersion).Less(api) {
			t.Errorf("profile %s installs KubeVirt %s, older than the API module kubevirt.io/api %s", p.Name, p.KubeVirtVersion, api)
		}
	}
}

// One golden plan per profile (testdata/plan.<profile>.golden); no profile is the default's.
func TestPlanIsTheExactDockerKindAndInstallSequence(t *testing.T) {
	for _, p := range local.ProfileNames() {
		t.Run(p, func(t *testing.T) {
			o := testOpts
			o.Profile = p
			steps, err := Plan(o)
			if err != nil {
				t.Fatal(err)
			}
			got := String(steps)
			golden := filepath.Join("testdata", "plan."+p+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (generate it with -update)", err)
			}
			if got != string(want) {
				t.Errorf("plan changed (regenerate with -update if intended):\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
	steps, err := Plan(testOpts)
	if err != nil {
		t.Fatal(err)
	}
	defaultOpts := testOpts
	defaultOpts.Profile = local.DefaultProfile
	if def, _ := Plan(defaultOpts); String(steps) != String(def) {
		t.Errorf("the plan without a profile is not %s's:\n%s", local.DefaultProfile, String(steps))
	}

	commands := map[string][]string{}
	for _, s := range steps {
		if s.run == nil {
			t.Errorf("step %q has nothing to run", s.Name)
		}
		commands[s.Name] = s.Command
	}
	for name, want := range map[string][]string{
		"check the Docker engine":                  {"docker", "info", "--format", "{{.ServerVersion}}"},
		"install kind " + KindVersion:              {"go", "install", "sigs.k8s.io/kind@" + KindVersion},
		"build the controller image":               nil, // internal/image, in-process: no docker build
		"build the apiserver image":                nil,
		"create the kind cluster lane":             {"/tools/kind", "create", "cluster", "--name", "lane", "--config", "/state/cluster.yaml"},
		"load " + refconfig.DefaultControllerImage: {"/tools/kind", "load", "image-archive", "--name", "lane", "/src/_output/images/vmt-template-controller.tar"},
		"load " + refconfig.DefaultAPIServerImage:  {"/tools/kind", "load", "image-archive", "--name", "lane", "/src/_output/images/vmt-template-apiserver.tar"},
	} {
		if !slices.Equal(commands[name], want) {
			t.Errorf("step %q runs %q, want %q", name, commands[name], want)
		}
	}
	// The lane builds no image with Docker: only kind needs it.
	for _, st := range steps {
		if len(st.Command) > 1 && st.Command[0] == "docker" && st.Command[1] != "info" {
			t.Errorf("step %q runs docker: %q", st.Name, st.Command)
		}
	}
	// Each image is written where its load reads it, under the reference the Deployments name.
	for _, w := range []struct{ step, archive, ref string }{
		{"build the controller image", "/src/_output/images/vmt-template-controller.tar", refconfig.DefaultControllerImage},
		{"build the apiserver image", "/src/_output/images/vmt-template-apiserver.tar", refconfig.DefaultAPIServerImage},
	} {
		i := slices.IndexFunc(steps, func(s Step) bool { return s.Name == w.step })
		if i < 0 || !slices.Equal(steps[i].Writes, []string{w.archive + " (" + w.ref + ")"}) {
			t.Errorf("step %q: want it to write %s (%s)", w.step, w.archive, w.ref)
		}
	}
	// Docker first: without it nothing else can work, and the error must say so at once.
	if steps[0].Name != "check the Docker engine" {
		t.Errorf("first step is %q", steps[0].Name)
	}
	// The image tags are not :latest, so the kubelet uses the loaded image and never pulls.
	for _, img := range []string{refconfig.DefaultControllerImage, refconfig.DefaultAPIServerImage} {
		if strings.HasSuffix(img, ":latest") || !strings.Contains(img, ":") {
			t.Errorf("image %s would be pulled despite kind load", img)
		}
	}
}

// The images the lane writes carry the references reference/config's Deployments name.
func TestImagesAreTheDeployedOnes(t *testing.T) {
	for name, want := range map[string]string{image.Controller: refconfig.DefaultControllerImage, image.APIServer: refconfig.DefaultAPIServerImage} {
		if got := image.Ref(name, image.DefaultTag); got != want {
			t.Errorf("internal/image writes %s as %s, reference/config deploys %s", name, got, want)
		}
	}
}

func TestDownDeletesTheClusterUnlessKept(t *testing.T) {
	steps, err := DownPlan(testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 || !slices.Equal(steps[0].Command, []string{"/tools/kind", "delete", "cluster", "--name", "lane"}) {
		t.Errorf("down plan: %s", String(steps))
	}
	kept := testOpts
	kept.Keep = true
	if steps, _ := DownPlan(kept); len(steps) != 0 {
		t.Errorf("a kept cluster is deleted: %s", String(steps))
	}
}

func TestBadOptionsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) { o.Name = "Lane_1" }, `kind cluster name "Lane_1"`},
		{func(o *Options) { o.SourceDir = "" }, "no source directory"},
		{func(o *Options) { o.StateDir = "/my state" }, "would need to quote"},
		{func(o *Options) { o.Profile = "kubevirt-2.0" }, `kind provider: unknown local profile "kubevirt-2.0" (known: kubevirt-1.8, kubevirt-1.9)`},
	} {
		o := testOpts
		tc.change(&o)
		if _, err := Plan(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Plan: err = %v, want %q", err, tc.want)
		}
	}
}

// kubevirtCR is the shape of the release's kubevirt-cr.yaml.
const kubevirtCR = `apiVersion: kubevirt.io/v1
kind: KubeVirt
metadata:
  name: kubevirt
  namespace: kubevirt
spec:
  certificateRotateStrategy: {}
  configuration:
    developerConfiguration:
      featureGates: []
  customizeComponents: {}
  imagePullPolicy: IfNotPresent
  workloadUpdateStrategy: {}
`

func TestKubeVirtPatch(t *testing.T) {
	gates := []string{TemplateGate, "Snapshot"}
	// Every field of the patch exists in KubeVirt's API (a misspelt field would be ignored
	// by the API server and leave virt-operator deploying its own virt-template).
	dec := json.NewDecoder(bytes.NewReader(KubeVirtPatch(gates)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kubevirtv1.KubeVirt{}); err != nil {
		t.Fatalf("the patch names a field KubeVirt does not have: %v", err)
	}
	var kv kubevirtv1.KubeVirt
	if err := yaml.UnmarshalStrict([]byte(kubevirtCR), &kv); err != nil {
		t.Fatal(err)
	}
	// Unmarshalling over the object merges maps and replaces lists, as a JSON merge patch does.
	if err := json.Unmarshal(KubeVirtPatch(gates), &kv); err != nil {
		t.Fatal(err)
	}
	cfg := kv.Spec.Configuration
	if dc := cfg.DeveloperConfiguration; dc == nil || !dc.UseEmulation || !slices.Equal(dc.FeatureGates, gates) {
		t.Errorf("developerConfiguration after the patch: %+v", dc)
	}
	if d := cfg.VirtTemplateDeployment; d == nil || d.Enabled == nil || *d.Enabled {
		t.Errorf("virtTemplateDeployment after the patch: %+v (want enabled: false)", d)
	}
	if kv.Spec.ImagePullPolicy != "IfNotPresent" || kv.Name != KubeVirtName || kv.Namespace != KubeVirtNamespace {
		t.Errorf("the patch lost the release CR's other fields: %+v", kv.ObjectMeta)
	}
}

func TestTemplateManifests(t *testing.T) {
	for _, v := range []string{"v0.1.8", "v0.2.2"} {
		t.Run(v, func(t *testing.T) { testTemplateManifests(t, release.MustParse(v)) })
	}
}

func testTemplateManifests(t *testing.T, v release.Version) {
	objs, err := TemplateManifests("example.com/ctl:v1", "example.com/api:v1", v)
	if err != nil {
		t.Fatal(err)
	}
	var apiServices []string
	images := map[string]string{}
	secrets, caBundles := 0, 0
	for _, u := range objs {
		// upstream's auth-reader RoleBinding lives in kube-system, as every aggregated server's does
		if ns := u.GetNamespace(); ns != "" && ns != KubeVirtNamespace && !(u.GetKind() == "RoleBinding" && ns == "kube-system") {
			t.Errorf("%s %s in namespace %s", u.GetKind(), u.GetName(), ns)
		}
		switch u.GetKind() {
		case "Deployment":
			args, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			if len(args) == 0 || !slices.Contains(args[0].(map[string]any)["args"].([]any), any("--emulate-release="+v.String())) {
				t.Errorf("Deployment %s does not run with --emulate-release=%s: %v", u.GetName(), v, args)
			}
			raw, _ := json.Marshal(u.Object)
			for _, img := range []string{"example.com/ctl:v1", "example.com/api:v1"} {
				if strings.Contains(string(raw), img) {
					images[u.GetName()] = img
				}
			}
		case "Secret":
			secrets++
		case "APIService":
			apiServices = append(apiServices, u.GetName())
			if b, _, _ := unstructuredString(u.Object, "spec", "caBundle"); b != "" {
				caBundles++
			}
		case "Namespace":
			t.Error("the manifests create KubeVirt's namespace, which the KubeVirt release owns")
		}
	}
	if images[refconfig.ControllerDeployment] != "example.com/ctl:v1" || images[refconfig.APIServerDeployment] != "example.com/api:v1" {
		t.Errorf("Deployment images: %v", images)
	}
	want := refconfig.APIServicesFor(v)
	slices.Sort(apiServices)
	if !slices.Equal(apiServices, want) {
		t.Errorf("APIServices %v, want %v", apiServices, want)
	}
	if secrets != 3 || caBundles != len(want) {
		t.Errorf("%d serving-certificate Secrets (want 3), %d APIServices with a CA bundle (want %d)", secrets, caBundles, len(want))
	}
}

func unstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	cur := any(obj)
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = m[f]
	}
	s, ok := cur.(string)
	return s, ok, nil
}

func TestUpNeedsADockerEngine(t *testing.T) {
	for _, tc := range []struct {
		name, docker, want string
	}{
		{"no docker CLI", "", "kind provider needs a Docker engine: the docker CLI is not on PATH"},
		{"no daemon", "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock' >&2\nexit 1\n",
			"kind provider needs a Docker engine: `docker info` failed, is the daemon running and may this user reach it? exit status 1: Cannot connect to the Docker daemon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := t.TempDir()
			if tc.docker != "" {
				if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(tc.docker), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("PATH", bin)
			o := testOpts
			o.StateDir, o.ToolsDir = t.TempDir(), t.TempDir()
			p := New(o)
			err := p.Up(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Up: %v\nwant: %s", err, tc.want)
			}
			if p.Created() {
				t.Error("a failed Up says the cluster was created")
			}
			if err := p.Down(context.Background()); err != nil {
				t.Errorf("Down after a failed Up: %v", err)
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	cs, err := New(testOpts).Capabilities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r := cs.Reason(cluster.Guest); !strings.Contains(r, "KubeVirt v1.9.0 ") {
		t.Errorf("guest reason %q does not name the default profile's KubeVirt", r)
	}
	want := map[cluster.Capability]bool{cluster.Guest: true, cluster.SnapshotStorage: false, cluster.TemplateOperator: false, cluster.OpenShift: false, cluster.HCO: false, cluster.WindowsImage: false}
	for c, offered := range want {
		if cs.Has(c) != offered {
			t.Errorf("%s offered=%t, want %t (%s)", c, cs.Has(c), offered, cs.Reason(c))
		}
	}
}

// Each profile's plan installs that KubeVirt release with Template and Snapshot listed (1.8
// enables neither by default) and the reference components emulating the virt-template
// release that KubeVirt bundles (v0.1.8 serves v1alpha1 only: one APIService). The values
// are spelt out here, not read from the profile table, so a table change shows.
func TestPlanFollowsTheProfile(t *testing.T) {
	for _, tc := range []struct {
		profile, kubevirt, virtTemplate string
		apiServices                     []string
	}{
		{"kubevirt-1.8", "v1.8.4", "v0.1.8", []string{"v1alpha1.subresources.template.kubevirt.io"}},
		{"kubevirt-1.9", "v1.9.0", "v0.2.2", []string{"v1alpha1.subresources.template.kubevirt.io", "v1beta1.subresources.template.kubevirt.io"}},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			o := testOpts
			o.Profile = tc.profile
			steps, err := Plan(o)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]Step{}
			for _, s := range steps {
				byName[s.Name] = s
			}
			base := "https://github.com/kubevirt/kubevirt/releases/download/" + tc.kubevirt + "/"
			if s := byName["install the KubeVirt operator "+tc.kubevirt+" (profile "+tc.profile+")"]; !slices.Equal(s.Applies, []string{base + "kubevirt-operator.yaml"}) {
				t.Errorf("KubeVirt operator step applies %q, want %s", s.Applies, base+"kubevirt-operator.yaml")
			}
			cr := byName["create the KubeVirt CR"]
			if len(cr.Applies) != 2 || cr.Applies[0] != base+"kubevirt-cr.yaml" {
				t.Fatalf("KubeVirt CR step applies %q", cr.Applies)
			}
			var patch struct {
				Spec struct {
					Configuration struct {
						DeveloperConfiguration struct {
							FeatureGates []string `json:"featureGates"`
						} `json:"developerConfiguration"`
					} `json:"configuration"`
				} `json:"spec"`
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(cr.Applies[1], "merge patch ")), &patch); err != nil {
				t.Fatal(err)
			}
			if gates := patch.Spec.Configuration.DeveloperConfiguration.FeatureGates; !slices.Equal(gates, []string{"Template", "Snapshot"}) {
				t.Errorf("featureGates %q, want Template and Snapshot", gates)
			}
			if a := byName["install the template components"].Applies; len(a) != 1 || !strings.Contains(a[0], "virt-template "+tc.virtTemplate+" ") || !strings.HasSuffix(a[0], "--emulate-release="+tc.virtTemplate) {
				t.Errorf("template step applies %q, want virt-template %s with --emulate-release=%s", a, tc.virtTemplate, tc.virtTemplate)
			}
			if w := byName["wait for the template components"].WaitsFor; !strings.Contains(w, "APIServices "+strings.Join(tc.apiServices, ", ")+" Available") {
				t.Errorf("template wait %q, want APIServices %v", w, tc.apiServices)
			}
			cs, err := New(o).Capabilities(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if r := cs.Reason(cluster.Guest); !strings.Contains(r, "KubeVirt "+tc.kubevirt+" ") {
				t.Errorf("guest reason %q does not name KubeVirt %s", r, tc.kubevirt)
			}
		})
	}
}
