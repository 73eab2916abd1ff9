// Package tiers is the single source of truth for the suite's scenarios, labels and lanes.
//
//   - scenarios.yaml (embedded) is the STP catalogue: one entry per scenario VMT-001…, with
//     Jira and Polarion traceability, tier, priority, scope and required capabilities.
//     Catalogue() reads it.
//   - labels.go is the closed label vocabulary: tiers, priorities, scenario ids, Jira keys,
//     capabilities, behaviour. Known(label) answers membership.
//   - Scenario(id) is the only label a spec writes; it adds tier, priority, Jira, scenario
//     behaviour and required capabilities. Requires(...) and Behaviour(...) add what one
//     spec needs beyond its scenario. Bad values never stop ginkgo at init: they are
//     recorded for RegistrationErrors() and replaced by a sentinel label.
//   - lanes.go holds every lane expression; LabelFilter(lane, missing) is what the runner
//     passes to --label-filter.
//   - CheckCatalogue(specs, strict) is the catalogue check, fed by ginkgo.PreviewSpecs in
//     tests/catalogue.
//
// Decisions:
//
//   - Polarion ids are not labels: there are many, they look like Jira keys (CNV-NNNNN) and
//     they name single test cases, not selections. They are catalogue data per scenario,
//     emitted by the reports as properties; a spec may name the one it implements with
//     "[test_id:CNV-NNNNN]" in its text, which the catalogue check validates.
//   - The serial behaviour label is ginkgo's own "Serial", added by the Serial decorator.
//     A hand-written "serial" label would claim serial execution without getting it, and
//     ginkgo's filters ignore case, so the two could not be told apart in a lane.
//   - Labels match ginkgo's rules (no & | ! , ( ) /, no dangling ':'); the loader checks
//     every catalogue value that becomes a label.
//   - Importing this package imports ginkgo, which registers its -ginkgo.* flags on the
//     default flag set; command-line tools using tiers should parse their own FlagSet.
package tiers
