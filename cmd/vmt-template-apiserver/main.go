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
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/vmt-conformance/vmt-conformance/reference/apiserver"
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
	fs := pflag.NewFlagSet("vmt-template-apiserver", pflag.ExitOnError)
	opts.AddFlags(fs)
	klogFlags := flag.NewFlagSet("klog", flag.ExitOnError)
	klog.InitFlags(klogFlags)
	fs.AddGoFlagSet(klogFlags)
	_ = fs.Parse(os.Args[1:])

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
