// Command vmt-template-controller is the reference controller manager of
// VirtualMachineTemplates (package reference/controller), wire-compatible with upstream
// kubevirt/virt-template's virt-template-controller: the template and template-request
// controllers and the validating webhooks, with upstream's flags.
//
// Additions for running outside a cluster: --kubeconfig (default: in-cluster or $KUBECONFIG),
// --webhook-host and --webhook-port (upstream always listens on :9443). As upstream, the
// environment variable ENABLE_WEBHOOKS=false turns the webhook server off.
//
// --emulate-release=<version> (ours) picks the virt-template release to play (default
// v0.2.2; package reference/emulation); the first line on stderr names it.
//
// VMT_REFERENCE_FAULTS (package reference/faults) injects deliberate bugs for the suite's
// self-tests; an unknown fault name is refused like an invalid flag.
//
// Exit codes: 0 after a clean shutdown (SIGTERM or SIGINT), 1 when the manager fails, 2 on
// invalid flags or faults.
package main

import (
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, ctrl.SetupSignalHandler))
}
