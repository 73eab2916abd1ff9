package wait

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// A wait for an outcome stops as soon as the opposite terminal state shows: a DataVolume
// that should succeed reports Failed, a VMI that should run is Failed or Succeeded, a
// Deployment that should become Available is past its progress deadline. Waiting out the
// interval then only delays a verdict that cannot change, by up to wait.Long or
// wait.VMStart. Reach wraps the awaited matcher with the wrong terminal states of the
// object awaited; when one of them shows, the matcher returns gomega's StopTrying error
// and Eventually fails at once, saying what was awaited and what was seen:
//
//	Eventually(get).WithContext(ctx).WithTimeout(wait.Long).Should(wait.Reach(wait.HavePhase("Succeeded"),
//		wait.Terminal("phase Failed", wait.HavePhase("Failed"))), "DataVolume %s/%s to succeed", ns, name)
//
// A polled function that must read more than the awaited object to see a terminal state
// returns gomega.StopTrying(wait.StopMessage(...)) itself.

// TerminalState is a wrong outcome an awaited object does not leave on its own.
type TerminalState struct {
	state   string
	matcher types.GomegaMatcher
}

// Terminal names a wrong terminal state ("phase Failed") and the matcher that recognises it.
func Terminal(state string, m types.GomegaMatcher) TerminalState {
	return TerminalState{state: state, matcher: m}
}

// The wrong terminal states of the objects the suite waits for, each with the upstream
// behaviour that makes it terminal.
var (
	// Deleting: any object awaited to become something is going away instead once it has a
	// deletionTimestamp.
	Deleting = Terminal("being deleted (deletionTimestamp set)", BeDeleting())

	// DataVolumeFailed: CDI leaves a failed DataVolume in phase Failed (a failed importer
	// pod, a lost claim: containerized-data-importer pkg/controller/datavolume
	// import-controller.go updateStatusPhase), and KubeVirt neither deletes nor recreates a
	// failed DataVolume of a VM (kubevirt/kubevirt pkg/virt-controller/watch/vm/vm_test.go
	// @v1.8.0 "should not delete failed DataVolume for VirtualMachineInstance").
	DataVolumeFailed = Terminal("phase Failed", HavePhase("Failed"))

	// DataSourceFailed: CDI's DataSource controller reports Ready=False with the phase of
	// the DataVolume that fills its PVC as the reason (containerized-data-importer
	// pkg/controller/datasource-controller.go, as reference/sim/cdi plays it); Failed is
	// DataVolumeFailed.
	DataSourceFailed = Terminal("Ready=False reason Failed (its DataVolume failed)", HaveCondition("Ready", "False", "Failed"))

	// VMIFinal: a VMI in phase Succeeded or Failed has ended for good (kubevirt.io/api
	// core/v1 VirtualMachineInstance.IsFinal); a restart is a new VMI, so what was awaited
	// of this one (a guest agent, Running) will not come.
	VMIFinal = Terminal("in a final phase (Succeeded or Failed)", HavePhase("Succeeded", "Failed"))

	// RolloutFailed: a Deployment past its progress deadline (Progressing=False,
	// ProgressDeadlineExceeded) made no progress for spec.progressDeadlineSeconds (600 s by
	// default, above Long) and the deployment controller takes no further action on it
	// (kubernetes pkg/controller/deployment/progress.go syncRolloutStatus, "Failed
	// Deployment" in the Deployment docs). Its pods may still come up later on their own,
	// but after a whole deadline without progress that is not what a wait of Long awaits.
	RolloutFailed = Terminal("past its progress deadline (Progressing=False, ProgressDeadlineExceeded)",
		HaveCondition("Progressing", "False", "ProgressDeadlineExceeded"))
)

// Reach matches what want matches and stops the wait at once (gomega StopTrying) when the
// value is in one of the wrong terminal states. The stop message names the object, the
// state seen and what was awaited with want's failure message (the status last seen).
// Use it with Should; want is checked first, so an object that is both is accepted.
func Reach(want types.GomegaMatcher, wrong ...TerminalState) types.GomegaMatcher {
	return &reachMatcher{want: want, wrong: wrong}
}

