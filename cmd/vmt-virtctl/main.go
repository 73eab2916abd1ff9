// Command vmt-virtctl is the reference `virtctl template`: process, convert and create
// behave like KubeVirt v1.9's virtctl, so the conformance specs can run against either.
// VMT_VIRTCTL_KUBEVIRT_VERSION=v1.8.4 (or the hidden --kubevirt-version) makes it KubeVirt
// v1.8's, which speaks template.kubevirt.io/v1alpha1 and subresources v1alpha1.
//
//	vmt-virtctl template process fedora -n tpl -p NAME=vm-a | kubectl create -f -
//	vmt-virtctl template process -f fedora.yaml --params-file params.yaml -o json
//	vmt-virtctl template convert -f openshift-template.yaml
//	vmt-virtctl template create --vm-name golden --name fedora
//
// VMT_REFERENCE_FAULTS is read once at start, as by the other reference binaries: an unknown
// fault name exits 2 with one line; a fault of this CLI (local-accepts-undeclared-parameters)
// is announced on stderr with every run.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmt-conformance/vmt-conformance/reference/faults"
	"github.com/vmt-conformance/vmt-conformance/reference/virtctl"
)

func main() {
	injected, err := faults.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmt-virtctl: %v\n", err)
		os.Exit(2)
	}
	cfg := virtctl.Config{
		KubeVirtVersion:                       os.Getenv(virtctl.KubeVirtVersionEnv),
		FaultLocalAcceptsUndeclaredParameters: injected.Has(faults.LocalAcceptsUndeclaredParameters),
	}
	if cfg.FaultLocalAcceptsUndeclaredParameters {
		fmt.Fprintln(os.Stderr, injected.Banner("vmt-virtctl"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := virtctl.Execute(ctx, cfg, os.Args[1:])
	stop()
	os.Exit(code)
}
