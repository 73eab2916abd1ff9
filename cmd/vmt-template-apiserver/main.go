// Command vmt-template-apiserver is the reference aggregated API server of
// subresources.template.kubevirt.io (the /process and /create subresources of
// VirtualMachineTemplates), wire-compatible with upstream's virt-template-apiserver.
//
// In a cluster it runs as its service account and takes upstream's flags
// (--secure-port=9443 --tls-cert-file --tls-private-key-file, delegated authentication and
// authorization flags). Outside one, --kubeconfig names its identity.
//
// VMT_REFERENCE_FAULTS (package reference/faults) injects deliberate bugs for the suite's
// self-tests; an unknown fault name makes the server refuse to start (exit 2).
//
// --emulate-release=<version> (ours) picks the virt-template release to play (default
// v0.2.2; package reference/emulation); the first line on stderr names it. A bad flag is one
// line on stderr and exit 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/vmt-conformance/vmt-conformance/reference/apiserver"
	"github.com/vmt-conformance/vmt-conformance/reference/emulation"
	"github.com/vmt-conformance/vmt-conformance/reference/faults"
)

func main() {
	injected, err := faults.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmt-template-apiserver:", err)
		os.Exit(2)
	}
	opts := apiserver.NewOptions()
	opts.FaultIgnoreParameterDefaults = injected.Has(faults.IgnoreParameterDefaults)
	opts.FaultCreateWithoutPermission = injected.Has(faults.CreateWithoutPermission)
	opts.FaultNeverAnswer = injected.Has(faults.NeverAnswer)
	opts.FaultCreateDropsMetadata = injected.Has(faults.CreateDropsMetadata)
	opts.FaultV1alpha1DropsMessage = injected.Has(faults.V1alpha1DropsMessage)
	fs := pflag.NewFlagSet("vmt-template-apiserver", pflag.ContinueOnError)
	opts.AddFlags(fs)
	klogFlags := flag.NewFlagSet("klog", flag.ExitOnError)
	klog.InitFlags(klogFlags)
	fs.AddGoFlagSet(klogFlags)
	fs.SetOutput(io.Discard) // errors are reported in one line below
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintln(os.Stdout, "Usage of vmt-template-apiserver:")
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "vmt-template-apiserver:", err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, emulation.Banner("vmt-template-apiserver", opts.Release))

	if banner := injected.Banner("vmt-template-apiserver"); banner != "" {
		fmt.Fprintln(os.Stderr, banner)
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()

	server, err := apiserver.New(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmt-template-apiserver:", err)
		os.Exit(1)
	}
	if err := server.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "vmt-template-apiserver:", err)
		os.Exit(1)
	}
}
