// Command vmt-report generates a run's reports from its artifacts directory: the JUnit with
// traceability properties, the traceability matrix (Markdown, HTML) and the GA-readiness
// report (Markdown, HTML, JSON). It reads report.json (ginkgo's --json-report) and, when
// present, run.json (vmt-e2e) and preflight.json (vmt-nightly).
//
//	vmt-report --artifacts _output/artifacts
//
// Exit status: 0 READY, 1 NOT READY (a P0 scenario failed or did not run, a P1 failed, or
// suite setup failed), 2 bad input (no directory, no or unreadable report.json).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vmt-conformance/vmt-conformance/tiers"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vmt-report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("artifacts", envOr("VMT_ARTIFACTS", "_output/artifacts"), "a run's artifacts directory (env VMT_ARTIFACTS)")
	quiet := fs.Bool("q", false, "print only the verdict line")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vmt-report: unexpected arguments %q; use --artifacts DIR\n", fs.Args())
		return 2
	}
	a, err := tiers.GenerateReports(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "vmt-report:", err)
		var in *tiers.InputError
		if errors.As(err, &in) {
			return 2
		}
		return 3
	}
	PrintVerdict(stdout, a, *dir, *quiet)
	return a.Verdict.ExitCode()
}

// PrintVerdict prints the verdict, its reasons and where the reports are.
func PrintVerdict(w io.Writer, a *tiers.Analysis, dir string, quiet bool) {
	fmt.Fprintf(w, "== GA readiness: %s\n", a.Verdict)
	if quiet {
		return
	}
	for _, b := range a.Verdict.Blockers {
		fmt.Fprintf(w, "   BLOCKER %s\n", b)
	}
	for _, wn := range a.Verdict.Warnings {
		fmt.Fprintf(w, "   warning %s\n", wn)
	}
	fmt.Fprintf(w, "== reports in %s:", dir)
	for _, f := range tiers.ReportFiles() {
		fmt.Fprintf(w, " %s", f)
	}
	fmt.Fprintln(w)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
