// Package scale measures calls against the cluster for the scale lane (VMT-024): N calls by C
// clients, their rate, latency percentiles and failures, and the figures' ratios to a
// baseline measured in the same run. It knows nothing of templates: a call is a function that
// answers with an HTTP status.
package scale

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Call makes the i-th call (0 ≤ i < N) and returns the HTTP status it got; err is set when no
// status came back (or the status is an error, if the caller prefers).
type Call func(ctx context.Context, i int) (status int, err error)

// Figures are the outcome of one measurement.
type Figures struct {
	Calls   int
	Clients int
	Wall    time.Duration
	// P50, P90, P99 and Max are latencies of single calls (nearest rank).
	P50, P90, P99, Max time.Duration
	// Errors counts calls without a 2xx status; Statuses counts them by status (0 = no answer).
	Errors   int
	Statuses map[int]int
	// FirstError is the first failed call's error, for the failure message.
	FirstError string
}

// Rate is calls per second over the wall time.
func (f Figures) Rate() float64 {
	if f.Wall <= 0 {
		return 0
	}
	return float64(f.Calls) / f.Wall.Seconds()
}

// Run makes calls calls with clients concurrent clients, each taking the next index until
// none is left, and measures them. It stops early only when ctx ends; calls not made then
// count as errors.
func Run(ctx context.Context, calls, clients int, call Call) Figures {
	if clients < 1 {
		clients = 1
	}
	clients = min(clients, max(calls, 1))
	latencies := make([]time.Duration, calls)
	statuses := make([]int, calls)
	errs := make([]error, calls)
	made := make([]bool, calls)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= calls {
					return
				}
				began := time.Now()
				statuses[i], errs[i] = call(ctx, i)
				latencies[i] = time.Since(began)
				made[i] = true
			}
		}()
	}
	wg.Wait()
	f := Figures{Calls: calls, Clients: clients, Wall: time.Since(start), Statuses: map[int]int{}}
	var done []time.Duration
	for i := range calls {
		if !made[i] {
			f.Errors++
			f.Statuses[0]++
			if f.FirstError == "" {
				f.FirstError = fmt.Sprintf("call %d not made: %v", i, ctx.Err())
			}
			continue
		}
		done = append(done, latencies[i])
		if errs[i] != nil || statuses[i] < 200 || statuses[i] > 299 {
			f.Errors++
			f.Statuses[statuses[i]]++
			if f.FirstError == "" {
				f.FirstError = fmt.Sprintf("call %d: HTTP %d: %v", i, statuses[i], errs[i])
			}
		}
	}
	slices.Sort(done)
	f.P50, f.P90, f.P99 = percentile(done, 50), percentile(done, 90), percentile(done, 99)
	if len(done) > 0 {
		f.Max = done[len(done)-1]
	}
	return f
}

// percentile is the nearest-rank p-th percentile of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

// Row is the figures as a report row (a "scale:*" ReportEntry value): absolutes in calls/s
// and milliseconds, and, against floor, the rate and p50 as ratios (rate 0.5 = half the
// floor's calls/s; p50 3.0 = three times the floor's median latency).
func (f Figures) Row(mode string, floor *Figures) map[string]any {
	row := map[string]any{
		"mode":    mode,
		"calls":   f.Calls,
		"clients": f.Clients,
		"wall_s":  round(f.Wall.Seconds(), 3),
		"per_s":   round(f.Rate(), 1),
		"p50_ms":  ms(f.P50),
		"p90_ms":  ms(f.P90),
		"p99_ms":  ms(f.P99),
		"max_ms":  ms(f.Max),
		"errors":  f.Errors,
	}
	if floor != nil {
		if r := floor.Rate(); r > 0 {
			row["per_s_vs_floor"] = round(f.Rate()/r, 3)
		}
		if floor.P50 > 0 {
			row["p50_vs_floor"] = round(float64(f.P50)/float64(floor.P50), 2)
		}
	}
	return row
}

// String is the figures on one line, for failure messages and logs.
func (f Figures) String() string {
	s := fmt.Sprintf("%d calls by %d clients in %v: %.1f calls/s, p50 %v, p90 %v, p99 %v, max %v, %d errors",
		f.Calls, f.Clients, f.Wall.Round(time.Millisecond), f.Rate(), round3(f.P50), round3(f.P90), round3(f.P99), round3(f.Max), f.Errors)
	if f.Errors > 0 {
		var parts []string
		codes := make([]int, 0, len(f.Statuses))
		for c := range f.Statuses {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			parts = append(parts, fmt.Sprintf("HTTP %d ×%d", c, f.Statuses[c]))
		}
		s += fmt.Sprintf(" (%s; first: %s)", strings.Join(parts, ", "), f.FirstError)
	}
	return s
}

// Thresholds are what a measurement must meet.
type Thresholds struct {
	MinRate   float64 // calls/s
	MaxP99    time.Duration
	MaxErrors int
}

// Check returns one line per threshold the figures miss, each naming the measured value and
// the threshold; what is the measurement's name ("sequential /process").
func (f Figures) Check(what, unit string, t Thresholds) []string {
	var out []string
	if f.Rate() < t.MinRate {
		out = append(out, fmt.Sprintf("%s: %.1f %s is below the minimum of %g %s", what, f.Rate(), unit, t.MinRate, unit))
	}
	if f.P99 > t.MaxP99 {
		out = append(out, fmt.Sprintf("%s: p99 %v is above the maximum of %v", what, round3(f.P99), t.MaxP99))
	}
	if f.Errors > t.MaxErrors {
		out = append(out, fmt.Sprintf("%s: %d failed calls, at most %d allowed", what, f.Errors, t.MaxErrors))
	}
	return out
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 2) }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// round3 keeps three significant digits of sub-second latencies readable.
func round3(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
