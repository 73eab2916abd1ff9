// Package cleanup proves that the suite cleans up after itself. Every namespace and
// cluster-scoped object the suite creates carries the run's labels (namespace.RunLabels):
//
//   - at the end of a run (and after an interrupt) Verify waits, bounded by wait.Cleanup, for
//     every object of the run to be gone, and reports what is left with what blocks it: the
//     namespace's finalizers and deletion conditions (NamespaceContentRemaining,
//     NamespaceFinalizersRemaining, …) and the remaining objects in it with their
//     metadata.finalizers. Objects kept on purpose (annotation vmt-conformance.io/kept, set by
//     --vmt.keep-on-failure and the upgrade-pre lane) are listed, not counted;
//   - at the start of a run CleanEarlierRuns deletes what earlier runs left on the cluster
//     (label vmt-conformance.io/e2e=true, another run id), leaves what they kept on purpose,
//     and says one line per object;
//   - a run holds a Lease default/vmt-run-<run id> (StartRun, EndRun) for as long as it goes,
//     bounded by wait.Run: CleanEarlierRuns leaves the objects of a run whose Lease is live
//     (two runs sharing a cluster at once), and deletes an expired Lease with the objects of
//     its run.
//
// The suite writes the result as <artifacts>/cleanup.json (tiers.CleanupReport) from its last
// SynchronizedAfterSuite node; cmd/vmt-e2e puts it into run.json and its summary.
package cleanup

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kwait "k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// The labels and annotation the check reads; framework/namespace sets them (and refers to
// these values).
const (
	LabelE2E  = "vmt-conformance.io/e2e"
	LabelRun  = "vmt-conformance.io/run"
	AnnotKept = "vmt-conformance.io/kept"
)

// Resource is a cluster-scoped resource the check looks for, besides namespaces.
type Resource struct {
	GVR  schema.GroupVersionResource
	Kind string
}

// Tracked are the cluster-scoped resources, besides namespaces, that the suite or its fixtures
// can create (RBAC, KubeVirt's cluster instance types and preferences). A resource the
// cluster does not serve is passed over.
var Tracked = []Resource{
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, "ClusterRole"},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, "ClusterRoleBinding"},
	{schema.GroupVersionResource{Group: "instancetype.kubevirt.io", Version: "v1beta1", Resource: "virtualmachineclusterinstancetypes"}, "VirtualMachineClusterInstancetype"},
	{schema.GroupVersionResource{Group: "instancetype.kubevirt.io", Version: "v1beta1", Resource: "virtualmachineclusterpreferences"}, "VirtualMachineClusterPreference"},
}

// deletionConditions are the namespace conditions the namespace controller sets while it
// cannot finish a deletion; their messages name what blocks it.
var deletionConditions = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

// maxContent caps the objects listed per blocked namespace.
const maxContent = 20

// Checker finds the objects of runs on a cluster.
type Checker struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// Mapper maps the resources a namespace's NamespaceContentRemaining condition names to
	// list them; nil: the namespace's conditions alone explain it.
	Mapper meta.RESTMapper
	// RunID is this run's id (label vmt-conformance.io/run).
	RunID string
	// Timeout bounds Verify's wait (wait.Cleanup), Poll is how often it looks (wait.Poll),
	// ListTimeout bounds its final listing, which runs even when ctx is done (wait.Short).
	Timeout, Poll, ListTimeout time.Duration
	// Now is the clock that ages terminating objects; nil is time.Now.
	Now func() time.Time
}

// object is one object of a run as the check sees it.
type object struct {
	kind, name, namespace string
	gvr                   schema.GroupVersionResource
	run                   string
	deleted               *metav1.Time
	finalizers            []string
	kept                  string
	ns                    *corev1.Namespace // when kind is Namespace
}

