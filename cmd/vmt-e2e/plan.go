package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// suiteBinary is the precompiled suite when --suite-binary names one, else --suite compiled
// into dir.
func suiteBinary(ctx context.Context, o options, dir string) (string, error) {
	if o.suiteBinary == "" {
		fmt.Printf("== compiling the suite %s\n", o.suite)
		return compileSuite(ctx, o.suite, dir)
	}
	bin, err := filepath.Abs(o.suiteBinary)
	if err != nil {
		return "", err
	}
	info, err := os.Stat(bin)
	if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		return "", fmt.Errorf("--suite-binary (VMT_SUITE_BINARY) %s: not an executable file (%v)", o.suiteBinary, err)
	}
	fmt.Printf("== precompiled suite %s\n", bin)
	return bin, nil
}

// compileSuite builds the suite once into dir; the dry run (--list, the progress plan) and
// the parallel run all use that binary, so the suite is compiled once per run.
func compileSuite(ctx context.Context, suite, dir string) (string, error) {
	bin := filepath.Join(dir, "vmt-conformance.test")
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, suite)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("compiling the suite %s: %w", suite, err)
	}
	return bin, nil
}

// plannedSpec is a spec a label filter selects, from a dry run.
type plannedSpec struct {
	Scenario string
	Text     string
	Location string
	Requires []string
	file     string
	line     int
}

// dryRun asks the compiled suite which specs filter selects, without a cluster: ginkgo's
// --dry-run walks the spec tree and runs no setup or spec body.
func dryRun(ctx context.Context, bin, filter string) (selected []plannedSpec, total int, err error) {
	tmp, err := os.MkdirTemp("", "vmt-dry-run-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(tmp)
	report := filepath.Join(tmp, "dry-run.json")
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--ginkgo.dry-run", "--ginkgo.silence-skips", "--ginkgo.no-color",
		"--ginkgo.label-filter="+filter, "--ginkgo.json-report="+report,
		// local: the suite's configuration check needs no kubeconfig; nothing is started.
		"-vmt.provider=local")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("dry run of the suite: %w\n%s", err, out.String())
	}
	reports, err := tiers.ReadGinkgoReport(report)
	if err != nil {
		return nil, 0, err
	}
	for _, r := range reports {
		for _, sr := range r.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt {
				continue
			}
			total++
			if sr.State != types.SpecStatePassed { // a dry run "passes" what it would run
				continue
			}
			p := plannedSpec{Text: sr.FullText(), Location: shortLocation(sr.LeafNodeLocation),
				file: sr.LeafNodeLocation.FileName, line: sr.LeafNodeLocation.LineNumber}
			for _, l := range sr.Labels() {
				switch {
				case scenarioLabel.MatchString(l) && p.Scenario == "":
					p.Scenario = l
				case tiers.IsCapability(l) && !slices.Contains(p.Requires, l):
					p.Requires = append(p.Requires, l)
				}
			}
			selected = append(selected, p)
		}
	}
	slices.SortStableFunc(selected, func(a, b plannedSpec) int {
		if c := strings.Compare(a.Scenario, b.Scenario); c != 0 {
			return c
		}
		if c := strings.Compare(a.file, b.file); c != 0 {
			return c
		}
		return a.line - b.line
	})
	return selected, total, nil
}

func shortLocation(l types.CodeLocation) string {
	return fmt.Sprintf("%s:%d", filepath.Join(filepath.Base(filepath.Dir(l.FileName)), filepath.Base(l.FileName)), l.LineNumber)
}

// declaredMissing returns the capabilities VMT_CAPABILITIES declares missing ("-guest"):
// without a provider, the only ones --list can know of.
func declaredMissing(decl string) ([]string, error) {
	caps := cluster.NewCapabilities()
	for _, c := range cluster.All {
		caps.Set(c, true, "")
	}
	if err := caps.Override(decl); err != nil {
		return nil, err
	}
	var out []string
	for _, c := range caps.Missing() {
		out = append(out, c.Label())
	}
	return out, nil
}

// printList prints what --list shows: the lane's expression, the filter used and, per
// scenario, the specs it selects with the capabilities each needs.
func printList(w io.Writer, lane, expr, filter string, specs []plannedSpec, total int) {
	fmt.Fprintf(w, "== lane %s: %s\n", lane, expr)
	if filter != expr {
		fmt.Fprintf(w, "   label filter (with the capabilities VMT_CAPABILITIES declares missing): %s\n", filter)
	}
	fmt.Fprintf(w, "   the runner also adds && !requires-X for each capability the provider lacks, and prints them;\n")
	fmt.Fprintf(w, "   with plain ginkgo: ginkgo -p --randomize-all --label-filter='%s' ./tests\n", filter)
	scenarios := map[string]bool{}
	for _, s := range specs {
		scenarios[s.Scenario] = true
	}
	fmt.Fprintf(w, "== %d of %d specs, %d scenarios\n", len(specs), total, len(scenarios))
	cat := tiers.Catalogue()
	last := "\x00"
	for _, s := range specs {
		if s.Scenario != last {
			last = s.Scenario
			if info, ok := cat.Lookup(s.Scenario); ok {
				fmt.Fprintf(w, "%s  %s (%s, %s)\n", info.ID, info.Title, info.Tier, info.Priority)
			} else {
				fmt.Fprintf(w, "%s\n", orDefault(s.Scenario, "(no scenario)"))
			}
		}
		req := ""
		if len(s.Requires) > 0 {
			req = "  [needs " + strings.Join(s.Requires, ", ") + "]"
		}
		fmt.Fprintf(w, "   %-28s %s%s\n", s.Location, s.Text, req)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
