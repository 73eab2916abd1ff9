package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// stepResult is one step of a round: the unit tests or one lane.
type stepResult struct {
	Name     string // "unit", "lane hermetic"
	Ran      bool   // false: not started (round or run over before it)
	OK       bool
	Duration time.Duration
	Note     string // "12 failed", "timed out: round timeout 45m0s", ...
	Log      string // where its log is
	Failures []failure
}

func (s stepResult) status() string {
	switch {
	case !s.Ran:
		return "-"
	case s.OK:
		return "PASS"
	}
	return "FAIL"
}

type roundResult struct {
	N        int
	Duration time.Duration
	Steps    []stepResult
	Note     string // why the round ended early
}

func (r roundResult) OK() bool {
	if r.Note != "" {
		return false
	}
	for _, s := range r.Steps {
		if !s.OK {
			return false
		}
	}
	return true
}

// flake is a test or spec that failed in at least one round.
type flake struct {
	Step, Name string
	First      string // the failure line of the first round it failed in
	Rounds     []int
}

// collectFlakes lists every failure of the rounds once, with the rounds it failed in,
// most frequent first, then by step and name.
func collectFlakes(rounds []roundResult) []flake {
	byKey := map[string]*flake{}
	var order []*flake
	for _, r := range rounds {
		for _, s := range r.Steps {
			for _, f := range s.Failures {
				fl := byKey[f.key()]
				if fl == nil {
					fl = &flake{Step: f.Step, Name: f.Name, First: f.Line}
					byKey[f.key()] = fl
					order = append(order, fl)
				}
				if n := len(fl.Rounds); n == 0 || fl.Rounds[n-1] != r.N {
					fl.Rounds = append(fl.Rounds, r.N)
				}
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if len(a.Rounds) != len(b.Rounds) {
			return len(a.Rounds) > len(b.Rounds)
		}
		if a.Step != b.Step {
			return a.Step < b.Step
		}
		return a.Name < b.Name
	})
	out := make([]flake, len(order))
	for i, f := range order {
		out[i] = *f
	}
	return out
}

// printSummary prints the rounds table and the failures; planned is the number of rounds
// asked for (rounds not run show as such).
func printSummary(w io.Writer, rounds []roundResult, planned int, stepNames []string) {
	fmt.Fprintf(w, "== stress summary: %d of %d rounds run, %d failed\n", len(rounds), planned, failedRounds(rounds))
	header := []string{"round", "result", "time"}
	header = append(header, stepNames...)
	rows := [][]string{header}
	for _, r := range rounds {
		res := "PASS"
		if !r.OK() {
			res = "FAIL"
		}
		row := []string{fmt.Sprint(r.N), res, fmtDuration(r.Duration)}
		for _, name := range stepNames {
			cell := "-"
			for _, s := range r.Steps {
				if s.Name == name && s.Ran {
					cell = s.status() + " " + fmtDuration(s.Duration)
				}
			}
			row = append(row, cell)
		}
		if r.Note != "" {
			row = append(row, "("+r.Note+")")
		}
		rows = append(rows, row)
	}
	printTable(w, "   ", rows)
	flakes := collectFlakes(rounds)
	if len(flakes) == 0 {
		if failedRounds(rounds) == 0 {
			fmt.Fprintln(w, "== no test or spec failed")
		}
		return
	}
	fmt.Fprintf(w, "== failed at least once: %d\n", len(flakes))
	for _, f := range flakes {
		fmt.Fprintf(w, "   %s: %s\n", f.Step, f.Name)
		fmt.Fprintf(w, "      failed in %d/%d rounds (%s); first: %s\n", len(f.Rounds), len(rounds), joinInts(f.Rounds), clip(f.First, 300))
	}
}

func failedRounds(rounds []roundResult) int {
	n := 0
	for _, r := range rounds {
		if !r.OK() {
			n++
		}
	}
	return n
}

func printTable(w io.Writer, indent string, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			if i == len(r)-1 {
				b.WriteString(c)
			} else {
				b.WriteString(c + strings.Repeat(" ", widths[i]-len([]rune(c))))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	if len(ns) == 1 {
		return "round " + s[0]
	}
	return "rounds " + strings.Join(s, ", ")
}

func fmtDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
