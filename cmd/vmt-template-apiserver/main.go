// Command vmt-template-apiserver is the reference aggregated API server of
// subresources.template.kubevirt.io (the /process and /create subresources of
// VirtualMachineTemplates), wire-compatible with upstream's virt-template-apiserver.
//
// In a cluster it runs as its service account and takes upstream's flags
// (--secure-port=9443 --tls-cert-file --tls-private-key-file, delegated authentication and
// authorization flags). Outside one, --kubeconfig names its identity.
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
)

func main() {
	opts := apiserver.NewOptions()
	fs := pflag.NewFlagSet("vmt-template-apiserver", pflag.ExitOnError)
	opts.AddFlags(fs)
	klogFlags := flag.NewFlagSet("klog", flag.ExitOnError)
	klog.InitFlags(klogFlags)
	fs.AddGoFlagSet(klogFlags)
	_ = fs.Parse(os.Args[1:])

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
