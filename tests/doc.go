// Package tests holds the suite's Ginkgo specs, one non-test file per STP area
// (`var _ = Describe(..., tiers.Scenario("VMT-NNN"), ...)`); tests/suite_test.go runs them.
// Keeping the specs in non-test files lets other binaries, such as the catalogue check in
// tests/catalogue, import the package and list the specs with ginkgo.PreviewSpecs.
package tests
