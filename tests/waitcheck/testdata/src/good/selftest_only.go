//go:build vmt_selftest

package good

import (
	"context"

	. "github.com/onsi/gomega"
)

// Behind a build tag the default build does not set: not part of any lane, not checked.
func unboundedOnPurpose(ctx context.Context, get func(context.Context) (bool, error)) {
	Eventually(get).WithContext(ctx).Should(BeTrue())
}
