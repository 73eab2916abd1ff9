package image

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/internal/filelock"
)

// The images this repository ships.
const (
	// Suite is the conformance suite: runner, compiled suite, ginkgo, reports, reference CLI
	// and kubectl.
	Suite = "vmt-conformance"
	// Controller and APIServer are the reference template components the kind lane loads.
	Controller = "vmt-template-controller"
	APIServer  = "vmt-template-apiserver"
)

// Names lists every image, the suite first.
func Names() []string { return []string{Suite, APIServer, Controller} }

// DefaultTag is the tag unless told otherwise. It is not "latest", so a cluster handed the
// image (kind load) does not try to pull it.
const DefaultTag = "devel"

// BinDir is where the suite image keeps its binaries; SuiteBinary is the compiled suite.
const (
	BinDir      = "/usr/local/bin"
	SuiteBinary = BinDir + "/tests.test"
	Entrypoint  = BinDir + "/vmt-e2e"
	// WorkDir is the image's working directory and HOME, writable by the non-root user.
	WorkDir = "/tmp"
	// Artifacts is the runner's default report directory in the image.
	Artifacts = "/tmp/artifacts"
)

// SuiteBinaries are the files of the suite image's BinDir.
var SuiteBinaries = []string{"ginkgo", "kubectl", "tests.test", "vmt-e2e", "vmt-report", "vmt-virtctl"}

// ComponentEntrypoints are the reference components' binaries: the Deployments of
// reference/config run /manager and /apiserver, where upstream's images have them.
var ComponentEntrypoints = map[string]string{Controller: "/manager", APIServer: "/apiserver"}

// Ref is the reference an image carries for a tag: localhost/vmt-conformance:<tag> for the
// suite (it is pushed nowhere), ghcr.io/vmt-conformance/<name>:<tag> for the reference
// components (the images reference/config's Deployments name).
func Ref(imageName, tag string) string {
	if tag == "" {
		tag = DefaultTag
	}
	if imageName == Suite {
		return "localhost/" + Suite + ":" + tag
	}
	return "ghcr.io/vmt-conformance/" + imageName + ":" + tag
}

// Tarball is where Build writes an image below out.
func Tarball(out, imageName string) string { return filepath.Join(out, imageName+".tar") }

// Options of Build.
type Options struct {
	// Root is the repository root (the module directory).
	Root string
	// Out receives <name>.tar per image.
	Out string
	// Tag is every image's tag (DefaultTag); Refs overrides the whole reference per image.
	Tag  string
	Refs map[string]string
	// Cache holds the compiled binaries (default <VMT_CACHE_DIR>/image) and the build lock.
	Cache string
	// Progress receives one line per step.
	Progress io.Writer
}

