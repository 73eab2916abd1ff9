package main

import (
	"strings"
	"testing"

	"github.com/vmt-conformance/vmt-conformance/tiers"
)

func TestPrintScaleOrdersTheFigures(t *testing.T) {
	var b strings.Builder
	printScale(&b, []tiers.ScaleTable{{
		Name:    "scale:process",
		Columns: []string{"spec", "calls", "extra", "mode", "p50_ms", "per_s"},
		Rows:    [][]string{{"VMT-024 serves /process", "1000", "x", "sequential", "2.17", "411.1"}},
	}})
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "== scale:process" {
		t.Fatalf("output:\n%s", b.String())
	}
	if got := strings.Fields(lines[1]); strings.Join(got, " ") != "mode calls per_s p50_ms extra spec" {
		t.Errorf("header %q", lines[1])
	}
	if got := strings.Fields(lines[2]); strings.Join(got, " ") != "sequential 1000 411.1 2.17 x VMT-024 serves /process" {
		t.Errorf("row %q", lines[2])
	}
}
