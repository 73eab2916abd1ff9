// Package catalogue checks the suite's specs against tiers/scenarios.yaml without a
// cluster; the check is in catalogue_test.go.
package catalogue
