package kind

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/vmt-conformance/vmt-conformance/internal/image"
	refconfig "github.com/vmt-conformance/vmt-conformance/reference/config"
)

// Step is one thing the lane does, as data: what it is, the external command it runs (or
// that e2e-framework runs for it), the manifests it applies, what it waits for.
type Step struct {
	Name string
	// Command is the exact command line, or nil for steps that talk to the API server.
	Command []string
	// Env is added to the command's environment.
	Env []string
	// Writes names the files the step writes.
	Writes []string
	// Applies names the manifests the step applies (release URLs, generated objects).
	Applies []string
	// WaitsFor says what the step waits for, if anything.
	WaitsFor string
	// Via says which library runs the step when it is not run by exec here.
	Via string

	run func(r *run) error
}

// String renders the step for progress lines and the README.
func (s Step) String() string {
	var parts []string
	if len(s.Command) > 0 {
		parts = append(parts, strings.Join(append(append([]string{}, s.Env...), s.Command...), " "))
	}
	for _, w := range s.Writes {
		parts = append(parts, "write "+w)
	}
	for _, a := range s.Applies {
		parts = append(parts, "apply "+a)
	}
	if s.WaitsFor != "" {
		parts = append(parts, "wait for "+s.WaitsFor)
	}
	out := s.Name
	if len(parts) > 0 {
		out += ": " + strings.Join(parts, "; ")
	}
	if s.Via != "" {
		out += " (" + s.Via + ")"
	}
	return out
}

const (
	viaE2E   = "sigs.k8s.io/e2e-framework envfuncs"
	viaImage = "internal/image: CGO_ENABLED=0 go build, no Docker"
)

// Plan is every step Up takes, in order. It touches nothing: it is what Up runs and what the
// tests check.
func Plan(o Options) ([]Step, error) {
	o, err := o.complete()
	if err != nil {
		return nil, err
	}
	kindBin := o.kindBinary()
	kubevirt, virtTemplate := o.profile.KubeVirtVersion, o.profile.VirtTemplateVersion()
	configPath := filepath.Join(o.StateDir, "cluster.yaml")
	// The reference images are written by internal/image (static go build, one layer on an
	// empty base, a docker/OCI tarball; what `make image` does), not by docker build: the lane
	// needs Docker only for kind itself.
	build := func(component, imageName, ref string) Step {
		archive := image.Tarball(o.imagesDir(), imageName)
		return Step{
			Name: "build the " + component + " image", Via: viaImage,
			Writes: []string{archive + " (" + ref + ")"},
			run:    func(r *run) error { return r.buildImage(imageName, ref) },
		}
	}
	load := func(imageName, ref string) Step {
		archive := image.Tarball(o.imagesDir(), imageName)
		return Step{
			Name: "load " + ref, Via: viaE2E,
			Command: []string{kindBin, "load", "image-archive", "--name", o.Name, archive},
			run:     func(r *run) error { return r.loadImageArchive(archive) },
		}
	}
	return []Step{
		{
			Name: "check the Docker engine", Command: []string{"docker", "info", "--format", "{{.ServerVersion}}"},
			run: func(r *run) error { return r.checkDocker() },
		},
		{
			Name: "install kind " + KindVersion, Env: []string{"GOBIN=" + filepath.Dir(kindBin)},
			Command: []string{"go", "install", "sigs.k8s.io/kind@" + KindVersion},
			run:     func(r *run) error { return r.installKind() },
		},
		build("controller", image.Controller, o.ControllerImage),
		build("apiserver", image.APIServer, o.APIServerImage),
		{
			Name: "write the cluster config", Writes: []string{configPath + " (= " + ConfigFile + ")"},
			run: func(r *run) error { return r.writeConfig(configPath) },
		},
		{
			Name: "create the kind cluster " + o.Name, Via: viaE2E,
			Command:  []string{kindBin, "create", "cluster", "--name", o.Name, "--config", configPath},
			WaitsFor: "control-plane, kindnet, CoreDNS and kube-proxy pods",
			run:      func(r *run) error { return r.createCluster(configPath) },
		},
		load(image.Controller, o.ControllerImage),
		load(image.APIServer, o.APIServerImage),
		{
			Name: "install the KubeVirt operator " + kubevirt + " (profile " + o.profile.Name + ")", Applies: []string{KubeVirtOperatorURL(kubevirt)},
			run: func(r *run) error { return r.applyURL(KubeVirtOperatorURL(kubevirt)) },
		},
		{
			Name: "create the KubeVirt CR", Applies: []string{KubeVirtCRURL(kubevirt), "merge patch " + string(KubeVirtPatch(o.profile.FeatureGates))},
			WaitsFor: "CRD kubevirts.kubevirt.io Established",
			run:      func(r *run) error { return r.createKubeVirt() },
		},
		{
			Name: "install the CDI operator " + CDIVersion, Applies: []string{CDIOperatorURL},
			run: func(r *run) error { return r.applyURL(CDIOperatorURL) },
		},
		{
			Name: "create the CDI CR", Applies: []string{CDICRURL},
			WaitsFor: "CRD cdis.cdi.kubevirt.io Established",
			run:      func(r *run) error { return r.createCDI() },
		},
		{
			Name: "wait for KubeVirt and CDI", WaitsFor: "KubeVirt " + KubeVirtNamespace + "/" + KubeVirtName + " and CDI " + CDIName + " Available",
			run: func(r *run) error { return r.waitKubeVirtAndCDI() },
		},
		{
			Name: "install the template components", Applies: []string{"reference/config objects of virt-template " + virtTemplate.String() + " (KubeVirt " + kubevirt + "'s) in namespace " + KubeVirtNamespace + " with self-signed TLS, the images above and --emulate-release=" + virtTemplate.String()},
			run: func(r *run) error { return r.installTemplate() },
		},
		{
			Name: "wait for the template components", WaitsFor: "Deployments " + refconfig.ControllerDeployment + ", " + refconfig.APIServerDeployment + " Available; APIServices " + strings.Join(refconfig.APIServicesFor(virtTemplate), ", ") + " Available",
			run: func(r *run) error { return r.waitTemplate() },
		},
	}, nil
}

// DownPlan is what Down does: delete the cluster (or nothing when it is kept).
func DownPlan(o Options) ([]Step, error) {
	o, err := o.complete()
	if err != nil {
		return nil, err
	}
	if o.Keep {
		return nil, nil
	}
	return []Step{{
		Name: "delete the kind cluster " + o.Name, Via: viaE2E,
		Command: []string{o.kindBinary(), "delete", "cluster", "--name", o.Name},
		run:     func(r *run) error { return r.deleteCluster() },
	}}, nil
}

func (o Options) kindBinary() string { return filepath.Join(o.ToolsDir, "kind") }

// imagesDir is where the reference images are written: make image's _output/images.
func (o Options) imagesDir() string { return filepath.Join(o.SourceDir, "_output", "images") }

// String renders a plan, one numbered step a line.
func String(steps []Step) string {
	var b strings.Builder
	for i, s := range steps {
		fmt.Fprintf(&b, "%2d. %s\n", i+1, s)
	}
	return b.String()
}
