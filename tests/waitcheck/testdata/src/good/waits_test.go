package good

import (
	"context"

	. "github.com/onsi/gomega"
)

// Test files are not the suite's specs: not checked.
func unboundedInATest(ctx context.Context, get func(context.Context) (bool, error)) {
	Eventually(get).WithContext(ctx).Should(BeTrue())
}
