package image

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	refconfig "github.com/vmt-conformance/vmt-conformance/reference/config"
)

// repoRoot is the checkout; the images are built into its _output/images, as `make image`
// does (reused when nothing changed).
var repoRoot = func() string { r, _ := filepath.Abs("../.."); return r }()

var built = sync.OnceValues(func() (map[string]Result, error) {
	start := time.Now()
	var progress bytes.Buffer
	res, err := Build(context.Background(), Options{
		Root: repoRoot, Out: filepath.Join(repoRoot, "_output", "images"),
		Cache: filepath.Join(local.DefaultCacheDir(), "image"), Progress: &progress,
	})
	if err != nil {
		return nil, errors.New(err.Error() + "\n" + progress.String())
	}
	out := map[string]Result{}
	for _, r := range res {
		out[r.Name] = r
	}
	buildLog = progress.String() + "built in " + time.Since(start).Round(100*time.Millisecond).String()
	return out, nil
})

var (
	buildLog string
	logBuild sync.Once
)

func image(t *testing.T, n string) (Result, v1.Image) {
	t.Helper()
	res, err := built()
	if err != nil {
		t.Fatalf("building the images: %v", err)
	}
	logBuild.Do(func() { t.Logf("%s", buildLog) })
	r := res[n]
	img, err := Load(r.Path)
	if err != nil {
		t.Fatalf("reading %s: %v", r.Path, err)
	}
	return r, img
}

// entry is one file of an image's flattened filesystem.
type entry struct {
	hdr  *tar.Header
	path string // extracted to, for regular files
}

// extract writes the image's filesystem below dir and lists every entry by its path.
func extract(t *testing.T, img v1.Image, dir string) map[string]entry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]entry{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := "/" + strings.TrimSuffix(path.Clean(hdr.Name), "/")
		e := entry{hdr: hdr}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			// The unpacked /tmp must stay writable for the non-root user, as in the image.
			if err := os.Chmod(dst, os.FileMode(hdr.Mode&0o777)|modeBits(hdr.Mode)); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(hdr.Mode&0o777))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			e.path = dst
		default:
			t.Errorf("%s: unexpected tar entry type %q", p, hdr.Typeflag)
		}
		out[p] = e
	}
	return out
}

func modeBits(m int64) os.FileMode {
	if m&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}

// static fails unless bin is a statically linked ELF executable: no interpreter, no dynamic
// section, so it runs on an empty base.
func static(t *testing.T, name, bin string) {
	t.Helper()
	if err := staticELF(bin); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

func staticELF(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("not an ELF file: %w", err)
	}
	defer f.Close()
	var errs []error
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			errs = append(errs, fmt.Errorf("dynamically linked (%s program header)", p.Type))
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		errs = append(errs, errors.New("has a .dynamic section"))
	}
	if f.Type != elf.ET_EXEC {
		errs = append(errs, fmt.Errorf("ELF type %s, want a static executable (ET_EXEC)", f.Type))
	}
	return errors.Join(errs...)
}

// The static check refuses what an empty base could not run: the system's dynamically
// linked shell.
func TestStaticCheckRefusesADynamicBinary(t *testing.T) {
	err := staticELF("/bin/sh")
	if err == nil || !strings.Contains(err.Error(), "PT_INTERP") {
		t.Errorf("staticELF(/bin/sh) = %v, want it refused for its interpreter", err)
	}
}

// runs runs bin with args in an environment of nothing but dir, and wants its output to
// match want.
func runs(t *testing.T, bin, dir string, want *regexp.Regexp, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"PATH=" + filepath.Dir(bin), "HOME=" + dir}
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if !want.Match(out) {
		t.Errorf("%s %s (%v): output does not match %q:\n%s", filepath.Base(bin), strings.Join(args, " "), err, want, firstLines(out, 15))
	}
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

func goModVersion(t *testing.T, mod string) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", mod)
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", mod, err)
	}
	return strings.TrimSpace(string(out))
}