func (o object) ref() tiers.CleanupObject {
	return tiers.CleanupObject{Kind: o.kind, Name: o.name, Namespace: o.namespace}
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Verify waits, up to Timeout, until no object of the run is being deleted any more, then
// reports what is left: leftovers with their finalizers and what blocks them, and what was
// kept on purpose. An object nobody deleted is not waited for: it will not go by itself.
func (c *Checker) Verify(ctx context.Context) tiers.CleanupReport {
	rep := tiers.CleanupReport{RunID: c.RunID, Timeout: c.Timeout}
	if c.RunID == "" {
		rep.Error = "no run id: the suite never started a session"
		return rep
	}
	selector := LabelRun + "=" + c.RunID
	start := time.Now()
	var lastErr error
	_ = kwait.PollUntilContextTimeout(ctx, c.Poll, c.Timeout, true, func(ctx context.Context) (bool, error) {
		objs, err := c.list(ctx, selector)
		if lastErr = err; err != nil {
			return false, nil // the API may be busy: ask again until the timeout
		}
		return !slices.ContainsFunc(objs, func(o object) bool { return o.kept == "" && o.deleted != nil }), nil
	})
	rep.Waited = time.Since(start)

	// What is left is listed even when ctx is done (an interrupt): that is the point.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ListTimeout)
	defer cancel()
	objs, err := c.list(lctx, selector)
	if err != nil {
		if lastErr != nil {
			err = fmt.Errorf("%w (while waiting: %v)", err, lastErr)
		}
		rep.Error = err.Error()
		return rep
	}
	for _, o := range objs {
		if o.kept != "" {
			k := o.ref()
			k.Reason = o.kept
			rep.Kept = append(rep.Kept, k)
			continue
		}
		rep.Leftovers = append(rep.Leftovers, c.describe(lctx, o)...)
	}
	rep.Verified = len(rep.Leftovers) == 0
	return rep
}

// describe is the leftover o with its finalizers and reason, followed, for a namespace, by
// the objects still in it.
func (c *Checker) describe(ctx context.Context, o object) []tiers.CleanupObject {
	l := o.ref()
	l.Finalizers = o.finalizers
	var reasons []string
	if o.deleted == nil {
		reasons = append(reasons, "never deleted (nothing of the run asked for its deletion)")
	} else {
		reasons = append(reasons, "terminating for "+c.now().Sub(o.deleted.Time).Round(time.Second).String())
	}
	if o.ns == nil {
		l.Reason = strings.Join(reasons, "; ")
		return []tiers.CleanupObject{l}
	}
	var remaining []schema.GroupResource
	for _, t := range deletionConditions {
		for _, cond := range o.ns.Status.Conditions {
			if cond.Type == t && cond.Status == corev1.ConditionTrue {
				reasons = append(reasons, fmt.Sprintf("%s: %s", cond.Type, cond.Message))
				if t == corev1.NamespaceContentRemaining {
					remaining = ParseContentRemaining(cond.Message)
				}
			}
		}
	}
	if o.deleted != nil && len(reasons) == 1 {
		reasons = append(reasons, "the namespace controller has reported nothing (is kube-controller-manager's namespace controller running?)")
	}
	l.Reason = strings.Join(reasons, "; ")
	return append([]tiers.CleanupObject{l}, c.content(ctx, o.name, remaining)...)
}

// content lists the objects of the given resources still in namespace ns, with their
// finalizers, up to maxContent.
func (c *Checker) content(ctx context.Context, ns string, resources []schema.GroupResource) []tiers.CleanupObject {
	if c.Mapper == nil || c.Dynamic == nil {
		return nil
	}
	var out []tiers.CleanupObject
	for _, gr := range resources {
		gvr, err := c.Mapper.ResourceFor(gr.WithVersion(""))
		if err != nil {
			continue
		}
		kind := gr.Resource
		if gvk, err := c.Mapper.KindFor(gvr); err == nil {
			kind = gvk.Kind
		}
		list, err := c.Dynamic.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{Limit: maxContent})
		if err != nil {
			continue
		}
		for _, item := range list.Items {
			if len(out) == maxContent {
				return out
			}
			why := "keeps namespace " + ns + " from going"
			if item.GetDeletionTimestamp() == nil {
				why += "; not deleted yet"
			}
			out = append(out, tiers.CleanupObject{Kind: kind, Name: item.GetName(), Namespace: ns, Finalizers: item.GetFinalizers(), Reason: why})
		}
	}
	return out
}

// contentRemaining matches one "<resource>.<group> has N resource instances" of a
// NamespaceContentRemaining message (the core group is empty: "persistentvolumeclaims.").
var contentRemaining = regexp.MustCompile(`([a-z0-9-]+)\.([a-z0-9.-]*) has \d+ resource instances`)

