// Package faults names the bugs the reference implementation can be started with on purpose,
// so that the suite's self-tests (tests/selftest) can prove that the conformance specs catch
// them. Nothing is ever injected by default: the only way in is the environment variable
// VMT_REFERENCE_FAULTS, a comma-separated list of fault names, which the binaries
// (cmd/vmt-template-apiserver, cmd/vmt-template-controller, cmd/vmt-sim, cmd/vmt-virtctl) read once at start
// with FromEnv and refuse when it names an unknown fault. The packages below them never read
// the environment: each fault reaches them as an explicit option
// (engine.Processor.FaultIgnoreParameterDefaults, apiserver.Options.Fault*,
// controller.Options.FaultKeepSourceMAC, controller.Options.FaultNeverReconcileTemplates,
// controller.Options.FaultKeepSnapshotOnDelete, controller.Options.FaultAdoptForeignTemplate,
// config.Options.FaultCaptureSkipsSourceCheck,
// virtcontroller.Options.FaultSkipCloneAuthorization, cdi.Options.FaultSkipCloneAuthorization,
// cdi.Options.FaultFailVMDataVolumes, config.Options.FaultViewMayUseTemplates,
// virtctl.Config.FaultLocalAcceptsUndeclaredParameters).
package faults

import (
	"fmt"
	"slices"
	"strings"
)

// EnvVar is the environment variable that lists the faults to inject.
const EnvVar = "VMT_REFERENCE_FAULTS"

// Fault is one deliberate bug.
type Fault string

// The faults. Each comment says what breaks and which binary does it.
const (
	// IgnoreParameterDefaults: the template API server's /process and /create treat every
	// declared parameter value as unset (caller values and generators still apply).
	IgnoreParameterDefaults Fault = "ignore-parameter-defaults"
	// CreateWithoutPermission: the template API server creates the VM on /process too, with
	// its own identity, so a caller who may only process a template (and whom kube-apiserver
	// refuses /create) still gets a VM.
	CreateWithoutPermission Fault = "create-without-permission"
	// KeepSourceMAC: the template controller keeps the interface MAC addresses of the source
	// VM when it captures a template (serial and UUID are still stripped).
	KeepSourceMAC Fault = "keep-source-mac"
	// CaptureSkipsSourceCheck: the capture ValidatingAdmissionPolicy the simulator's
	// virt-operator installs lets every request past its source check, so a user who may
	// not use a VM of another namespace as a source still captures it (the DataVolume and
	// template checks still apply).
	CaptureSkipsSourceCheck Fault = "capture-skips-source-check"
	// KeepSnapshotOnDelete: the template controller lets a deleted request go without
	// deleting its VirtualMachineSnapshot (nor, through it, the snapshot's content and
	// VolumeSnapshots).
	KeepSnapshotOnDelete Fault = "keep-snapshot-on-delete"
	// AdoptForeignTemplate: the template controller takes an existing template of the
	// requested name for the request's own even without the request's UID label, so the
	// request reports Ready=True instead of failing for good (the template is not changed).
	AdoptForeignTemplate Fault = "adopt-foreign-template"
	// LocalAcceptsUndeclaredParameters: the reference CLI (cmd/vmt-virtctl) processing
	// locally (--local, --file) drops -p/--params-file keys the template does not declare
	// instead of refusing them as the server (409) and upstream virtctl do.
	LocalAcceptsUndeclaredParameters Fault = "local-accepts-undeclared-parameters"
	// NeverAnswer: the template API server's /process and /create of a template that
	// exists accept the request and never answer; each holds until the caller goes away (its
	// request context ends). Errors found before (a bad body, a missing template) are still
	// answered, so the server passes readiness probes.
	NeverAnswer Fault = "never-answer"
	// CreateDropsMetadata: the template API server's /create removes the labels and
	// annotations /process renders from the VM before it creates it (the answer and the VM
	// read back lack them; /process is unchanged).
	CreateDropsMetadata Fault = "create-drops-metadata"
	// V1alpha1DropsMessage: the template API server's v1alpha1 /process and /create answer
	// without the rendered message, as a lossy conversion of the v1beta1 answer would (the
	// VM is unchanged; v1beta1 answers are unchanged).
	V1alpha1DropsMessage Fault = "v1alpha1-drops-message"
	// ViewMayUseTemplates: the template viewer ClusterRole the simulator's virt-operator
	// installs (aggregated into view) also grants create on virtualmachinetemplates/process
	// and /create, so a namespace viewer renders templates and makes VMs from them.
	ViewMayUseTemplates Fault = "view-may-use-templates"
	// NeverReconcileTemplates: the template controller never reconciles
	// VirtualMachineTemplates, so no template ever gets its Ready condition (requests are
	// still reconciled; the webhooks still answer).
	NeverReconcileTemplates Fault = "never-reconcile-templates"
	// SkipCloneAuthorization: the simulator's virt-controller and CDI webhook skip the clone
	// permission check (CDI's AuthorizeSA/AuthorizeUser), so a VM gets DataVolumes cloned from
	// a namespace its service account may not clone from.
	SkipCloneAuthorization Fault = "skip-clone-authorization"
	// CopySourceSecrets: the template controller copies the Secrets and ConfigMaps a captured
	// VM refers to (Secret and ConfigMap volumes, cloud-init user and network data secret
	// references) from the source namespace into the template's namespace, "so VMs made from
	// the template find them"; the simulator's virt-operator grants its role the access this
	// needs. Upstream keeps such volumes as references and copies nothing (VMT-029).
	CopySourceSecrets Fault = "copy-source-secrets"
	// FailVMDataVolumes: the simulator's CDI puts every DataVolume a VM's
	// dataVolumeTemplates created (controlled by a VirtualMachine) in phase Failed instead of
	// populating it, so those VMs never start and report printableStatus DataVolumeError
	// (other DataVolumes, the golden image's and a capture's, are unchanged).
	FailVMDataVolumes Fault = "fail-vm-data-volumes"
)