func labelsAndConfig(t *testing.T, img v1.Image, r Result) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Errorf("%s: %d layers, want 1 (static binaries on an empty base)", r.Name, len(layers))
	}
	if cf.OS != "linux" || cf.Architecture == "" {
		t.Errorf("%s: platform %s/%s", r.Name, cf.OS, cf.Architecture)
	}
	if cf.Config.User != NonRoot {
		t.Errorf("%s: user %q, want %q (non-root)", r.Name, cf.Config.User, NonRoot)
	}
	created := cf.Created.Time
	if created.IsZero() {
		t.Errorf("%s: no creation time", r.Name)
	}
	l := cf.Config.Labels
	for _, k := range []string{"title", "version", "revision", "source", "created", "description"} {
		if l["org.opencontainers.image."+k] == "" {
			t.Errorf("%s: label org.opencontainers.image.%s missing", r.Name, k)
		}
	}
	if l["org.opencontainers.image.title"] != r.Name || l["org.opencontainers.image.version"] != DefaultTag {
		t.Errorf("%s: title/version labels %q/%q", r.Name, l["org.opencontainers.image.title"], l["org.opencontainers.image.version"])
	}
	if rev := l["org.opencontainers.image.revision"]; len(rev) != 40 {
		t.Errorf("%s: revision label %q, want the commit", r.Name, rev)
	} else if _, err := hex.DecodeString(rev); err != nil {
		t.Errorf("%s: revision label %q, want the commit", r.Name, rev)
	}
	if got := l["org.opencontainers.image.created"]; got != created.UTC().Format(time.RFC3339) {
		t.Errorf("%s: created label %q, config says %s", r.Name, got, created)
	}
	// The versions it was built against come from the binaries, and agree with go.mod.
	if got, client, api := l[LabelKubeVirtClient], goModVersion(t, "kubevirt.io/client-go"), goModVersion(t, "kubevirt.io/api"); got != client && got != "kubevirt.io/api "+api {
		t.Errorf("%s: %s = %q, go.mod pins kubevirt.io/client-go %s, kubevirt.io/api %s", r.Name, LabelKubeVirtClient, got, client, api)
	}
	if got, want := l[LabelKubernetes], "client-go "+goModVersion(t, "k8s.io/client-go"); !strings.HasSuffix(got, want) {
		t.Errorf("%s: %s = %q, want it to end with %q", r.Name, LabelKubernetes, got, want)
	}
	if !strings.HasPrefix(l[LabelGo], "go1.") {
		t.Errorf("%s: %s = %q", r.Name, LabelGo, l[LabelGo])
	}
	var vts []string
	for _, kb := range release.KubeVirtBundles() {
		if !slices.Contains(vts, kb.VirtTemplate.String()) {
			vts = append(vts, kb.VirtTemplate.String())
		}
	}
	for _, v := range vts {
		if !slices.Contains(strings.Split(l[LabelVirtTemplate], ","), v) {
			t.Errorf("%s: %s = %q lacks %s", r.Name, LabelVirtTemplate, l[LabelVirtTemplate], v)
		}
	}
	// The tarball names the image by its reference, for docker/podman load and kind load.
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(r.Path) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{r.Ref}) {
		t.Errorf("%s: tarball manifest %+v, want one image tagged %s", r.Name, m, r.Ref)
	}
	return cf
}

// The suite image: one layer, the runner as entrypoint, non-root, labelled, every binary
// present, static and answering.
func TestSuiteImage(t *testing.T) {
	r, img := image(t, Suite)
	t.Logf("%s", r)
	if r.Ref != "localhost/vmt-conformance:"+DefaultTag || r.Path != filepath.Join(repoRoot, "_output", "images", "vmt-conformance.tar") {
		t.Errorf("suite image %s at %s", r.Ref, r.Path)
	}
	cf := labelsAndConfig(t, img, r)
	if !slices.Equal(cf.Config.Entrypoint, []string{"/usr/local/bin/vmt-e2e"}) {
		t.Errorf("entrypoint %q", cf.Config.Entrypoint)
	}
	for _, want := range []string{"PATH=/usr/local/bin", "HOME=/tmp", "GINKGO=/usr/local/bin/ginkgo", "VMT_SUITE_BINARY=/usr/local/bin/tests.test", "PROVIDER=existing", "VMT_ARTIFACTS=/tmp/artifacts"} {
		if !slices.Contains(cf.Config.Env, want) {
			t.Errorf("env %q lacks %s", cf.Config.Env, want)
		}
	}
	l := cf.Config.Labels
	if got, want := l[LabelKubeVirtClient], goModVersion(t, "kubevirt.io/client-go"); got != want {
		t.Errorf("%s = %q, go.mod pins %s", LabelKubeVirtClient, got, want)
	}
	if got, want := l[LabelGinkgo], goModVersion(t, "github.com/onsi/ginkgo/v2"); got != want {
		t.Errorf("%s = %q, go.mod pins %s", LabelGinkgo, got, want)
	}
	if !regexp.MustCompile(`^v1\.\d+\.\d+ \(kubectl\), client-go v0\.\d+\.\d+$`).MatchString(l[LabelKubernetes]) {
		t.Errorf("%s = %q", LabelKubernetes, l[LabelKubernetes])
	}

	root := t.TempDir()
	files := extract(t, img, root)
	if tmp, ok := files["/tmp"]; !ok || tmp.hdr.Mode&0o7777 != 0o1777 {
		t.Errorf("/tmp missing or not 1777: %+v", tmp.hdr)
	}
	if p, ok := files["/etc/passwd"]; !ok {
		t.Error("/etc/passwd missing")
	} else if raw, _ := os.ReadFile(p.path); !strings.Contains(string(raw), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd does not name the non-root user:\n%s", raw)
	}
	for p, e := range files {
		if e.hdr.Uid != 0 || e.hdr.Gid != 0 || !e.hdr.ModTime.Equal(cf.Created.Time) {
			t.Errorf("%s: owner %d:%d, mtime %s; want 0:0 and the image's creation time %s", p, e.hdr.Uid, e.hdr.Gid, e.hdr.ModTime, cf.Created.Time)
		}
	}
	var inBin []string
	for p := range files {
		if path.Dir(p) == BinDir {
			inBin = append(inBin, path.Base(p))
		}
	}
	slices.Sort(inBin)
	if !slices.Equal(inBin, SuiteBinaries) {
		t.Errorf("%s holds %q, want %q (virtctl is not in the image)", BinDir, inBin, SuiteBinaries)
	}
	answers := map[string]struct {
		args []string
		want string
	}{
		"vmt-e2e":     {[]string{"--help"}, `(?s)Usage of vmt-e2e:.*-lane.*-suite-binary`},
		"vmt-report":  {[]string{"--help"}, `(?s)Usage of vmt-report:.*-artifacts`},
		"ginkgo":      {[]string{"version"}, `Ginkgo Version ` + regexp.QuoteMeta(strings.TrimPrefix(goModVersion(t, "github.com/onsi/ginkgo/v2"), "v"))},
		"tests.test":  {[]string{"--help"}, `(?s)-ginkgo\.label-filter.*-vmt\.provider`},
		"vmt-virtctl": {[]string{"template", "--help"}, `(?s)process.*create`},
		"kubectl":     {[]string{"version", "--client"}, `Client Version: v1\.\d+\.\d+`},
	}
	for _, b := range SuiteBinaries {
		e, ok := files[BinDir+"/"+b]
		if !ok {
			continue
		}
		if e.hdr.Mode&0o777 != 0o755 {
			t.Errorf("%s: mode %o", b, e.hdr.Mode)
		}
		static(t, b, e.path)
		a := answers[b]
		runs(t, e.path, filepath.Join(root, "tmp"), regexp.MustCompile(a.want), a.args...)
	}
}

