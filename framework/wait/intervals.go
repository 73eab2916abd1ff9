// Package wait holds the suite's named intervals (the only place durations are written) and
// getter-style helpers for Eventually/Consistently.
//
// Every interval is a flag -vmt.interval.<name> with an environment variable
// VMT_INTERVAL_<NAME> as its default, and VMT_TIMEOUT_SCALE multiplies all timeouts (slow
// clusters, a loaded CI machine) without touching the polling interval.
package wait

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

var (
	// Poll is how often Eventually and Consistently ask again.
	Poll = 250 * time.Millisecond
	// Short bounds what the API server answers at once: admission, RBAC taking effect,
	// a Consistently that proves nothing happens.
	Short = 5 * time.Second
	// Settle is how long a Consistently watches that nothing appears after a call that must
	// not create anything (a refused /create, a /process): what the call itself creates
	// exists before it answers, so the window only has to cover a late, asynchronous
	// creator (a controller reacting to the call), which on the reference implementation
	// and on clusters acts well inside it.
	Settle = 2 * time.Second
	// Medium bounds a controller's reaction: a condition set, an object created or collected.
	Medium = 60 * time.Second
	// Long bounds multi-step workflows: a capture, a DataVolume import, a component rollout.
	Long = 5 * time.Minute
	// VMStart bounds a VM reaching Ready (a real guest boots on kind and real clusters).
	VMStart = 8 * time.Minute
	// Cleanup bounds the suite's proof of its own cleanup at the end of a run (also after an
	// interrupt): every namespace and cluster-scoped object of the run must be gone by then
	// (framework/cleanup).
	Cleanup = 2 * time.Minute
	// Request bounds one API call of the suite's clients (framework/client), so a server
	// that accepts a request and never answers fails the spec instead of hanging it. Far
	// above what any call takes: a bulk /create on a loaded two-core machine answers in
	// seconds.
	Request = 30 * time.Second
	// Run bounds a whole run: the lifetime of the run's Lease (framework/cleanup), which
	// keeps a run sharing the cluster from deleting this run's objects; once it has passed,
	// a run killed without cleaning up is taken for gone and its objects are cleaned.
	Run = 3 * time.Hour
)

type named struct {
	p    *time.Duration
	name string
	doc  string
}

var intervals = []named{
	{&Poll, "poll", "polling interval of Eventually/Consistently"},
	{&Short, "short", "timeout for immediate API effects"},
	{&Settle, "settle", "how long a Consistently watches that nothing appears after a call that must create nothing"},
	{&Medium, "medium", "timeout for a controller's reaction"},
	{&Long, "long", "timeout for multi-step workflows"},
	{&VMStart, "vm-start", "timeout for a VM to become ready"},
	{&Cleanup, "cleanup", "timeout for everything the run created to be gone at its end"},
	{&Request, "request", "timeout of one API call of the suite's clients"},
	{&Run, "run", "bound on a whole run: how long its lease keeps other runs off its objects"},
}

// Register adds -vmt.interval.* flags to fs; environment problems go to report.
func Register(fs *flag.FlagSet, report func(error)) {
	scale := 1.0
	if v := os.Getenv("VMT_TIMEOUT_SCALE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			report(fmt.Errorf("VMT_TIMEOUT_SCALE=%q must be a positive number", v))
		} else {
			scale = f
		}
	}
	for _, iv := range intervals {
		env := "VMT_INTERVAL_" + strings.ToUpper(strings.ReplaceAll(iv.name, "-", "_"))
		if v := os.Getenv(env); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				report(fmt.Errorf("%s=%q is not a positive duration (e.g. 30s, 2m)", env, v))
			} else {
				*iv.p = d
			}
		}
		if iv.name != "poll" {
			*iv.p = time.Duration(float64(*iv.p) * scale)
		}
		fs.DurationVar(iv.p, "vmt.interval."+iv.name, *iv.p, fmt.Sprintf("%s (env %s)", iv.doc, env))
	}
}

// Validate refuses an interval its flag set to zero or less (the environment variables are
// checked by Register): every wait has a bound, and a request timeout of 0 would mean none.
func Validate() []error {
	var errs []error
	for _, iv := range intervals {
		if *iv.p <= 0 {
			errs = append(errs, fmt.Errorf("--vmt.interval.%s=%v: want a positive duration (every wait needs a bound)", iv.name, *iv.p))
		}
	}
	return errs
}

// Summary describes the intervals in force, for the suite's start-up banner.
func Summary() string {
	parts := make([]string, len(intervals))
	for i, iv := range intervals {
		parts[i] = fmt.Sprintf("%s=%v", iv.name, *iv.p)
	}
	return strings.Join(parts, " ")
}
