package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// scaleColumnOrder puts the figures of the scale lane (tests/scale.go) in reading order;
// columns it does not name follow, the spec last.
var scaleColumnOrder = []string{"mode", "calls", "clients", "per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "errors", "wall_s", "per_s_vs_floor", "p50_vs_floor"}

// printScale prints the "scale:*" report entries of the run (the scale lane's figures), one
// table per entry name, as the GA report shows them.
func printScale(w io.Writer, tables []tiers.ScaleTable) {
	for _, t := range tables {
		fmt.Fprintf(w, "== %s\n", t.Name)
		var cols []int
		for _, name := range scaleColumnOrder {
			if i := slices.Index(t.Columns, name); i >= 0 {
				cols = append(cols, i)
			}
		}
		spec := -1
		for i, name := range t.Columns {
			switch {
			case name == "spec":
				spec = i
			case !slices.Contains(scaleColumnOrder, name):
				cols = append(cols, i)
			}
		}
		if spec >= 0 {
			cols = append(cols, spec)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		cells := func(row []string) string {
			out := make([]string, len(cols))
			for j, i := range cols {
				if i < len(row) {
					out[j] = row[i]
				}
			}
			return "   " + strings.Join(out, "\t") + "\t"
		}
		fmt.Fprintln(tw, cells(t.Columns))
		for _, r := range t.Rows {
			fmt.Fprintln(tw, cells(r))
		}
		_ = tw.Flush()
	}
}
