package apiserver_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// processCalls is how many sequential /process calls one BenchmarkProcess op makes; the
// percentiles are taken over them (targets: p50 ≤ 5 ms, p99 ≤ 20 ms).
const processCalls = 1000

// BenchmarkProcess measures /process through kube-apiserver's aggregator: authentication and
// RBAC there, the proxy hop, delegated authn/authz here, the template read, rendering.
func BenchmarkProcess(b *testing.B) {
	e := newEnv(b)
	e.createTemplate(fedora("fedora"))
	body := `{"parameters":{"NAME":"vm-bench"}}`
	// Warm the connections and the delegated authorization cache, as a running cluster has.
	if a := e.call(nil, "v1beta1", "fedora", "process", body); a.code != http.StatusOK {
		b.Fatalf("warm-up: HTTP %d %v", a.code, a.err)
	}

	latencies := make([]time.Duration, 0, processCalls)
	for b.Loop() {
		for range processCalls {
			start := time.Now()
			a := e.call(nil, "v1beta1", "fedora", "process", body)
			latencies = append(latencies, time.Since(start))
			if a.code != http.StatusOK {
				b.Fatalf("HTTP %d %v", a.code, a.err)
			}
		}
	}
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(ms(percentile(latencies, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(latencies, 99)), "p99-ms")
	b.ReportMetric(float64(len(latencies)), "calls")
}

// vmsPerCreateOp is how many VMs one BenchmarkCreate op makes through /create (target ≤ 15 s).
const vmsPerCreateOp = 500

// BenchmarkCreate creates VMs one after the other through /create, each a template read and
// a VM create with the server's identity; without client-side throttling the server's 5 QPS
// default would make this take minutes.
func BenchmarkCreate(b *testing.B) {
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b)
		e.createTemplate(fedora("fedora"))
		b.StartTimer()
		start := time.Now()
		for i := range vmsPerCreateOp {
			a := e.call(nil, "v1beta1", "fedora", "create", fmt.Sprintf(`{"parameters":{"NAME":"vm-%d"}}`, i))
			if a.code != http.StatusOK {
				b.Fatalf("VM %d: HTTP %d %v", i, a.code, a.err)
			}
		}
		total += time.Since(start)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/500-VMs")
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