// The reference components' images: /manager and /apiserver, where the Deployments of
// reference/config run them, under the references those Deployments name.
func TestReferenceImages(t *testing.T) {
	objs, err := refconfig.Objects(refconfig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	deployments := map[string]string{Controller: refconfig.ControllerDeployment, APIServer: refconfig.APIServerDeployment}
	defaults := map[string]string{Controller: refconfig.DefaultControllerImage, APIServer: refconfig.DefaultAPIServerImage}
	for _, n := range []string{Controller, APIServer} {
		t.Run(n, func(t *testing.T) {
			r, img := image(t, n)
			t.Logf("%s", r)
			if r.Ref != defaults[n] {
				t.Errorf("%s is tagged %s, reference/config deploys %s", n, r.Ref, defaults[n])
			}
			cf := labelsAndConfig(t, img, r)
			entry := ComponentEntrypoints[n]
			if !slices.Equal(cf.Config.Entrypoint, []string{entry}) {
				t.Errorf("entrypoint %q, want [%s]", cf.Config.Entrypoint, entry)
			}
			var command []string
			for _, u := range objs {
				if u.GetKind() == "Deployment" && u.GetName() == deployments[n] {
					containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
					if len(containers) == 1 {
						command, _, _ = unstructured.NestedStringSlice(containers[0].(map[string]any), "command")
					}
				}
			}
			if !slices.Equal(command, []string{entry}) {
				t.Errorf("Deployment %s runs %q, the image has %s", deployments[n], command, entry)
			}
			root := t.TempDir()
			files := extract(t, img, root)
			e, ok := files[entry]
			if !ok {
				t.Fatalf("%s missing from the image", entry)
			}
			static(t, entry, e.path)
			runs(t, e.path, filepath.Join(root, "tmp"), regexp.MustCompile(`(?s)Usage of .*-emulate-release`), "--help")
		})
	}
}

// Two writes of one Spec are the same bytes (fixed mtimes, owners and order).
func TestWriteIsReproducible(t *testing.T) {
	r, _ := image(t, Controller)
	dir := t.TempDir()
	s := Spec{
		Name: "repro", Ref: "localhost/repro:test", Files: []File{{Src: r.Path, Path: "/data/some.tar", Mode: 0o644}},
		Entrypoint: []string{"/data/some.tar"}, User: NonRoot, Labels: map[string]string{"a": "b"},
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	a, err := Write(s, filepath.Join(dir, "a.tar"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Write(s, filepath.Join(dir, "b.tar"))
	if err != nil {
		t.Fatal(err)
	}
	ra, _ := os.ReadFile(a.Path)
	rb, _ := os.ReadFile(b.Path)
	if a.Digest != b.Digest || !bytes.Equal(ra, rb) {
		t.Errorf("two writes differ: %s vs %s", a.Digest, b.Digest)
	}
	again, err := Write(s, a.Path)
	if err != nil || !again.Reused || again.Digest != a.Digest {
		t.Errorf("rewriting unchanged inputs: reused=%t digest %s (%v), want the tarball reused", again.Reused, again.Digest, err)
	}
	s.Labels["a"] = "c"
	changed, err := Write(s, a.Path)
	if err != nil || changed.Reused || changed.Digest == a.Digest {
		t.Errorf("a changed label: reused=%t digest %s (%v), want a new image", changed.Reused, changed.Digest, err)
	}
}
