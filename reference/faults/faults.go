// Package faults names the bugs the reference implementation can be started with on purpose,
// so that the suite's self-tests (tests/selftest) can prove that the conformance specs catch
// them. Nothing is ever injected by default: the only way in is the environment variable
// VMT_REFERENCE_FAULTS, a comma-separated list of fault names, which the binaries
// (cmd/vmt-template-apiserver, cmd/vmt-template-controller, cmd/vmt-sim) read once at start
// with FromEnv and refuse when it names an unknown fault. The packages below them never read
// the environment: each fault reaches them as an explicit option
// (engine.Processor.FaultIgnoreParameterDefaults, apiserver.Options.Fault*,
// controller.Options.FaultKeepSourceMAC).
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
	// NeverAnswer: the template API server's /process and /create of a template that
	// exists accept the request and never answer; each holds until the caller goes away (its
	// request context ends). Errors found before (a bad body, a missing template) are still
	// answered, so the server passes readiness probes.
	NeverAnswer Fault = "never-answer"
)

// Known lists every fault, sorted.
var Known = []Fault{CreateWithoutPermission, IgnoreParameterDefaults, KeepSourceMAC, NeverAnswer}

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
