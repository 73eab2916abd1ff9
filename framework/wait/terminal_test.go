package wait

import (
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pod(phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Status: corev1.PodStatus{Phase: phase,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "PodFailed", Message: "boom"}}}}
}

// eventually runs an Eventually with a long timeout over the phases the getter returns in
// turn (the last one repeats), and returns how long it took and its failure message.
func eventually(t *testing.T, m func() gomega.OmegaMatcher, phases ...corev1.PodPhase) (time.Duration, string) {
	t.Helper()
	var failure string
	g := gomega.NewGomega(func(message string, _ ...int) { failure = message })
	i := 0
	get := func() *corev1.Pod {
		p := pod(phases[min(i, len(phases)-1)])
		i++
		return p
	}
	began := time.Now()
	g.Eventually(get).WithTimeout(time.Minute).WithPolling(10*time.Millisecond).Should(m(), "pod ns/p to run")
	return time.Since(began), failure
}

func TestReachStopsAtAWrongTerminalState(t *testing.T) {
	running := func() gomega.OmegaMatcher {
		return Reach(HavePhase(string(corev1.PodRunning)), Terminal("phase Failed", HavePhase(string(corev1.PodFailed))), Deleting)
	}
	took, failure := eventually(t, running, corev1.PodPending, corev1.PodPending, corev1.PodFailed)
	if took > 5*time.Second {
		t.Errorf("a Failed pod ended the wait after %v, want at once", took)
	}
	t.Logf("stopped after %v:\n%s", took, failure)
	for _, want := range []string{
		"Told to stop trying", "pod ns/p to run",
		"wrong terminal state: Pod ns/p is phase Failed",
		`Awaited: Expected Pod ns/p to be in phase Running; phase last seen: "Failed"`,
		"Ready=False (PodFailed): boom",
	} {
		if !strings.Contains(failure, want) {
			t.Errorf("the failure lacks %q:\n%s", want, failure)
		}
	}

	// The awaited state wins, and states that are not terminal keep the wait going.
	if took, failure := eventually(t, running, corev1.PodPending, corev1.PodUnknown, corev1.PodRunning); failure != "" || took > 5*time.Second {
		t.Errorf("a pod that runs after Pending and Unknown: failure %q after %v", failure, took)
	}
}

func TestDeletingIsTerminal(t *testing.T) {
	now := metav1.Now()
	p := pod(corev1.PodPending)
	p.DeletionTimestamp = &now
	ok, err := Reach(HavePhase(string(corev1.PodRunning)), Deleting).Match(p)
	if ok || err == nil || !strings.Contains(err.Error(), "is being deleted (deletionTimestamp set)") {
		t.Errorf("a pod being deleted: match %t, %v", ok, err)
	}
	if ok, err := Reach(HavePhase(string(corev1.PodRunning)), Deleting).Match(pod(corev1.PodPending)); ok || err != nil {
		t.Errorf("a pending pod: match %t, %v; want no match and no error", ok, err)
	}
}
