package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input is one clear line on stderr and exit status 2.
func TestBadInput(t *testing.T) {
	empty := t.TempDir()
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"missing directory": {[]string{"--artifacts", filepath.Join(empty, "nope")}, "does not exist"},
		"no report.json":    {[]string{"--artifacts", empty}, "has no report.json"},
		"stray argument":    {[]string{"--artifacts", empty, "extra"}, "unexpected arguments"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], tc.want) || !strings.HasPrefix(lines[0], "vmt-report: ") {
				t.Errorf("exit %d, stderr %q; want 2 and one line containing %q", code, stderr.String(), tc.want)
			}
		})
	}
}

// A one-spec run against the embedded catalogue: every file is written, and the P0
// scenarios without a spec make it NOT READY (exit 1).
func TestGeneratesEveryFile(t *testing.T) {
	dir := t.TempDir()
	report := `[{"SuitePath":"/x/tests","SuiteDescription":"vmt-conformance","SuiteSucceeded":true,
	  "StartTime":"2026-11-24T08:00:00Z","EndTime":"2026-11-24T08:01:00Z",
	  "SuiteConfig":{"LabelFilter":"(P0 || P1) && !upgrade-pre && !upgrade-post && !scale"},
	  "SpecReports":[{"LeafNodeType":"It","LeafNodeText":"serves the APIs","State":"passed",
	    "ContainerHierarchyTexts":["Environment readiness"],"ContainerHierarchyLabels":[["VMT-016","tier1","P0","CNV-73392"]],
	    "LeafNodeLocation":{"FileName":"/x/tests/readiness.go","LineNumber":22}}]}]`
	if err := os.WriteFile(filepath.Join(dir, "report.json"), []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--artifacts", dir}, &stdout, &stderr); code != 1 {
		t.Errorf("exit %d, want 1 (other P0 scenarios have no spec); stderr %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "== GA readiness: NOT READY") {
		t.Errorf("stdout %s", stdout.String())
	}
	for _, f := range []string{"junit.xml", "traceability.md", "traceability.html", "ga-readiness.md", "ga-readiness.html", "ga-readiness.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
