package tests

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/format"

	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/artifacts"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster/providers"
	"github.com/vmt-conformance/vmt-conformance/framework/config"
	"github.com/vmt-conformance/vmt-conformance/framework/goldenimage"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/sut"
	"github.com/vmt-conformance/vmt-conformance/framework/virtctl"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

var cfg = config.Register(flag.CommandLine)

// TestConformance is the suite's entry point for `go test` and `ginkgo`.
func TestConformance(t *testing.T) {
	if errs := tiers.RegistrationErrors(); len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	// ginkgo --dry-run runs no setup node and no spec body, so it needs no cluster: the
	// kubeconfig is then not resolved (the provider resolves it when it comes up).
	suiteConfig, _ := GinkgoConfiguration()
	cfg.NoCluster = suiteConfig.DryRun
	if err := cfg.Validate(); err != nil {
		t.Fatalf("vmt-conformance: %v", err)
	}
	RegisterFailHandler(Fail)
	format.MaxLength = 8000
	SetDefaultEventuallyTimeout(wait.Medium)
	SetDefaultEventuallyPollingInterval(wait.Poll)
	SetDefaultConsistentlyDuration(wait.Short)
	SetDefaultConsistentlyPollingInterval(wait.Poll)
	// An Eventually given a context otherwise waits as long as the context lives (the whole
	// spec): with this, a wait that forgot WithTimeout still ends after wait.Medium. The
	// waitcheck test (tests/waitcheck) refuses such a wait in the first place.
	EnforceDefaultTimeoutsWhenUsingContexts()
	RunSpecs(t, "vmt-conformance")
}

// provider is set on the first Ginkgo process only: it owns the cluster for every process.
var provider cluster.Provider

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	p, err := providers.New(cfg, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	By(fmt.Sprintf("bringing up the %s provider", p.Name()))
	Expect(p.Up(ctx)).To(Succeed())
	provider = p

	caps, err := p.Capabilities(ctx)
	Expect(err).NotTo(HaveOccurred(), "detecting the cluster's capabilities")
	bin, ok, why, err := virtctl.Resolve(ctx, cfg.Virtctl)
	Expect(err).NotTo(HaveOccurred())
	caps.Set(cluster.Virtctl, ok, why)
	if ok {
		cfg.Virtctl = bin
	}
	// The system under test, detected once per run; it decides the v1beta1 capability.
	detected, err := sut.Detect(ctx, p.RESTConfig(), sut.Options{InstallNamespace: cfg.InstallNamespace, ExpectRelease: cfg.ExpectRelease, Profile: sut.ProfileOf(p)})
	Expect(err).NotTo(HaveOccurred(), "detecting the system under test")
	detected.SetCapability(caps)
	if err := sut.WriteFile(cfg.ArtifactsDir, detected); err != nil {
		GinkgoWriter.Printf("writing %s: %v\n", tiers.SUTFile, err)
	}
	Expect(caps.Override(cfg.Capabilities)).To(Succeed())

	kubeconfig, err := os.ReadFile(p.KubeconfigPath())
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("provider %s, kubeconfig %s\nintervals: %s\n", p.Name(), p.KubeconfigPath(), wait.Summary())
	for _, c := range cluster.All {
		GinkgoWriter.Printf("  capability %-18s %-5t %s\n", c, caps.Has(c), caps.Reason(c))
	}
	GinkgoWriter.Printf("system under test:\n  %s\n", strings.Join(detected.Lines(), "\n  "))
	var componentLogs []string
	if cl, ok := p.(cluster.ComponentLogger); ok {
		componentLogs = cl.ComponentLogs()
	}
	runID := framework.NewRunID()
	cleanEarlierRuns(ctx, p.RESTConfig(), runID)
	return framework.Session{
		RunID:          runID,
		Provider:       p.Name(),
		KubeconfigPath: p.KubeconfigPath(),
		Kubeconfig:     kubeconfig,
		Capabilities:   caps.Encode(),
		ComponentLogs:  componentLogs,
		SUT:            detected,
	}.Encode()
}, func(data []byte) {
	Expect(framework.Connect(cfg, data)).To(Succeed())
	failureDumps = &artifacts.Collector{
		Root:             cfg.ArtifactsDir,
		Limits:           artifacts.Limits{MaxSpecs: cfg.Dumps.MaxSpecs, MaxFileBytes: cfg.Dumps.MaxFileBytes, MaxSpecBytes: cfg.Dumps.MaxSpecBytes},
		Kube:             framework.Admin().Kube,
		Dynamic:          framework.Admin().Dynamic,
		InstallNamespace: cfg.InstallNamespace,
		ComponentLogs:    append(slices.Clone(cfg.Dumps.ComponentLogs), framework.CurrentSession().ComponentLogs...),
	}
})

