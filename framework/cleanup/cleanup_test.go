package cleanup

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/vmt-conformance/vmt-conformance/tiers"
)

const run = "r1"

var clock = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ns(name, runID string, mutate ...func(*corev1.Namespace)) *corev1.Namespace {
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelE2E: "true", LabelRun: runID}}}
	for _, m := range mutate {
		m(n)
	}
	return n
}

func terminating(since time.Duration, conds ...corev1.NamespaceCondition) func(*corev1.Namespace) {
	return func(n *corev1.Namespace) {
		n.DeletionTimestamp = &metav1.Time{Time: clock.Add(-since)}
		n.Spec.Finalizers = []corev1.FinalizerName{corev1.FinalizerKubernetes}
		n.Status.Phase = corev1.NamespaceTerminating
		n.Status.Conditions = conds
	}
}

func kept(why string) func(*corev1.Namespace) {
	return func(n *corev1.Namespace) { n.Annotations = map[string]string{AnnotKept: why} }
}

var pvcContent = []corev1.NamespaceCondition{
	{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue, Message: "Some resources are remaining: persistentvolumeclaims. has 1 resource instances"},
	{Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionTrue, Message: "Some content in the namespace has finalizers remaining: kubernetes.io/pvc-protection in 1 resource instances"},
	{Type: corev1.NamespaceDeletionDiscoveryFailure, Status: corev1.ConditionFalse, Message: "All resources successfully discovered"},
}

// checker returns a Checker on fake clients holding kube (namespaces) and dyn (anything
// else), with a short wait.
func checker(t *testing.T, kube []runtime.Object, dyn ...runtime.Object) (*Checker, *fake.Clientset) {
	t.Helper()
	listKinds := map[schema.GroupVersionResource]string{
		{Version: "v1", Resource: "persistentvolumeclaims"}: "PersistentVolumeClaimList",
	}
	for _, r := range Tracked {
		listKinds[r.GVR] = r.Kind + "List"
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), meta.RESTScopeNamespace)
	kc := fake.NewClientset(kube...)
	return &Checker{
		Kube:    kc,
		Dynamic: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(clientgoscheme.Scheme, listKinds, dyn...),
		Mapper:  mapper, RunID: run,
		Timeout: 200 * time.Millisecond, Poll: 5 * time.Millisecond, ListTimeout: time.Second,
		Now: func() time.Time { return clock },
	}, kc
}

func TestVerifiedWhenNothingOfTheRunIsLeft(t *testing.T) {
	c, _ := checker(t, []runtime.Object{ns("other-run", "r0")})
	rep := c.Verify(context.Background())
	if !rep.Verified || len(rep.Leftovers) > 0 || rep.Error != "" {
		t.Fatalf("want verified, got %+v", rep)
	}
	if got := rep.Line(); !strings.HasPrefix(got, "cleanup verified: nothing of run r1 is left") {
		t.Errorf("line %q", got)
	}
}

func TestWaitsForATerminatingNamespaceToGo(t *testing.T) {
	c, kc := checker(t, []runtime.Object{ns("vmt-going", run, terminating(time.Second))})
	c.Timeout = 10 * time.Second // the namespace goes on the third look; the wait must not time out
	var lists atomic.Int32
	kc.PrependReactor("list", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		if lists.Add(1) == 3 {
			_ = kc.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("namespaces"), "", "vmt-going")
		}
		return false, nil, nil
	})
	rep := c.Verify(context.Background())
	if !rep.Verified || len(rep.Leftovers) > 0 {
		t.Fatalf("want verified once the namespace went, got %+v", rep)
	}
	if lists.Load() < 3 {
		t.Errorf("the check looked %d times; it should have waited for the namespace", lists.Load())
	}
}

