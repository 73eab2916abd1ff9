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

	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	refconfig "github.com/vmt-conformance/vmt-conformance/reference/config"
)

var update = flag.Bool("update", false, "rewrite ci/kind/cluster.yaml and testdata/plan.golden from the code")

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
	// KubeVirt and CDI releases match the API modules the suite is built with.
	if pins["kubevirt.io/api"] != KubeVirtVersion || pins["kubevirt.io/containerized-data-importer-api"] != CDIVersion {
		t.Errorf("KubeVirt %s / CDI %s, API modules %s / %s", KubeVirtVersion, CDIVersion, pins["kubevirt.io/api"], pins["kubevirt.io/containerized-data-importer-api"])
	}
}

func TestPlanIsTheExactDockerKindAndInstallSequence(t *testing.T) {
	steps, err := Plan(testOpts)
	if err != nil {
		t.Fatal(err)
	}
	got := String(steps)
	golden := filepath.Join("testdata", "plan.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("plan changed (regenerate with -update if intended):\n--- got\n%s--- want\n%s", got, want)
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
		"build the controller image":               {"docker", "build", "-f", "/src/reference/Dockerfile", "--build-arg", "COMPONENT=controller", "-t", refconfig.DefaultControllerImage, "/src"},
		"build the apiserver image":                {"docker", "build", "-f", "/src/reference/Dockerfile", "--build-arg", "COMPONENT=apiserver", "-t", refconfig.DefaultAPIServerImage, "/src"},
		"create the kind cluster lane":             {"/tools/kind", "create", "cluster", "--name", "lane", "--config", "/state/cluster.yaml"},
		"load " + refconfig.DefaultControllerImage: {"/tools/kind", "load", "docker-image", "--name", "lane", refconfig.DefaultControllerImage},
		"load " + refconfig.DefaultAPIServerImage:  {"/tools/kind", "load", "docker-image", "--name", "lane", refconfig.DefaultAPIServerImage},
	} {
		if !slices.Equal(commands[name], want) {
			t.Errorf("step %q runs %q, want %q", name, commands[name], want)
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

// The build steps pass COMPONENT values reference/Dockerfile knows.
func TestBuildStepsMatchTheDockerfile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "reference", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"controller", "apiserver"} {
		if !strings.Contains(string(raw), c+")") {
			t.Errorf("reference/Dockerfile has no COMPONENT=%s case", c)
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
	// Every field of the patch exists in KubeVirt's API (a misspelt field would be ignored
	// by the API server and leave virt-operator deploying its own virt-template).
	dec := json.NewDecoder(bytes.NewReader(KubeVirtPatch()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kubevirtv1.KubeVirt{}); err != nil {
		t.Fatalf("the patch names a field KubeVirt does not have: %v", err)
	}
	var kv kubevirtv1.KubeVirt
	if err := yaml.UnmarshalStrict([]byte(kubevirtCR), &kv); err != nil {
		t.Fatal(err)
	}
	// Unmarshalling over the object merges maps and replaces lists, as a JSON merge patch does.
	if err := json.Unmarshal(KubeVirtPatch(), &kv); err != nil {
		t.Fatal(err)
	}
	cfg := kv.Spec.Configuration
	if dc := cfg.DeveloperConfiguration; dc == nil || !dc.UseEmulation || !slices.Equal(dc.FeatureGates, []string{TemplateGate}) {
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
	objs, err := TemplateManifests("example.com/ctl:v1", "example.com/api:v1")
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]string{}
	secrets, caBundles := 0, 0
	for _, u := range objs {
		// upstream's auth-reader RoleBinding lives in kube-system, as every aggregated server's does
		if ns := u.GetNamespace(); ns != "" && ns != KubeVirtNamespace && !(u.GetKind() == "RoleBinding" && ns == "kube-system") {
			t.Errorf("%s %s in namespace %s", u.GetKind(), u.GetName(), ns)
		}
		switch u.GetKind() {
		case "Deployment":
			raw, _ := json.Marshal(u.Object)
			for _, img := range []string{"example.com/ctl:v1", "example.com/api:v1"} {
				if strings.Contains(string(raw), img) {
					images[u.GetName()] = img
				}
			}
		case "Secret":
			secrets++
		case "APIService":
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
	if secrets != 3 || caBundles != len(refconfig.APIServices) {
		t.Errorf("%d serving-certificate Secrets (want 3), %d APIServices with a CA bundle (want %d)", secrets, caBundles, len(refconfig.APIServices))
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
	want := map[cluster.Capability]bool{cluster.Guest: true, cluster.SnapshotStorage: false, cluster.TemplateOperator: false, cluster.OpenShift: false, cluster.HCO: false, cluster.WindowsImage: false}
	for c, offered := range want {
		if cs.Has(c) != offered {
			t.Errorf("%s offered=%t, want %t (%s)", c, cs.Has(c), offered, cs.Reason(c))
		}
	}
}