// ParseContentRemaining returns the resources a NamespaceContentRemaining condition message
// names, e.g. "Some resources are remaining: persistentvolumeclaims. has 1 resource
// instances, virtualmachines.kubevirt.io has 2 resource instances".
func ParseContentRemaining(msg string) []schema.GroupResource {
	var out []schema.GroupResource
	for _, m := range contentRemaining.FindAllStringSubmatch(msg, -1) {
		out = append(out, schema.GroupResource{Resource: m[1], Group: m[2]})
	}
	return out
}

// LeaseNamespace holds the runs' Leases; LeaseName(run id) is a run's.
const LeaseNamespace = "default"

// LeaseName is the name of the Lease of run runID.
func LeaseName(runID string) string { return "vmt-run-" + runID }

// StartRun creates the run's Lease, held by the run id, labelled with labels (the run's) and
// lasting duration (wait.Run, a bound on the whole run): while it lives, other runs sharing the
// cluster leave this run's objects alone.
func (c *Checker) StartRun(ctx context.Context, labels map[string]string, duration time.Duration) error {
	now := metav1.NewMicroTime(c.now())
	holder, secs := c.RunID, int32(max(duration.Round(time.Second)/time.Second, 1))
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: LeaseName(c.RunID), Namespace: LeaseNamespace, Labels: labels},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs,
			AcquireTime: &now, RenewTime: &now},
	}
	if _, err := c.Kube.CoordinationV1().Leases(LeaseNamespace).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the run's lease %s/%s: %w", LeaseNamespace, lease.Name, err)
	}
	return nil
}

// EndRun deletes the run's Lease (gone already is fine).
func (c *Checker) EndRun(ctx context.Context) error {
	err := c.Kube.CoordinationV1().Leases(LeaseNamespace).Delete(ctx, LeaseName(c.RunID), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the run's lease %s/%s: %w", LeaseNamespace, LeaseName(c.RunID), err)
	}
	return nil
}

// leaseRun is the run a Lease of the suite stands for, and until when.
type leaseRun struct {
	name             string
	started, expires time.Time
}

// runLeases returns the Leases of other runs by run id: the runs' Leases carry the run labels.
func (c *Checker) runLeases(ctx context.Context) (map[string]leaseRun, error) {
	list, err := c.Kube.CoordinationV1().Leases(LeaseNamespace).List(ctx, metav1.ListOptions{LabelSelector: LabelE2E + "=true"})
	if err != nil {
		return nil, fmt.Errorf("listing the runs' leases in %s: %w", LeaseNamespace, err)
	}
	out := map[string]leaseRun{}
	for _, l := range list.Items {
		run := l.Labels[LabelRun]
		if run == "" || run == c.RunID || l.Name != LeaseName(run) {
			continue
		}
		lr := leaseRun{name: l.Name}
		if t := l.Spec.AcquireTime; t != nil {
			lr.started = t.Time
		}
		renew := l.Spec.RenewTime
		if renew == nil {
			renew = l.Spec.AcquireTime
		}
		if renew != nil && l.Spec.LeaseDurationSeconds != nil {
			lr.expires = renew.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
		}
		if lr.started.IsZero() {
			lr.started = lr.expires
		}
		out[run] = lr
	}
	return out, nil
}

