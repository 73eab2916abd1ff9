package tests

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/format"

	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster/providers"
	"github.com/vmt-conformance/vmt-conformance/framework/config"
	"github.com/vmt-conformance/vmt-conformance/framework/goldenimage"
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
	if err := cfg.Validate(); err != nil {
		t.Fatalf("vmt-conformance: %v", err)
	}
	RegisterFailHandler(Fail)
	format.MaxLength = 8000
	SetDefaultEventuallyTimeout(wait.Medium)
	SetDefaultEventuallyPollingInterval(wait.Poll)
	SetDefaultConsistentlyDuration(wait.Short)
	SetDefaultConsistentlyPollingInterval(wait.Poll)
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
	Expect(caps.Override(cfg.Capabilities)).To(Succeed())

	kubeconfig, err := os.ReadFile(p.KubeconfigPath())
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("provider %s, kubeconfig %s\nintervals: %s\n", p.Name(), p.KubeconfigPath(), wait.Summary())
	for _, c := range cluster.All {
		GinkgoWriter.Printf("  capability %-18s %-5t %s\n", c, caps.Has(c), caps.Reason(c))
	}
	return framework.Session{
		RunID:          framework.NewRunID(),
		Provider:       p.Name(),
		KubeconfigPath: p.KubeconfigPath(),
		Kubeconfig:     kubeconfig,
		Capabilities:   caps.Encode(),
	}.Encode()
}, func(data []byte) {
	Expect(framework.Connect(cfg, data)).To(Succeed())
})

var _ = SynchronizedAfterSuite(func() {}, func(ctx SpecContext) {
	if provider == nil {
		return
	}
	// The golden image is shared by every process, so it goes once all of them finished.
	if err := goldenimage.Cleanup(ctx); err != nil {
		GinkgoWriter.Printf("%v\n", err)
	}
	if err := provider.CollectArtifacts(ctx, filepath.Join(cfg.ArtifactsDir, "provider")); err != nil {
		GinkgoWriter.Printf("collecting provider artifacts: %v\n", err)
	}
	Expect(provider.Down(context.WithoutCancel(ctx))).To(Succeed(), "tearing down the %s provider", provider.Name())
})

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