func TestLeftoverNamespaceNamesItsBlockingFinalizers(t *testing.T) {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "disk", Namespace: "vmt-stuck",
		Finalizers: []string{"kubernetes.io/pvc-protection"}, DeletionTimestamp: &metav1.Time{Time: clock}}}
	c, _ := checker(t, []runtime.Object{ns("vmt-stuck", run, terminating(90*time.Second, pvcContent...))}, pvc)
	rep := c.Verify(context.Background())
	if rep.Verified || len(rep.Leftovers) != 2 {
		t.Fatalf("want the namespace and its PVC as leftovers, got %+v", rep)
	}
	nsLeft, pvcLeft := rep.Leftovers[0], rep.Leftovers[1]
	if nsLeft.Kind != "Namespace" || nsLeft.Name != "vmt-stuck" || strings.Join(nsLeft.Finalizers, ",") != "kubernetes" {
		t.Errorf("namespace leftover %+v", nsLeft)
	}
	for _, want := range []string{"terminating for 1m30s", "NamespaceContentRemaining: Some resources are remaining: persistentvolumeclaims.", "NamespaceFinalizersRemaining: ", "kubernetes.io/pvc-protection"} {
		if !strings.Contains(nsLeft.Reason, want) {
			t.Errorf("namespace reason lacks %q: %s", want, nsLeft.Reason)
		}
	}
	if strings.Contains(nsLeft.Reason, "NamespaceDeletionDiscoveryFailure") {
		t.Errorf("a False condition is no reason: %s", nsLeft.Reason)
	}
	want := tiers.CleanupObject{Kind: "PersistentVolumeClaim", Name: "disk", Namespace: "vmt-stuck", Finalizers: []string{"kubernetes.io/pvc-protection"}, Reason: "keeps namespace vmt-stuck from going"}
	if pvcLeft.String() != want.String() {
		t.Errorf("PVC leftover\n got %s\nwant %s", pvcLeft, want)
	}
	if rep.Waited < c.Timeout {
		t.Errorf("waited %s, less than the %s timeout, for a namespace that never went", rep.Waited, c.Timeout)
	}
	lines := rep.Lines()
	if !strings.HasPrefix(lines[0], "cleanup NOT verified: 2 objects of run r1 left after waiting 200ms") ||
		lines[2] != "LEFTOVER PersistentVolumeClaim vmt-stuck/disk finalizers [kubernetes.io/pvc-protection]: keeps namespace vmt-stuck from going" {
		t.Errorf("lines:\n%s", strings.Join(lines, "\n"))
	}
}

func TestNeverDeletedObjectsAreLeftoversWithoutWaiting(t *testing.T) {
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "vmt-e2e-role", Labels: map[string]string{LabelE2E: "true", LabelRun: run}}}
	c, _ := checker(t, []runtime.Object{ns("vmt-forgotten", run)}, role)
	c.Timeout = time.Hour
	rep := c.Verify(context.Background())
	if len(rep.Leftovers) != 2 || rep.Verified {
		t.Fatalf("want the namespace and the ClusterRole, got %+v", rep)
	}
	if rep.Leftovers[0].Ref() != "Namespace vmt-forgotten" || rep.Leftovers[1].Ref() != "ClusterRole vmt-e2e-role" {
		t.Errorf("leftovers %v", rep.Leftovers)
	}
	for _, l := range rep.Leftovers {
		if !strings.Contains(l.Reason, "never deleted") {
			t.Errorf("%s: reason %q", l.Ref(), l.Reason)
		}
	}
	if rep.Waited > time.Minute {
		t.Errorf("waited %s for objects nobody deletes", rep.Waited)
	}
}

func TestKeptNamespacesAreListedNotCounted(t *testing.T) {
	c, _ := checker(t, []runtime.Object{ns("vmt-failed", run, kept("--vmt.keep-on-failure: its spec failed"))})
	rep := c.Verify(context.Background())
	if !rep.Verified || len(rep.Leftovers) > 0 || len(rep.Kept) != 1 {
		t.Fatalf("want verified with one kept namespace, got %+v", rep)
	}
	if got := rep.Line(); !strings.HasPrefix(got, "cleanup verified:") || !strings.HasSuffix(got, "; kept on purpose: Namespace vmt-failed") {
		t.Errorf("line %q", got)
	}
	if got := rep.Lines()[1]; got != "kept Namespace vmt-failed: --vmt.keep-on-failure: its spec failed" {
		t.Errorf("kept line %q", got)
	}
}

func TestTheAPIFailingIsAnError(t *testing.T) {
	c, kc := checker(t, nil)
	kc.PrependReactor("list", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, context.DeadlineExceeded
	})
	rep := c.Verify(context.Background())
	if rep.Verified || !rep.Failed() || !strings.Contains(rep.Error, "listing namespaces") {
		t.Fatalf("want an error, got %+v", rep)
	}
}

func TestInterruptedCheckStillReports(t *testing.T) {
	c, _ := checker(t, []runtime.Object{ns("vmt-stuck", run, terminating(time.Second, pvcContent...))})
	c.Timeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := c.Verify(ctx)
	if rep.Error != "" || len(rep.Leftovers) == 0 {
		t.Fatalf("an interrupted check must still list what is left, got %+v", rep)
	}
}

