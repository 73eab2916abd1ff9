package scale

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 90: 90 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond} {
		if got := percentile(d, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if got := percentile(d[:1], 99); got != time.Millisecond {
		t.Errorf("p99 of one = %v", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of none = %v", got)
	}
}

// overlapWait bounds how long the first call waits for a second one to be in flight; a Run
// that never calls concurrently ends the wait and fails the concurrency check.
const overlapWait = 10 * time.Second

func TestRunCountsEveryCallOnceAndItsFailures(t *testing.T) {
	var seen [50]atomic.Int32
	var inFlight, peak atomic.Int32
	overlap := make(chan struct{})
	var once sync.Once
	ctx, cancel := context.WithTimeout(context.Background(), overlapWait)
	defer cancel()
	f := Run(ctx, 50, 4, func(ctx context.Context, i int) (int, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		seen[i].Add(1)
		if n >= 2 {
			once.Do(func() { close(overlap) })
		}
		select { // calls stay in flight until two overlap: the peak check below is deterministic
		case <-overlap:
		case <-ctx.Done():
		}
		switch i {
		case 7:
			return 429, nil
		case 9:
			return 0, errors.New("connection refused")
		}
		return 200, nil
	})
	for i := range seen {
		if seen[i].Load() != 1 {
			t.Fatalf("call %d made %d times", i, seen[i].Load())
		}
	}
	if peak.Load() < 2 || peak.Load() > 4 {
		t.Errorf("peak concurrency %d, want 2..4", peak.Load())
	}
	if f.Calls != 50 || f.Clients != 4 || f.Errors != 2 || f.Statuses[429] != 1 || f.Statuses[0] != 1 {
		t.Fatalf("figures %+v", f)
	}
	if !(f.P50 > 0 && f.P50 <= f.P90 && f.P90 <= f.P99 && f.P99 <= f.Max) || f.Rate() <= 0 {
		t.Fatalf("latencies out of order: %s", f)
	}
	if s := f.String(); !strings.Contains(s, "HTTP 0 ×1, HTTP 429 ×1") || !strings.Contains(s, "first: call 7: HTTP 429") {
		t.Errorf("String() = %s", s)
	}
}

func TestRunStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := Run(ctx, 10, 1, func(_ context.Context, i int) (int, error) {
		if i == 2 {
			cancel()
		}
		return 200, nil
	})
	if f.Errors != 7 || f.Statuses[0] != 7 || !strings.Contains(f.FirstError, "call 3 not made") {
		t.Fatalf("figures %+v", f)
	}
}

func TestCheckNamesValueAndThreshold(t *testing.T) {
	f := Figures{Calls: 50, Clients: 1, Wall: 10 * time.Second, P99: 900 * time.Millisecond, Errors: 1}
	got := f.Check("sequential /process", "calls/s", Thresholds{MinRate: 100, MaxP99: 500 * time.Millisecond})
	want := []string{
		"sequential /process: 5.0 calls/s is below the minimum of 100 calls/s",
		"sequential /process: p99 900ms is above the maximum of 500ms",
		"sequential /process: 1 failed calls, at most 0 allowed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Check:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := f.Check("x", "calls/s", Thresholds{MinRate: 5, MaxP99: time.Second, MaxErrors: 1}); len(got) != 0 {
		t.Fatalf("at the thresholds: %v", got)
	}
}

func TestRowRatiosToTheFloor(t *testing.T) {
	floor := Figures{Calls: 100, Wall: 100 * time.Millisecond, P50: time.Millisecond}
	f := Figures{Calls: 100, Clients: 4, Wall: 400 * time.Millisecond, P50: 3 * time.Millisecond, P99: 12345 * time.Microsecond}
	row := f.Row("concurrent", &floor)
	if row["per_s"] != 250.0 || row["per_s_vs_floor"] != 0.25 || row["p50_vs_floor"] != 3.0 || row["p99_ms"] != 12.35 || row["mode"] != "concurrent" {
		t.Fatalf("row %v", row)
	}
	if _, ok := f.Row("sequential", nil)["per_s_vs_floor"]; ok {
		t.Fatal("ratio without a floor")
	}
}
