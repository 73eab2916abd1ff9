//go:build vmt_selftest

package tests

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// SelfTestLeakFinalizer is the finalizer nobody removes; tests/selftest looks for it.
const SelfTestLeakFinalizer = "vmt-conformance.io/selftest-leak"

// A spec that leaks on purpose, compiled only with -tags vmt_selftest: its namespace is
// deleted as usual, but holds a ConfigMap with a finalizer nobody removes, so the namespace
// never goes. tests/selftest runs it on the local lane to prove that the suite's cleanup
// check reports the namespace and the ConfigMap with that finalizer, and fails the run (the
// local cluster is torn down afterwards, which removes the leak). It borrows VMT-001.
var _ = Describe("Cleanup self-test", tiers.Scenario("VMT-001"), func() {
	It("leaves a namespace whose ConfigMap has a finalizer nobody removes", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "selftest-leak", Namespace: ns, Finalizers: []string{SelfTestLeakFinalizer}}}
		Expect(framework.Admin().Client.Create(ctx, cm)).To(Succeed())
	})
})