// Known lists every fault, sorted.
var Known = []Fault{AdoptForeignTemplate, CaptureSkipsSourceCheck, CopySourceSecrets, CreateDropsMetadata, CreateWithoutPermission, FailVMDataVolumes, IgnoreParameterDefaults, KeepSnapshotOnDelete, KeepSourceMAC, LocalAcceptsUndeclaredParameters, NeverAnswer, NeverReconcileTemplates, SkipCloneAuthorization, V1alpha1DropsMessage, ViewMayUseTemplates}

// KnownList is Known for messages: "a, b, c".
func KnownList() string { return strings.ReplaceAll(joined(Known), ",", ", ") }

// Set is a parsed list of faults; the zero value injects nothing.
type Set struct {
	faults []Fault // sorted, no duplicates
}

// Parse reads a comma-separated list of fault names. Blanks around names and empty items are
// ignored, so "" and " , " are the empty set; an unknown name is an error that lists the
// known ones.
func Parse(list string) (Set, error) {
	var s Set
	for _, item := range strings.Split(list, ",") {
		name := Fault(strings.TrimSpace(item))
		if name == "" {
			continue
		}
		if !slices.Contains(Known, name) {
			return Set{}, fmt.Errorf("%s: unknown fault %q (known: %s)", EnvVar, name, KnownList())
		}
		if !slices.Contains(s.faults, name) {
			s.faults = append(s.faults, name)
		}
	}
	slices.Sort(s.faults)
	return s, nil
}

// FromEnv parses the value of EnvVar as getenv (os.Getenv in the binaries) reports it.
func FromEnv(getenv func(string) string) (Set, error) {
	return Parse(getenv(EnvVar))
}

// Has reports whether f is injected.
func (s Set) Has(f Fault) bool { return slices.Contains(s.faults, f) }

// Empty reports whether nothing is injected.
func (s Set) Empty() bool { return len(s.faults) == 0 }

// String is the set in EnvVar's syntax, sorted: what a child process must be given to
// inject the same faults.
func (s Set) String() string { return joined(s.faults) }

// Banner is the line a binary logs at start when faults are injected; "" when none are.
func (s Set) Banner(component string) string {
	if s.Empty() {
		return ""
	}
	return fmt.Sprintf("%s: FAULTS INJECTED ON PURPOSE (%s=%s): this reference implementation is broken and must fail conformance",
		component, EnvVar, s)
}

func joined(fs []Fault) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return strings.Join(names, ",")
}
