package bad

import (
	"context"
	"time"

	. "github.com/onsi/gomega"

	"github.com/vmt-conformance/vmt-conformance/framework/wait"
)

// Unbounded and literal waits: each line marked want must be reported, with that text.
func unbounded(ctx context.Context, get func(context.Context) (bool, error), g Gomega) {
	Eventually(get).WithContext(ctx).Should(BeTrue())                              // want "Eventually without a named timeout"
	Consistently(get).WithContext(ctx).Should(BeFalse())                           // want "Consistently without a named timeout"
	Eventually(get).WithContext(ctx).WithPolling(wait.Poll).Should(BeTrue())       // want "Eventually without a named timeout"
	Eventually(get).WithContext(ctx).WithTimeout(5 * time.Second).Should(BeTrue()) // want "literal duration 5 * time.Second in Eventually"
	Consistently(get).WithContext(ctx).Within(time.Second).Should(BeFalse())       // want "literal duration time.Second in Consistently"
	Eventually(get, "5s").Should(BeTrue())                                         // want "literal duration \"5s\" in Eventually"
	Eventually(ctx, get, wait.Short, 100*time.Millisecond).Should(BeTrue())        // want "literal duration 100 * time.Millisecond in Eventually"
	EventuallyWithOffset(1, get).WithContext(ctx).Should(BeTrue())                 // want "Eventually without a named timeout"
	g.Eventually(get).Should(BeTrue())                                             // want "Eventually without a named timeout"
	timeout := wait.Short
	Eventually(get).WithContext(ctx).WithTimeout(timeout).Should(BeTrue())                                 // want "duration timeout in Eventually is not a named interval"
	Eventually(get).WithContext(ctx).WithTimeout(wait.Soon).Should(BeTrue())                               // want "duration wait.Soon in Eventually is not a named interval"
	Eventually(get).WithContext(ctx).WithTimeout(wait.Short).ProbeEvery(time.Millisecond).Should(BeTrue()) // want "literal duration time.Millisecond in Eventually"

	Eventually(get).WithContext(ctx).WithTimeout(wait.Short).ShouldNot(wait.Reach(BeTrue(), wait.Deleting)) // want "ShouldNot(wait.Reach(...)) in Eventually"

	// A chain over several lines is reported at its first line.
	Consistently(get). // want "Consistently without a named timeout"
				WithContext(ctx).
				Should(BeFalse())
}

// A helper that returns the wait for its caller to bound is reported where it is built.
func helper(get func(context.Context) (bool, error)) AsyncAssertion {
	return Eventually(get) // want "Eventually without a named timeout"
}
