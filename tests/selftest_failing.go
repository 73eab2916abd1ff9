//go:build vmt_selftest

package tests

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// SelfTestFailure is the message of the spec below; tests/selftest looks for it.
const SelfTestFailure = "deliberate failure of the suite's self-test"

// A spec that fails on purpose, compiled only with -tags vmt_selftest: tests/selftest runs it
// on the local lane to prove that a failed spec leaves a bounded artifact dump (holding the
// template it created) and turns the GA verdict to NOT READY. It borrows VMT-003, a P0.
var _ = Describe("Suite self-test", tiers.Scenario("VMT-003"), func() {
	It("fails on purpose after creating a template", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		tpl := fixtures.Template("selftest-template")
		tpl.Namespace = ns
		Expect(framework.Admin().Client.Create(ctx, tpl)).To(Succeed())
		Fail(SelfTestFailure)
	})
})

// UnboundedWaitFailure is the description of the wait below; tests/selftest looks for it.
const UnboundedWaitFailure = "something that never happens (a wait with a context and no timeout)"

// A wait with a context and no timeout, which waitcheck (tests/waitcheck) refuses in the
// suite proper: tests/selftest runs it with VMT_INTERVAL_MEDIUM=2s to prove that
// EnforceDefaultTimeoutsWhenUsingContexts (TestConformance) still ends it after wait.Medium
// rather than when the spec's context ends, which is never. Its text must not match the
// focus "Suite self-test" of the spec above.
var _ = Describe("Unbounded wait self-test", tiers.Scenario("VMT-003"), func() {
	It("ends a wait with a context and no timeout after the default timeout", func(ctx SpecContext) {
		Eventually(func(context.Context) bool { return false }).WithContext(ctx).Should(BeTrue(), UnboundedWaitFailure)
	})
})