// Build compiles what the named images need (static, CGO_ENABLED=0; go's build cache makes
// a second build cheap) and writes each image's tarball into o.Out. Builds sharing a cache
// run one after the other.
func Build(ctx context.Context, o Options, names ...string) ([]Result, error) {
	if o.Root == "" || o.Out == "" || o.Cache == "" {
		return nil, errors.New("image: Root, Out and Cache must be set")
	}
	if len(names) == 0 {
		names = Names()
	}
	for _, n := range names {
		if !slices.Contains(Names(), n) {
			return nil, fmt.Errorf("unknown image %q (known: %s)", n, strings.Join(Names(), ", "))
		}
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	bin := filepath.Join(o.Cache, "bin")
	lock, err := filelock.Acquire(ctx, filepath.Join(o.Cache, "build.lock"), "building images into "+o.Out, progress)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	b := &builder{ctx: ctx, o: o, bin: bin, progress: progress}
	created, revision := b.vcs()
	var out []Result
	for _, n := range names {
		start := time.Now()
		s, err := b.spec(n)
		if err != nil {
			return out, err
		}
		s.Created = created
		s.Labels["org.opencontainers.image.revision"] = revision
		s.Labels["org.opencontainers.image.created"] = created.Format(time.RFC3339)
		res, err := Write(s, Tarball(o.Out, n))
		if err != nil {
			return out, err
		}
		fmt.Fprintf(progress, "image %s in %s\n", res, time.Since(start).Round(100*time.Millisecond))
		out = append(out, res)
	}
	return out, nil
}

type builder struct {
	ctx      context.Context
	o        Options
	bin      string
	progress io.Writer
	kubectl  string
}

func (b *builder) ref(n string) string {
	if r := b.o.Refs[n]; r != "" {
		return r
	}
	return Ref(n, b.o.Tag)
}

// spec compiles an image's binaries and describes it.
func (b *builder) spec(n string) (Spec, error) {
	labels := map[string]string{
		"org.opencontainers.image.source":  "https://github.com/vmt-conformance/vmt-conformance",
		"org.opencontainers.image.version": tagOf(b.ref(n)),
		"org.opencontainers.image.title":   n,
	}
	switch n {
	case Suite:
		if err := b.goBuild("./cmd/vmt-e2e", "./cmd/vmt-report", "./cmd/vmt-virtctl", "github.com/onsi/ginkgo/v2/ginkgo"); err != nil {
			return Spec{}, err
		}
		// `ginkgo build ./tests` is `go test -c` named tests.test.
		if err := b.run(b.o.Root, "go", "test", "-c", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(b.bin, "tests.test"), "./tests"); err != nil {
			return Spec{}, err
		}
		kubectl, err := b.kubectlBinary()
		if err != nil {
			return Spec{}, err
		}
		var files []File
		for _, f := range SuiteBinaries {
			src := filepath.Join(b.bin, f)
			if f == "kubectl" {
				src = kubectl
			}
			files = append(files, File{Src: src, Path: BinDir + "/" + f, Mode: 0o755})
		}
		labels["org.opencontainers.image.description"] = "vmt-conformance: the KubeVirt VM template conformance suite (runner vmt-e2e, compiled suite tests.test, ginkgo, vmt-report, reference CLI vmt-virtctl, kubectl); bring virtctl yourself"
		var bins []string
		for _, f := range SuiteBinaries {
			if f != "kubectl" {
				bins = append(bins, filepath.Join(b.bin, f))
			}
		}
		versions, err := builtAgainst(bins, kubectl)
		if err != nil {
			return Spec{}, err
		}
		for k, v := range versions {
			labels[k] = v
		}
		return Spec{
			Name: n, Ref: b.ref(n), Files: files, Entrypoint: []string{Entrypoint}, User: NonRoot, WorkingDir: WorkDir,
			Env: []string{
				"PATH=" + BinDir,
				"HOME=" + WorkDir,
				"GINKGO=" + BinDir + "/ginkgo",
				"VMT_SUITE_BINARY=" + SuiteBinary,
				"PROVIDER=existing",
				"VMT_ARTIFACTS=" + Artifacts,
			},
			Labels: labels,
		}, nil
	case Controller, APIServer:
		if err := b.goBuild("./cmd/" + n); err != nil {
			return Spec{}, err
		}
		entry := ComponentEntrypoints[n]
		labels["org.opencontainers.image.description"] = "vmt-conformance reference implementation of kubevirt/virt-template: " + n
		versions, err := builtAgainst([]string{filepath.Join(b.bin, n)}, "")
		if err != nil {
			return Spec{}, err
		}
		for k, v := range versions {
			labels[k] = v
		}
		return Spec{
			Name: n, Ref: b.ref(n), Files: []File{{Src: filepath.Join(b.bin, n), Path: entry, Mode: 0o755}},
			Entrypoint: []string{entry}, User: NonRoot, WorkingDir: "/", Labels: labels,
		}, nil
	}
	return Spec{}, fmt.Errorf("unknown image %q", n)
}

// goBuild builds static binaries into the cache (go build relinks nothing up to date).
func (b *builder) goBuild(pkgs ...string) error {
	args := append([]string{"build", "-trimpath", "-ldflags=-s -w", "-o", b.bin + string(filepath.Separator)}, pkgs...)
	return b.run(b.o.Root, "go", args...)
}

// kubectlBinary is the static kubectl ci/kube/build.sh builds beside the control plane
// from the same pinned k8s.io/kubernetes module.
func (b *builder) kubectlBinary() (string, error) {
	if b.kubectl != "" {
		return b.kubectl, nil
	}
	var stdout bytes.Buffer
	cmd := exec.CommandContext(b.ctx, "bash", filepath.Join(b.o.Root, "ci", "kube", "build.sh"))
	cmd.Stdout, cmd.Stderr = &stdout, b.progress
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ci/kube/build.sh (kubectl): %w", err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	b.kubectl = filepath.Join(lines[len(lines)-1], "kubectl")
	if _, err := os.Stat(b.kubectl); err != nil {
		return "", fmt.Errorf("ci/kube/build.sh built no kubectl: %w", err)
	}
	return b.kubectl, nil
}

func (b *builder) run(dir, name string, args ...string) error {
	start := time.Now()
	cmd := exec.CommandContext(b.ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("CGO_ENABLED=0 %s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	fmt.Fprintf(b.progress, "CGO_ENABLED=0 %s %s (%s)\n", name, strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))
	return nil
}

// vcs gives the image's creation time and revision: SOURCE_DATE_EPOCH, else the commit
// time of HEAD, so two builds of one commit are the same bytes.
func (b *builder) vcs() (time.Time, string) {
	git := func(args ...string) string {
		cmd := exec.CommandContext(b.ctx, "git", args...)
		cmd.Dir = b.o.Root
		out, err := cmd.Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	revision := git("rev-parse", "HEAD")
	if revision == "" {
		revision = "unknown"
	}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	epoch := os.Getenv("SOURCE_DATE_EPOCH")
	if epoch == "" {
		epoch = git("log", "-1", "--format=%ct")
	}
	if s, err := strconv.ParseInt(epoch, 10, 64); err == nil {
		created = time.Unix(s, 0).UTC()
	}
	return created, revision
}

// Label keys of the versions an image was built against.
const (
	LabelGo             = "io.vmt-conformance.go-version"
	LabelGinkgo         = "io.vmt-conformance.ginkgo-version"
	LabelKubernetes     = "io.vmt-conformance.kubernetes-version"
	LabelKubeVirtClient = "io.vmt-conformance.kubevirt-client-version"
	LabelVirtTemplate   = "io.vmt-conformance.virt-template-releases"
)

// builtAgainst reads the versions from the binaries' build information, so the labels say
// what was linked: Go, ginkgo, client-go (Kubernetes; kubectl's k8s.io/kubernetes when given),
// kubevirt.io/client-go, and the virt-template releases framework/release maps KubeVirt to.
// bins are built from this module (one build list); a test binary records no modules, so the
// suite's are read from its other commands.
func builtAgainst(bins []string, kubectl string) (map[string]string, error) {
	mods := map[string]string{}
	var goVersion string
	for _, bin := range bins {
		bi, err := buildinfo.ReadFile(bin)
		if err != nil {
			return nil, fmt.Errorf("reading the build information of %s: %w", bin, err)
		}
		goVersion = bi.GoVersion
		for _, d := range bi.Deps {
			v := d.Version
			if d.Replace != nil {
				v = d.Replace.Version
			}
			mods[d.Path] = v
		}
	}
	out := map[string]string{LabelGo: goVersion}
	if v := mods["github.com/onsi/ginkgo/v2"]; v != "" {
		out[LabelGinkgo] = v
	}
	if v := mods["k8s.io/client-go"]; v != "" {
		out[LabelKubernetes] = "client-go " + v
	}
	if kubectl != "" {
		kb, err := buildinfo.ReadFile(kubectl)
		if err != nil {
			return nil, fmt.Errorf("reading the build information of %s: %w", kubectl, err)
		}
		// `go build k8s.io/kubernetes/cmd/kubectl` makes k8s.io/kubernetes the main module.
		for _, d := range append([]*debug.Module{&kb.Main}, kb.Deps...) {
			if d.Path == "k8s.io/kubernetes" {
				out[LabelKubernetes] = d.Version + " (kubectl), " + out[LabelKubernetes]
			}
		}
	}
	if v := mods["kubevirt.io/client-go"]; v != "" {
		out[LabelKubeVirtClient] = v
	} else if v := mods["kubevirt.io/api"]; v != "" { // the controller links only the API types
		out[LabelKubeVirtClient] = "kubevirt.io/api " + v
	}
	var vts []string
	for _, kb := range release.KubeVirtBundles() {
		if v := kb.VirtTemplate.String(); !slices.Contains(vts, v) {
			vts = append(vts, v)
		}
	}
	sort.Strings(vts)
	out[LabelVirtTemplate] = strings.Join(vts, ",")
	return out, nil
}

func tagOf(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return DefaultTag
}
