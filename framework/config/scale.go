package config

import (
	"flag"
	"fmt"
	"time"
)

// Scale sizes the scale lane's measurements (VMT-024) and holds the thresholds a run must
// meet. The defaults are far below what a server without a client-side rate limit does on
// two cores (the reference server: ~500 /process calls/s, ~150 VMs/s through /create) and
// far above a server stuck at client-go's default of 5 QPS, which is what they exist to catch.
type Scale struct {
	// ProcessCalls is N, the number of /process calls of each measurement.
	ProcessCalls int
	// Clients is C, the concurrent clients of the concurrent measurements.
	Clients int
	// VMs is M, the number of VMs each bulk /create makes.
	VMs int
	// MinProcessRate is the lowest acceptable /process rate (calls/s), sequential and concurrent.
	MinProcessRate float64
	// MinCreateRate is the lowest acceptable /create rate (VMs/s), sequential and concurrent.
	MinCreateRate float64
	// MaxP99 is the highest acceptable 99th-percentile latency of /process and /create.
	MaxP99 time.Duration
	// MaxErrors is how many calls may fail (non-2xx or no answer) per measurement.
	MaxErrors int
}

func (s *Scale) register(c *Config, fs *flag.FlagSet) {
	c.integer(fs, &s.ProcessCalls, "vmt.scale.process-calls", "VMT_SCALE_PROCESS_CALLS", 1000, "scale lane: /process calls per measurement (N)")
	c.integer(fs, &s.Clients, "vmt.scale.clients", "VMT_SCALE_CLIENTS", 4, "scale lane: concurrent clients (C)")
	c.integer(fs, &s.VMs, "vmt.scale.vms", "VMT_SCALE_VMS", 500, "scale lane: VMs per bulk /create (M)")
	c.float(fs, &s.MinProcessRate, "vmt.scale.min-process-rps", "VMT_SCALE_MIN_PROCESS_RPS", 100, "scale lane: minimum /process calls/s")
	c.float(fs, &s.MinCreateRate, "vmt.scale.min-create-rps", "VMT_SCALE_MIN_CREATE_RPS", 20, "scale lane: minimum VMs/s through /create")
	c.duration(fs, &s.MaxP99, "vmt.scale.max-p99", "VMT_SCALE_MAX_P99", 500*time.Millisecond, "scale lane: maximum p99 latency of /process and /create")
	c.integer(fs, &s.MaxErrors, "vmt.scale.max-errors", "VMT_SCALE_MAX_ERRORS", 0, "scale lane: calls that may fail per measurement")
}

func (s *Scale) validate() []error {
	var errs []error
	positive := func(name string, v int) {
		if v < 1 {
			errs = append(errs, fmt.Errorf("--vmt.scale.%s=%d: want at least 1", name, v))
		}
	}
	positive("process-calls", s.ProcessCalls)
	positive("clients", s.Clients)
	positive("vms", s.VMs)
	if s.MinProcessRate < 0 || s.MinCreateRate < 0 || s.MaxErrors < 0 {
		errs = append(errs, fmt.Errorf("scale thresholds must not be negative (min-process-rps %g, min-create-rps %g, max-errors %d)", s.MinProcessRate, s.MinCreateRate, s.MaxErrors))
	}
	if s.MaxP99 <= 0 {
		errs = append(errs, fmt.Errorf("--vmt.scale.max-p99=%v: want a positive duration", s.MaxP99))
	}
	return errs
}
