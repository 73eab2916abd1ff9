//go:build vmt_selftest

package tests

import (
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