func TestParseContentRemaining(t *testing.T) {
	got := ParseContentRemaining("Some resources are remaining: persistentvolumeclaims. has 1 resource instances, virtualmachines.kubevirt.io has 2 resource instances")
	want := []schema.GroupResource{{Resource: "persistentvolumeclaims"}, {Group: "kubevirt.io", Resource: "virtualmachines"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := ParseContentRemaining("All content successfully removed"); len(got) != 0 {
		t.Errorf("got %v from a message naming nothing", got)
	}
}

func TestCleanEarlierRuns(t *testing.T) {
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "vmt-old-role", Labels: map[string]string{LabelE2E: "true", LabelRun: "r0"}}}
	c, kc := checker(t, []runtime.Object{
		ns("vmt-old", "r0"),
		ns("vmt-old-kept", "r0", kept("--vmt.keep-on-failure: its spec failed")),
		ns("vmt-old-stuck", "r0", terminating(time.Hour)),
		ns("vmt-mine", run),
	}, role)
	lines, err := c.CleanEarlierRuns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"deleted Namespace vmt-old of run r0",
		"left Namespace vmt-old-kept of run r0: kept on purpose (--vmt.keep-on-failure: its spec failed); delete it yourself when done: kubectl delete namespace vmt-old-kept",
		"left Namespace vmt-old-stuck of run r0: already terminating for 1h0m0s, finalizers [kubernetes]",
		"deleted ClusterRole vmt-old-role of run r0",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines\n got %q\nwant %q", lines, want)
	}
	left, err := kc.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range left.Items {
		names = append(names, n.Name)
	}
	if strings.Join(names, ",") != "vmt-mine,vmt-old-kept,vmt-old-stuck" {
		t.Errorf("namespaces left: %v", names)
	}
}

// lease is the Lease of run runID, started ago and lasting d.
func lease(runID string, ago, d time.Duration) *coordinationv1.Lease {
	start, secs, holder := metav1.NewMicroTime(clock.Add(-ago)), int32(d/time.Second), runID
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: LeaseName(runID), Namespace: LeaseNamespace, Labels: map[string]string{LabelE2E: "true", LabelRun: runID}},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &start, RenewTime: &start},
	}
}

// Two runs sharing a cluster at once leave each other alone; a run whose lease expired (killed
// without cleaning up) or that has none (earlier suites) is cleaned as before.
func TestCleanEarlierRunsLeavesRunsStillGoing(t *testing.T) {
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "vmt-live-role", Labels: map[string]string{LabelE2E: "true", LabelRun: "live"}}}
	c, kc := checker(t, []runtime.Object{
		ns("vmt-live", "live"),
		ns("vmt-expired", "expired"),
		ns("vmt-nolease", "nolease"),
		ns("vmt-mine", run),
		lease("live", 10*time.Minute, 3*time.Hour),
		lease("expired", 4*time.Hour, 3*time.Hour),
	}, role)
	if err := c.StartRun(context.Background(), map[string]string{LabelE2E: "true", LabelRun: run}, 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	lines, err := c.CleanEarlierRuns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"deleted Namespace vmt-expired of run expired",
		"left Namespace vmt-live of run live: run live is still going (lease default/vmt-run-live, started 10m0s ago, expires in 2h50m0s)",
		"deleted Namespace vmt-nolease of run nolease",
		"left ClusterRole vmt-live-role of run live: run live is still going (lease default/vmt-run-live, started 10m0s ago, expires in 2h50m0s)",
		"deleted Lease default/vmt-run-expired of run expired: expired 1h0m0s ago",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines\n got %q\nwant %q", lines, want)
	}
	nss, err := kc.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nss.Items {
		names = append(names, n.Name)
	}
	if strings.Join(names, ",") != "vmt-live,vmt-mine" {
		t.Errorf("namespaces left: %v", names)
	}
	if _, err := c.Dynamic.Resource(Tracked[0].GVR).Get(context.Background(), "vmt-live-role", metav1.GetOptions{}); err != nil {
		t.Errorf("the live run's ClusterRole: %v", err)
	}
	leases, err := kc.CoordinationV1().Leases(LeaseNamespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, l := range leases.Items {
		names = append(names, l.Name)
	}
	if strings.Join(names, ",") != "vmt-run-live,vmt-run-r1" {
		t.Errorf("leases left: %v", names)
	}
	mine, err := kc.CoordinationV1().Leases(LeaseNamespace).Get(context.Background(), LeaseName(run), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *mine.Spec.HolderIdentity != run || *mine.Spec.LeaseDurationSeconds != 3*60*60 || !mine.Spec.RenewTime.Time.Equal(clock) {
		t.Errorf("the run's lease: %+v", mine.Spec)
	}

	// The run's own lease is neither a leftover nor waited for, and EndRun deletes it.
	if rep := c.Verify(context.Background()); len(rep.Leftovers) != 1 || rep.Leftovers[0].Name != "vmt-mine" {
		t.Errorf("leftovers: %+v", rep.Leftovers)
	}
	if err := c.EndRun(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.EndRun(context.Background()); err != nil {
		t.Errorf("ending the run twice: %v", err)
	}
	if _, err := kc.CoordinationV1().Leases(LeaseNamespace).Get(context.Background(), LeaseName(run), metav1.GetOptions{}); err == nil {
		t.Error("the run's lease is still there after EndRun")
	}
}
