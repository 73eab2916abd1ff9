package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// Progress: the runner passes ginkgo -v and reads ginkgo's output as it streams. With -p,
// the ginkgo CLI prints each spec as one block when the spec ends (never interleaved):
//
//	• [FAILED] [0.120 seconds]
//	<container text> [VMT-003, tier1, ...] <spec text>
//
// After every block the runner prints one line: specs done of the plan (from the dry
// run), failures so far, which scenario just finished a spec and which scenarios still have
// specs to run. A spec that runs long is named by ginkgo's own --poll-progress-after report.
// Everything ginkgo prints is passed through unchanged.

var (
	ansi           = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	specHeader     = regexp.MustCompile(`^•(?: \[([A-Z]+)\])?(?: \[FLAKEY TEST[^\]]*\])? \[[0-9.]+ seconds\]$`)
	scenarioLabel  = regexp.MustCompile(`^VMT-[0-9]{3}$`)
	scenarioInText = regexp.MustCompile(`\bVMT-[0-9]{3}\b`)
)

type progress struct {
	out       io.Writer
	total     int
	remaining map[string]int // scenario -> specs still to finish
	done      int
	failed    int
	pending   string // state of the spec whose header was just seen; "" when none
	lookahead int    // lines left in which to find its scenario id
}

func newProgress(out io.Writer, plan []plannedSpec) *progress {
	p := &progress{out: out, total: len(plan), remaining: map[string]int{}}
	for _, s := range plan {
		p.remaining[orDefault(s.Scenario, "(none)")]++
	}
	return p
}

// stream copies r to p.out line by line, adding a progress line after each spec.
func (p *progress) stream(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(p.out, line)
		p.observe(line)
	}
	return sc.Err()
}

func (p *progress) observe(line string) {
	plain := strings.TrimSpace(ansi.ReplaceAllString(line, ""))
	if m := specHeader.FindStringSubmatch(plain); m != nil {
		p.pending = m[1]
		if p.pending == "" {
			p.pending = "PASSED"
		}
		p.lookahead = 3
		return
	}
	if p.pending == "" || plain == "" {
		return
	}
	id := scenarioInText.FindString(plain)
	p.lookahead--
	if id == "" && p.lookahead > 0 {
		return
	}
	p.finish(orDefault(id, "(none)"), p.pending)
	p.pending = ""
}

func (p *progress) finish(scenario, state string) {
	p.done++
	if state != "PASSED" {
		p.failed++
	}
	if p.remaining[scenario] > 0 {
		p.remaining[scenario]--
	}
	left := p.total - p.done
	if left < 0 {
		left = 0
	}
	fmt.Fprintf(p.out, "▸ vmt-e2e: %d/%d specs done, %d failed, %d remain; %s %s%s\n",
		p.done, p.total, p.failed, left, scenario, strings.ToLower(state), p.still())
}

// still names the scenarios with specs left, the busiest first, at most six.
func (p *progress) still() string {
	type sc struct {
		id string
		n  int
	}
	var open []sc
	for id, n := range p.remaining {
		if n > 0 {
			open = append(open, sc{id, n})
		}
	}
	if len(open) == 0 {
		return ""
	}
	sort.Slice(open, func(i, j int) bool {
		if open[i].n != open[j].n {
			return open[i].n > open[j].n
		}
		return open[i].id < open[j].id
	})
	var parts []string
	for i, s := range open {
		if i == 6 {
			parts = append(parts, fmt.Sprintf("+%d more", len(open)-6))
			break
		}
		parts = append(parts, fmt.Sprintf("%s×%d", s.id, s.n))
	}
	return "; to go: " + strings.Join(parts, " ")
}
