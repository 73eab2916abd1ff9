// Command vmt-cluster runs the hermetic local cluster on its own, for developers and for
// pointing kubectl or a real virtctl at it:
//
//	vmt-cluster up   [--name NAME] [--kubeconfig FILE]   start in the background, print the kubeconfig
//	vmt-cluster env  [--name NAME]                       print `export KUBECONFIG=...`
//	vmt-cluster status                                   list running local clusters
//	vmt-cluster down [--name NAME | --all]               stop and remove everything
//
// Several clusters run side by side under different names (each takes free ports).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
)

const usage = `usage: vmt-cluster up|down|env|status [flags]
  up      start a local cluster in the background and print its kubeconfig
  down    stop a local cluster (--all: every one)
  env     print the shell line that points KUBECONFIG at a running cluster
  status  list running local clusters
flags:
  --name NAME        cluster name (default "default")
  --kubeconfig FILE  (up) also copy the kubeconfig to FILE
  --assets DIR       (up) control-plane binaries (default: ci/kube/build.sh's cache, or VMT_LOCAL_ASSETS)
  --profile NAME     (up) KubeVirt generation to play: kubevirt-1.9 (default) or kubevirt-1.8 (or VMT_PROFILE)
  --all              (down) stop every local cluster
`

// readyFile is written into the run directory once the cluster serves.
const readyFile = "ready"

// Bounds of the launcher's own waits (the cluster itself starts in a few seconds warm).
const (
	upTimeout   = 3 * time.Minute
	downTimeout = time.Minute
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "vmt-cluster:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("missing command")
	}
	cmd := args[0]
	fs := flag.NewFlagSet("vmt-cluster "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "default", "")
	kubeconfig := fs.String("kubeconfig", "", "")
	assets := fs.String("assets", os.Getenv("VMT_LOCAL_ASSETS"), "")
	all := fs.Bool("all", false, "")
	profileName := fs.String("profile", os.Getenv("VMT_PROFILE"), "")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%v\n%s", err, usage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), usage)
	}
	if *assets == "" {
		*assets = local.DefaultAssetsDir()
	}
	root := local.DefaultStateRoot()
	dir := filepath.Join(root, *name)
	profile, err := local.LookupProfile(*profileName)
	if err != nil {
		return err
	}
	switch cmd {
	case "up":
		return up(*name, dir, *assets, *kubeconfig, profile)
	case "serve":
		return serve(*name, *assets, profile)
	case "down":
		if *all {
			return downAll(root)
		}
		return down(*name, dir)
	case "env":
		if !local.Alive(dir) {
			return fmt.Errorf("no local cluster named %q is running; start one with `vmt-cluster up --name %s`", *name, *name)
		}
		fmt.Printf("export KUBECONFIG=%s\n", filepath.Join(dir, "kubeconfig"))
		return nil
	case "status":
		return status(root)
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

// up starts `vmt-cluster serve` detached from this terminal and waits until it serves.
func up(name, dir, assets, kubeconfig string, profile local.Profile) error {
	if err := local.CheckAssets(assets); err != nil {
		return err
	}
	local.ReapStale(local.DefaultStateRoot())
	if local.Alive(dir) {
		return fmt.Errorf("a local cluster named %q is already running; `vmt-cluster down --name %s` first, or pick another --name", name, name)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(local.DefaultStateRoot(), 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(local.DefaultStateRoot(), name+".serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	child := exec.Command(self, "serve", "--name", name, "--assets", assets, "--profile", profile.Name)
	child.Stdout, child.Stderr = logFile, logFile
	child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	start := time.Now()
	if err := child.Start(); err != nil {
		return fmt.Errorf("starting the cluster supervisor: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	deadline := time.After(upTimeout)
	for {
		if _, err := os.Stat(filepath.Join(dir, readyFile)); err == nil {
			break
		}
		select {
		case err := <-exited:
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("cluster supervisor exited (%v):\n%s", err, out)
		case <-deadline:
			_ = child.Process.Signal(syscall.SIGTERM)
			return fmt.Errorf("cluster %q not ready after %v; log: %s", name, upTimeout, logPath)
		case <-time.After(50 * time.Millisecond):
		}
	}
	path := filepath.Join(dir, "kubeconfig")
	if kubeconfig != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(kubeconfig, raw, 0o600); err != nil {
			return err
		}
		path = kubeconfig
	}
	fmt.Fprintf(os.Stderr, "local cluster %q up in %.1fs (log %s)\n", name, time.Since(start).Seconds(), logPath)
	fmt.Printf("export KUBECONFIG=%s\n", path)
	return nil
}

// serve runs the cluster in the foreground until SIGINT or SIGTERM.
func serve(name, assets string, profile local.Profile) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := local.NewProviderWithOptions(local.Options{Name: name, AssetsDir: assets, Progress: os.Stdout}).WithProfile(profile)
	if err := p.Up(ctx); err != nil {
		return err
	}
	cp := p.ControlPlane()
	for _, t := range cp.Timings {
		fmt.Printf("  %-35s %v\n", t.Phase, t.Duration.Round(time.Millisecond))
	}
	if err := os.WriteFile(filepath.Join(cp.Dir(), readyFile), nil, 0o600); err != nil {
		_ = p.Down(context.WithoutCancel(ctx))
		return err
	}
	fmt.Println("serving; kubeconfig", cp.KubeconfigPath())
	<-ctx.Done()
	fmt.Println("stopping")
	return p.Down(context.WithoutCancel(ctx))
}

func down(name, dir string) error {
	pid := local.Owner(dir)
	if pid == 0 {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			return fmt.Errorf("no local cluster named %q", name)
		}
		return local.Kill(dir)
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(downTimeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(dir); os.IsNotExist(err) && syscall.Kill(pid, 0) != nil {
			_ = os.Remove(filepath.Join(filepath.Dir(dir), name+".serve.log"))
			fmt.Fprintf(os.Stderr, "local cluster %q stopped\n", name)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if err := local.Kill(dir); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "local cluster %q killed after %v\n", name, downTimeout)
	return nil
}

func downAll(root string) error {
	entries, _ := os.ReadDir(root)
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			errs = append(errs, down(e.Name(), filepath.Join(root, e.Name())))
		}
	}
	return errors.Join(errs...)
}

func status(root string) error {
	entries, _ := os.ReadDir(root)
	n := 0
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if !e.IsDir() {
			continue
		}
		state := "stale (owner gone; the next `up` reaps it)"
		if local.Alive(dir) {
			state = fmt.Sprintf("running, pid %d, KUBECONFIG=%s", local.Owner(dir), filepath.Join(dir, "kubeconfig"))
		}
		fmt.Printf("%-30s %s\n", e.Name(), state)
		n++
	}
	if n == 0 {
		fmt.Println("no local clusters")
	}
	return nil
}
