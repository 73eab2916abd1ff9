package main

import (
	"strings"
	"testing"
	"time"
)

func TestSummary(t *testing.T) {
	wait := failure{"unit", "./framework/wait TestPoll", "wait_test.go:42: want 3 polls, got 2"}
	wait2 := failure{"unit", "./framework/wait TestPoll", "wait_test.go:42: want 3 polls, got 1"}
	spec := failure{"lane hermetic", "VMT-004 process as a viewer is forbidden", "tests/process.go:88: Expected"}
	rounds := []roundResult{
		{N: 1, Duration: 5*time.Minute + 52*time.Second, Steps: []stepResult{
			{Name: "unit", Ran: true, Duration: 3*time.Minute + 12*time.Second, Failures: []failure{wait}},
			{Name: "lane hermetic", Ran: true, OK: true, Duration: 2*time.Minute + 40*time.Second}}},
		{N: 2, Duration: 5 * time.Minute, Steps: []stepResult{
			{Name: "unit", Ran: true, OK: true, Duration: 3 * time.Minute},
			{Name: "lane hermetic", Ran: true, OK: true, Duration: 2 * time.Minute}}},
		{N: 3, Duration: 45 * time.Minute, Note: "round timeout 45m0s", Steps: []stepResult{
			{Name: "unit", Ran: true, Duration: 45 * time.Minute, Failures: []failure{wait2, spec}},
			{Name: "lane hermetic"}}},
	}
	var b strings.Builder
	printSummary(&b, rounds, 5, []string{"unit", "lane hermetic"})
	want := `== stress summary: 3 of 5 rounds run, 2 failed
   round  result  time   unit        lane hermetic
   1      FAIL    5m52s  FAIL 3m12s  PASS 2m40s
   2      PASS    5m0s   PASS 3m0s   PASS 2m0s
   3      FAIL    45m0s  FAIL 45m0s  -              (round timeout 45m0s)
== failed at least once: 2
   unit: ./framework/wait TestPoll
      failed in 2/3 rounds (rounds 1, 3); first: wait_test.go:42: want 3 polls, got 2
   lane hermetic: VMT-004 process as a viewer is forbidden
      failed in 1/3 rounds (round 3); first: tests/process.go:88: Expected
`
	if b.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestSummaryAllPassed(t *testing.T) {
	var b strings.Builder
	printSummary(&b, []roundResult{{N: 1, Duration: time.Second, Steps: []stepResult{{Name: "unit", Ran: true, OK: true, Duration: time.Second}}}}, 1, []string{"unit"})
	if !strings.Contains(b.String(), "1 of 1 rounds run, 0 failed") || !strings.Contains(b.String(), "PASS 1.0s") ||
		!strings.HasSuffix(b.String(), "== no test or spec failed\n") {
		t.Errorf("summary:\n%s", b.String())
	}
}

func TestCollectFlakesCountsARoundOnce(t *testing.T) {
	f := failure{"unit", "./p TestX", "x"}
	flakes := collectFlakes([]roundResult{{N: 4, Steps: []stepResult{{Failures: []failure{f}}, {Failures: []failure{f}}}}})
	if len(flakes) != 1 || len(flakes[0].Rounds) != 1 || flakes[0].Rounds[0] != 4 {
		t.Errorf("flakes: %+v", flakes)
	}
}