type reachMatcher struct {
	want  types.GomegaMatcher
	wrong []TerminalState
}

func (m *reachMatcher) Match(actual any) (bool, error) {
	ok, err := m.want.Match(actual)
	if ok || err != nil {
		return ok, err
	}
	for _, t := range m.wrong {
		if in, terr := t.matcher.Match(actual); terr == nil && in {
			return false, gomega.StopTrying(StopMessage(ObjectName(actual), t.state, m.want.FailureMessage(actual)))
		}
	}
	return false, nil
}

func (m *reachMatcher) FailureMessage(actual any) string { return m.want.FailureMessage(actual) }

func (m *reachMatcher) NegatedFailureMessage(actual any) string {
	return m.want.NegatedFailureMessage(actual)
}

// StopMessage is the message of a wait stopped by a wrong terminal state, for Reach and
// for polled functions that return gomega.StopTrying themselves: what was seen on which
// object, then what was awaited.
func StopMessage(object, state, awaited string) string {
	return fmt.Sprintf("wrong terminal state: %s is %s and will not become what was awaited, so the wait stopped at once.\nAwaited: %s",
		object, state, strings.TrimSpace(awaited))
}

// HavePhase matches an object whose status.phase is one of phases (any API object:
// DataVolumes, VMIs, snapshots, PVCs).
func HavePhase(phases ...string) types.GomegaMatcher {
	return &phaseMatcher{phases: phases}
}

type phaseMatcher struct{ phases []string }

func (m *phaseMatcher) Match(actual any) (bool, error) {
	phase, err := phaseOf(actual)
	if err != nil {
		return false, err
	}
	for _, p := range m.phases {
		if phase == p {
			return true, nil
		}
	}
	return false, nil
}

func (m *phaseMatcher) FailureMessage(actual any) string {
	phase, _ := phaseOf(actual)
	return fmt.Sprintf("Expected %s to be in phase %s; phase last seen: %q; conditions last seen:\n%s",
		ObjectName(actual), strings.Join(m.phases, " or "), phase, describeConditions(actual))
}

func (m *phaseMatcher) NegatedFailureMessage(actual any) string {
	phase, _ := phaseOf(actual)
	return fmt.Sprintf("Expected %s not to be in phase %s; phase last seen: %q", ObjectName(actual), strings.Join(m.phases, " or "), phase)
}

func phaseOf(obj any) (string, error) {
	if obj == nil {
		return "", fmt.Errorf("no object")
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return "", err
	}
	status, _ := u["status"].(map[string]any)
	phase, _ := status["phase"].(string)
	return phase, nil
}

// BeDeleting matches an object that has a deletionTimestamp.
func BeDeleting() types.GomegaMatcher { return deletingMatcher{} }

type deletingMatcher struct{}

func (deletingMatcher) Match(actual any) (bool, error) {
	o, ok := actual.(metav1.Object)
	if !ok {
		return false, fmt.Errorf("%T has no object metadata", actual)
	}
	return o.GetDeletionTimestamp() != nil, nil
}

func (deletingMatcher) FailureMessage(actual any) string {
	return fmt.Sprintf("Expected %s to be being deleted", ObjectName(actual))
}

func (deletingMatcher) NegatedFailureMessage(actual any) string {
	return fmt.Sprintf("Expected %s not to be being deleted", ObjectName(actual))
}

// ConditionsLastSeen renders an object's status.conditions as "Type=Status (Reason):
// Message" lines, for messages of polled functions that stop a wait themselves.
func ConditionsLastSeen(obj any) string { return describeConditions(obj) }

// ObjectName names an API object by its Go type's name (its kind) and namespace/name:
// "DataVolume ns/name".
func ObjectName(obj any) string {
	kind := reflect.TypeOf(obj)
	for kind != nil && kind.Kind() == reflect.Pointer {
		kind = kind.Elem()
	}
	name := fmt.Sprintf("%T", obj)
	if kind != nil && kind.Name() != "" {
		name = kind.Name()
	}
	if o, ok := obj.(metav1.Object); ok {
		if o.GetNamespace() == "" {
			return name + " " + o.GetName()
		}
		return name + " " + o.GetNamespace() + "/" + o.GetName()
	}
	return name
}