// CleanEarlierRuns deletes the objects of other runs (label vmt-conformance.io/e2e=true,
// another run id) that are neither kept on purpose nor already being deleted nor of a run still
// going (its Lease, StartRun, not expired), and returns one line per object found: what it did
// or why it left it. The expired Leases of other runs are deleted too.
func (c *Checker) CleanEarlierRuns(ctx context.Context) ([]string, error) {
	leases, err := c.runLeases(ctx)
	if err != nil {
		return nil, err
	}
	objs, err := c.list(ctx, LabelE2E+"=true")
	if err != nil {
		return nil, err
	}
	now := c.now()
	var lines []string
	for _, o := range objs {
		if o.run == c.RunID {
			continue
		}
		what := fmt.Sprintf("%s of run %s", o.ref().Ref(), orUnknown(o.run))
		lease, hasLease := leases[o.run]
		switch {
		case hasLease && lease.expires.After(now):
			lines = append(lines, fmt.Sprintf("left %s: run %s is still going (lease %s/%s, started %s ago, expires in %s)", what, o.run,
				LeaseNamespace, lease.name, now.Sub(lease.started).Round(time.Second), lease.expires.Sub(now).Round(time.Second)))
		case o.kept != "":
			lines = append(lines, fmt.Sprintf("left %s: kept on purpose (%s); delete it yourself when done: kubectl delete %s %s", what, o.kept, strings.ToLower(o.kind), o.name))
		case o.deleted != nil:
			line := fmt.Sprintf("left %s: already terminating for %s", what, c.now().Sub(o.deleted.Time).Round(time.Second))
			if len(o.finalizers) > 0 {
				line += ", finalizers [" + strings.Join(o.finalizers, " ") + "]"
			}
			lines = append(lines, line)
		default:
			if err := c.delete(ctx, o); err != nil {
				lines = append(lines, fmt.Sprintf("could not delete %s: %v", what, err))
				continue
			}
			lines = append(lines, "deleted "+what)
		}
	}
	runs := make([]string, 0, len(leases))
	for run := range leases {
		runs = append(runs, run)
	}
	sort.Strings(runs)
	for _, run := range runs {
		lease := leases[run]
		if lease.expires.After(now) {
			continue
		}
		what := fmt.Sprintf("Lease %s/%s of run %s", LeaseNamespace, lease.name, run)
		err := c.Kube.CoordinationV1().Leases(LeaseNamespace).Delete(ctx, lease.name, metav1.DeleteOptions{})
		switch {
		case err != nil && !apierrors.IsNotFound(err):
			lines = append(lines, fmt.Sprintf("could not delete %s: %v", what, err))
		case lease.expires.IsZero():
			lines = append(lines, fmt.Sprintf("deleted %s: it sets no renew time or duration", what))
		default:
			lines = append(lines, fmt.Sprintf("deleted %s: expired %s ago", what, now.Sub(lease.expires).Round(time.Second)))
		}
	}
	return lines, nil
}

func orUnknown(run string) string {
	if run == "" {
		return "(no run label)"
	}
	return run
}

func (c *Checker) delete(ctx context.Context, o object) error {
	var err error
	if o.ns != nil {
		err = c.Kube.CoreV1().Namespaces().Delete(ctx, o.name, metav1.DeleteOptions{})
	} else {
		err = c.Dynamic.Resource(o.gvr).Delete(ctx, o.name, metav1.DeleteOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// list finds the namespaces and tracked cluster-scoped objects matching selector, sorted by
// kind and name.
func (c *Checker) list(ctx context.Context, selector string) ([]object, error) {
	nss, err := c.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing namespaces %s: %w", selector, err)
	}
	var out []object
	for i := range nss.Items {
		ns := &nss.Items[i]
		fins := make([]string, 0, len(ns.Spec.Finalizers)+len(ns.Finalizers))
		for _, f := range ns.Spec.Finalizers {
			fins = append(fins, string(f))
		}
		fins = append(fins, ns.Finalizers...)
		out = append(out, object{kind: "Namespace", name: ns.Name, run: ns.Labels[LabelRun], deleted: ns.DeletionTimestamp,
			finalizers: fins, kept: ns.Annotations[AnnotKept], ns: ns})
	}
	if c.Dynamic != nil {
		for _, r := range Tracked {
			list, err := c.Dynamic.Resource(r.GVR).List(ctx, metav1.ListOptions{LabelSelector: selector})
			if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
				continue // not served here
			}
			if err != nil {
				return nil, fmt.Errorf("listing %s %s: %w", r.GVR.GroupResource(), selector, err)
			}
			for _, item := range list.Items {
				out = append(out, object{kind: r.Kind, name: item.GetName(), gvr: r.GVR, run: item.GetLabels()[LabelRun],
					deleted: item.GetDeletionTimestamp(), finalizers: item.GetFinalizers(), kept: item.GetAnnotations()[AnnotKept]})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.ns != nil) != (b.ns != nil) {
			return a.ns != nil // namespaces first: the usual leftovers
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.name < b.name
	})
	return out, nil
}
