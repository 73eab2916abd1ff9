// Command vmt-image builds the repository's container images without a container runtime
// (internal/image): static binaries in one layer on an empty base, written as docker/OCI
// tarballs that `docker load`, `podman load` and `kind load image-archive` read.
//
//	vmt-image                                     every image into _output/images, tag devel
//	vmt-image --images vmt-conformance --tag v1.2.3 --out /tmp/images
//
// Images: vmt-conformance (the suite: entrypoint /usr/local/bin/vmt-e2e), and the reference
// components vmt-template-apiserver and vmt-template-controller (the kind lane's).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/internal/image"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "vmt-image:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("vmt-image", flag.ContinueOnError)
	images := fs.String("images", strings.Join(image.Names(), ","), "comma-separated images to build: "+strings.Join(image.Names(), ", "))
	out := fs.String("out", "_output/images", "directory receiving <image>.tar")
	tag := fs.String("tag", envOr("TAG", image.DefaultTag), "tag of every image (env TAG): localhost/vmt-conformance:<tag>, ghcr.io/vmt-conformance/<component>:<tag>")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/vmt-conformance/vmt-conformance").Output()
	if err != nil {
		return fmt.Errorf("finding the vmt-conformance checkout (run from inside it): %w", err)
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	start := time.Now()
	_, err = image.Build(ctx, image.Options{
		Root: strings.TrimSpace(string(root)), Out: dir, Tag: *tag,
		Cache: filepath.Join(local.DefaultCacheDir(), "image"), Progress: os.Stdout,
	}, strings.Split(*images, ",")...)
	if err != nil {
		return err
	}
	fmt.Printf("images written in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