// failureDumps writes the bounded per-failed-spec dumps (framework/artifacts).
var (
	failureDumps *artifacts.Collector
	specLogMarks artifacts.LogMarks
)

// Each spec notes where the component logs stand, so its dump holds only what its own time
// wrote.
var _ = BeforeEach(func() {
	if failureDumps != nil {
		specLogMarks = failureDumps.Mark()
	}
})

// A failed spec's dump is written before its namespaces go (their DeferCleanup runs after
// every JustAfterEach and AfterEach); the spec's report points at it.
var _ = JustAfterEach(func(ctx SpecContext) {
	report := CurrentSpecReport()
	if !report.Failed() || failureDumps == nil {
		return
	}
	id := namespace.SpecHash(report.FullText())
	spec := artifacts.Spec{
		ID: id, Text: report.FullText(), Start: report.StartTime, LogMarks: specLogMarks,
		Failure:           fmt.Sprintf("%s\n%s", report.Failure.Message, report.Failure.Location),
		NamespaceSelector: fmt.Sprintf("%s=%s,%s=%s", namespace.LabelSpec, id, namespace.LabelRun, framework.RunID()),
	}
	for _, l := range report.Labels() {
		if strings.HasPrefix(l, "VMT-") {
			spec.Scenario = l
		}
	}
	res, err := failureDumps.Dump(ctx, spec)
	if err != nil {
		AddReportEntry("failure artifacts", "no dump: "+err.Error())
		return
	}
	AddReportEntry("failure artifacts", res.Summary(failureDumps.Limits))
}, NodeTimeout(artifacts.DumpTimeout))

// Once every process finished: the shared golden image goes, then the suite proves its own
// cleanup (everything labelled with the run gone within wait.Cleanup, also after an
// interrupt, before the provider goes down) and fails when something is left.
var _ = SynchronizedAfterSuite(func() {}, func(ctx SpecContext) {
	if provider == nil {
		return
	}
	start := time.Now()
	// The golden image is shared by every process, so it goes once all of them finished.
	if err := goldenimage.Cleanup(ctx); err != nil {
		GinkgoWriter.Printf("%v\n", err)
	}
	cleaned := verifyCleanup(ctx, start)
	endRunLease(ctx)
	if err := provider.CollectArtifacts(ctx, filepath.Join(cfg.ArtifactsDir, "provider")); err != nil {
		GinkgoWriter.Printf("collecting provider artifacts: %v\n", err)
	}
	Expect(provider.Down(context.WithoutCancel(ctx))).To(Succeed(), "tearing down the %s provider", provider.Name())
	Expect(cleaned.Failed()).To(BeFalse(), strings.Join(cleaned.Lines(), "\n"))
}, afterSuiteTimeout())

// A spec selected on a cluster that lacks one of its capabilities fails and says which label
// to filter out; the runner (cmd/vmt-e2e) adds those filters itself.
var _ = BeforeEach(func() {
	var missing []string
	for _, l := range CurrentSpecReport().Labels() {
		name, found := strings.CutPrefix(l, "requires-")
		if !found {
			continue
		}
		c, err := cluster.ParseCapability(name)
		Expect(err).NotTo(HaveOccurred())
		if !framework.Capabilities().Has(c) {
			missing = append(missing, fmt.Sprintf("%s (%s)", c.Label(), framework.Capabilities().Reason(c)))
		}
	}
	if len(missing) > 0 {
		Fail(fmt.Sprintf("the cluster lacks %s; filter these specs out with --label-filter='!%s' or run through cmd/vmt-e2e, which does it for you",
			strings.Join(missing, ", "), strings.SplitN(missing[0], " ", 2)[0]))
	}
})
