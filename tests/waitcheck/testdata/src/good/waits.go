package good

import (
	"context"

	. "github.com/onsi/gomega"

	w "github.com/vmt-conformance/vmt-conformance/framework/wait"
)

// Bounded waits with named intervals only: nothing to report.
func bounded(ctx context.Context, get func(context.Context) (bool, error), g Gomega) {
	Eventually(get).WithContext(ctx).WithTimeout(w.Medium).Should(BeTrue())
	Eventually(get).WithContext(ctx).WithTimeout(w.Long).WithPolling(w.Poll).Should(BeTrue())
	Consistently(get).WithContext(ctx).Within(w.Short).ProbeEvery(w.Poll).Should(BeFalse())
	Eventually(ctx, get, w.VMStart).Should(BeTrue())
	Eventually(get, (w.Request)).Should(BeTrue())
	EventuallyWithOffset(1, get).WithContext(ctx).WithTimeout(w.Short).Should(BeTrue())
	g.Consistently(get).WithTimeout(w.Short).Should(BeFalse())
	Eventually(get).WithContext(ctx).WithTimeout(w.Long).Should(w.Reach(BeTrue(), w.Deleting))
	Eventually(get).WithContext(ctx).WithTimeout(w.Short).ShouldNot(BeTrue()) // negated without Reach
	Eventually(func(g Gomega) {
		g.Eventually(get).WithTimeout(w.Short).Should(BeTrue())
	}).WithContext(ctx).WithTimeout(w.Medium).Should(Succeed())
}
