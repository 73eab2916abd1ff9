package tests

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/cleanup"
	"github.com/vmt-conformance/vmt-conformance/framework/client"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// The suite's proof of its own cleanup (framework/cleanup), called from the
// Synchronized*Suite nodes of suite_test.go on the first process.

// earlierRuns are the lines of what the first process did, at start, with the objects
// earlier runs left on the cluster; they go into cleanup.json.
var earlierRuns []string

// runLease holds the run's Lease (framework/cleanup): other runs sharing the cluster leave
// this run's objects alone while it lives. Set on the first process once it is created.
var runLease *cleanup.Checker

// cleanEarlierRuns creates the run's Lease (lasting wait.Run), then deletes what earlier runs
// left on the cluster (not what they kept on purpose, nor what a run still going owns) and
// prints one line per object. Best effort: a cluster that cannot be listed fails the specs
// soon enough.
func cleanEarlierRuns(ctx context.Context, restCfg *rest.Config, runID string) {
	cs, err := client.New(restCfg)
	var c *cleanup.Checker
	if err == nil {
		c = &cleanup.Checker{Kube: cs.Kube, Dynamic: cs.Dynamic, RunID: runID}
		if err := c.StartRun(ctx, namespace.RunLabelsOf(runID), wait.Run); err != nil {
			GinkgoWriter.Printf("run lease: %v (other runs on this cluster may delete this run's objects)\n", err)
		} else {
			runLease = c
			GinkgoWriter.Printf("run lease: %s/%s for %v\n", cleanup.LeaseNamespace, cleanup.LeaseName(runID), wait.Run)
		}
	}
	if !cfg.CleanEarlierRuns {
		earlierRuns = []string{"not looked for (--vmt.clean-earlier-runs=false)"}
		return
	}
	if err == nil {
		earlierRuns, err = c.CleanEarlierRuns(ctx)
	}
	if err != nil {
		earlierRuns = append(earlierRuns, "could not look for objects of earlier runs: "+err.Error())
	}
	for _, l := range earlierRuns {
		GinkgoWriter.Printf("earlier run: %s\n", l)
	}
	if len(earlierRuns) == 0 {
		GinkgoWriter.Println("earlier runs: nothing of theirs on the cluster")
	}
}

// afterSuiteBudget is the NodeTimeout of the last SynchronizedAfterSuite node: the cleanup
// wait and a long interval for the rest (golden image, provider artifacts and teardown). It
// is fixed when the suite is built, from the environment (VMT_INTERVAL_CLEANUP,
// VMT_INTERVAL_LONG, VMT_TIMEOUT_SCALE); verifyCleanup stays within it even when
// -vmt.interval.cleanup asks for more.
var afterSuiteBudget time.Duration

func afterSuiteTimeout() NodeTimeout {
	afterSuiteBudget = wait.Cleanup + wait.Long
	return NodeTimeout(afterSuiteBudget)
}

// verifyCleanup waits, bounded by wait.Cleanup, for everything of the run to be gone, prints
// what is left and writes <artifacts>/cleanup.json. nodeStart is when the calling node
// started (its budget is afterSuiteBudget).
func verifyCleanup(ctx context.Context, nodeStart time.Time) tiers.CleanupReport {
	var rep tiers.CleanupReport
	switch {
	case cfg.SkipCleanupCheck:
		rep = tiers.CleanupReport{RunID: framework.RunID(), Skipped: true}
	case framework.Admin() == nil:
		rep = tiers.CleanupReport{Error: "the suite never connected to the cluster"}
	default:
		timeout := min(wait.Cleanup, afterSuiteBudget-wait.Long/2-time.Since(nodeStart))
		a := framework.Admin()
		c := &cleanup.Checker{Kube: a.Kube, Dynamic: a.Dynamic, Mapper: a.Client.RESTMapper(), RunID: framework.RunID(),
			Timeout: max(timeout, 0), Poll: wait.Poll, ListTimeout: wait.Short}
		rep = c.Verify(ctx)
	}
	rep.EarlierRuns = earlierRuns
	for _, l := range rep.Lines() {
		GinkgoWriter.Println(l)
	}
	if err := tiers.WriteCleanup(cfg.ArtifactsDir, rep); err != nil {
		GinkgoWriter.Printf("writing %s: %v\n", tiers.CleanupFile, err)
	}
	return rep
}

// endRunLease deletes the run's Lease at the end of the run (also after an interrupt: ctx may
// be done). The cleanup check never counts it: it looks at namespaces and cluster-scoped
// objects only.
func endRunLease(ctx context.Context) {
	if runLease == nil {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait.Short)
	defer cancel()
	if err := runLease.EndRun(dctx); err != nil {
		GinkgoWriter.Printf("run lease: %v\n", err)
		return
	}
	GinkgoWriter.Printf("run lease: %s/%s deleted\n", cleanup.LeaseNamespace, cleanup.LeaseName(runLease.RunID))
	runLease = nil
}
