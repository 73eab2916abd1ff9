// Package previewtest proves, in its own test binary, that ginkgo.PreviewSpecs lists
// specs and their tiers labels without RunSpecs ever being called, and that a bad
// tiers.Scenario id is recorded instead of stopping ginkgo at tree construction.
package previewtest
