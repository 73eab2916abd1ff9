// Package image writes container images without a container runtime: one layer of static
// binaries on an empty base (no base image is pulled), with the config and labels set here,
// as a docker/OCI image tarball (the `docker save` layout go-containerregistry's tarball.Write
// produces), which `docker load`, `podman load` and `kind load image-archive` read.
//
// Spec is one image as data; Write turns it into a tarball, the same bytes for the same
// inputs: every tar entry has uid/gid 0 and the Spec's Created time, entries are sorted, and
// the config carries no host-specific field. build.go compiles the binaries of the three
// images this repository ships (the conformance suite and the two reference components).
package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// NonRoot is the user every image runs as (distroless's "nonroot").
const (
	NonRootUID = 65532
	NonRoot    = "65532:65532"
)

// File is one regular file of the layer: Src on this machine, Path in the image (absolute).
type File struct {
	Src  string
	Path string
	Mode int64
}

// Spec is one image.
type Spec struct {
	// Name is the short name ("vmt-conformance"), also the tarball's base name.
	Name string
	// Ref is the repository:tag the tarball carries ("localhost/vmt-conformance:devel").
	Ref        string
	Files      []File
	Entrypoint []string
	Env        []string
	WorkingDir string
	User       string
	Labels     map[string]string
	// Created is the config's creation time and every tar entry's mtime.
	Created time.Time
}

// Result is a written tarball.
type Result struct {
	Name, Ref, Path string
	// Digest is the image (manifest) digest, ImageID the config digest ("docker images" ID).
	Digest, ImageID string
	Size            int64
	// Reused is true when the tarball on disk was already written from the same inputs.
	Reused bool
}

// passwd and group name the non-root user for programs that look it up.
var (
	passwd = fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/tmp:/sbin/nologin\n", NonRootUID, NonRootUID)
	group  = fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", NonRootUID)
)

// Write writes s as a tarball at path. When path exists and was written from the same
// inputs (a key over every file's content and the config, kept beside it), nothing is
// rewritten and Result.Reused is true.
func Write(s Spec, path string) (Result, error) {
	res := Result{Name: s.Name, Ref: s.Ref, Path: path}
	tag, err := name.NewTag(s.Ref, name.StrictValidation)
	if err != nil {
		return res, fmt.Errorf("image %s: reference %q: %w", s.Name, s.Ref, err)
	}
	cfg := s.config()
	key, err := s.key(cfg)
	if err != nil {
		return res, err
	}
	keyFile := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".key")
	if old, err := os.ReadFile(keyFile); err == nil && strings.TrimSpace(string(old)) == key {
		if img, err := tarball.ImageFromPath(path, nil); err == nil {
			if err := res.describe(img, path); err == nil {
				res.Reused = true
				return res, nil
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return res, err
	}
	layerFile, err := os.CreateTemp(filepath.Dir(path), ".layer-*.tar.gz")
	if err != nil {
		return res, err
	}
	defer os.Remove(layerFile.Name())
	if err := s.writeLayer(layerFile); err != nil {
		layerFile.Close()
		return res, fmt.Errorf("image %s: layer: %w", s.Name, err)
	}
	if err := layerFile.Close(); err != nil {
		return res, err
	}
	layer, err := tarball.LayerFromFile(layerFile.Name())
	if err != nil {
		return res, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: s.Created}, CreatedBy: "vmt-image (internal/image): static binaries on an empty base", Comment: s.Name},
	})
	if err != nil {
		return res, err
	}
	base, err := img.ConfigFile()
	if err != nil {
		return res, err
	}
	cf := base.DeepCopy()
	cf.Architecture, cf.OS = runtime.GOARCH, "linux"
	cf.Created = v1.Time{Time: s.Created}
	cf.Config = cfg
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return res, err
	}
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		os.Remove(tmp)
		return res, fmt.Errorf("image %s: writing %s: %w", s.Name, path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return res, err
	}
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o644); err != nil {
		return res, err
	}
	return res, res.describe(img, path)
}

func (r *Result) describe(img v1.Image, path string) error {
	d, err := img.Digest()
	if err != nil {
		return err
	}
	id, err := img.ConfigName()
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	r.Digest, r.ImageID, r.Size = d.String(), id.String(), info.Size()
	return nil
}

func (s Spec) config() v1.Config {
	labels := map[string]string{}
	for k, v := range s.Labels {
		labels[k] = v
	}
	return v1.Config{
		Entrypoint: s.Entrypoint, Env: s.Env, WorkingDir: s.WorkingDir, User: s.User, Labels: labels,
	}
}

// key identifies the inputs: every file's path, mode and content, the config, the time.
func (s Spec) key(cfg v1.Config) (string, error) {
	h := sha256.New()
	raw, err := json.Marshal(struct {
		Ref     string
		Config  v1.Config
		Created time.Time
		Format  int
	}{s.Ref, cfg, s.Created.UTC(), layerFormat})
	if err != nil {
		return "", err
	}
	h.Write(raw)
	for _, f := range s.sortedFiles() {
		fmt.Fprintf(h, "\n%s %o ", f.Path, f.Mode)
		in, err := os.Open(f.Src)
		if err != nil {
			return "", fmt.Errorf("image %s: %w", s.Name, err)
		}
		_, err = io.Copy(h, in)
		in.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// layerFormat changes when writeLayer writes something else for the same Spec.
const layerFormat = 1

func (s Spec) sortedFiles() []File {
	files := append([]File(nil), s.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files
}

// writeLayer writes the gzip'd layer: /etc/passwd and /etc/group naming the non-root user,
// /tmp (1777), the files and their directories.
func (s Spec) writeLayer(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	mtime := s.Created.UTC()
	dirs := map[string]bool{}
	dir := func(p string, mode int64) error {
		if dirs[p] {
			return nil
		}
		dirs[p] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: mode, ModTime: mtime, Format: tar.FormatPAX})
	}
	parents := func(p string) error {
		var chain []string
		for d := path.Dir(p); d != "." && d != "/" && d != ""; d = path.Dir(d) {
			chain = append([]string{strings.TrimPrefix(d, "/")}, chain...)
		}
		for _, d := range chain {
			if err := dir(d, 0o755); err != nil {
				return err
			}
		}
		return nil
	}
	regular := func(p string, mode int64, size int64, body io.Reader) error {
		if err := parents(p); err != nil {
			return err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(p, "/"), Mode: mode, Size: size, ModTime: mtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := io.Copy(tw, body)
		return err
	}
	if err := regular("/etc/group", 0o644, int64(len(group)), strings.NewReader(group)); err != nil {
		return err
	}
	if err := regular("/etc/passwd", 0o644, int64(len(passwd)), strings.NewReader(passwd)); err != nil {
		return err
	}
	if err := dir("tmp", 0o1777); err != nil {
		return err
	}
	for _, f := range s.sortedFiles() {
		if !path.IsAbs(f.Path) {
			return fmt.Errorf("%s: the path in the image must be absolute", f.Path)
		}
		in, err := os.Open(f.Src)
		if err != nil {
			return err
		}
		info, err := in.Stat()
		if err == nil {
			err = regular(f.Path, f.Mode, info.Size(), in)
		}
		in.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Src, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// Load reads a tarball Write wrote (its only image).
func Load(path string) (v1.Image, error) {
	return tarball.ImageFromPath(path, nil)
}

// String renders a Result in one line for progress output.
func (r Result) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s  %s  %.1f MiB  %s", r.Path, r.Ref, float64(r.Size)/(1<<20), r.Digest)
	if r.Reused {
		b.WriteString("  (up to date)")
	}
	return b.String()
}
