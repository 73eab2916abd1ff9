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
	// Medium bounds a controller's reaction: a condition set, an object created or collected.
	Medium = 60 * time.Second
	// Long bounds multi-step workflows: a capture, a DataVolume import, a component rollout.
	Long = 5 * time.Minute
	// VMStart bounds a VM reaching Ready (a real guest boots on kind and real clusters).
	VMStart = 8 * time.Minute
)

type named struct {
	p    *time.Duration
	name string
	doc  string
}

var intervals = []named{
	{&Poll, "poll", "polling interval of Eventually/Consistently"},
	{&Short, "short", "timeout for immediate API effects"},
	{&Medium, "medium", "timeout for a controller's reaction"},
	{&Long, "long", "timeout for multi-step workflows"},
	{&VMStart, "vm-start", "timeout for a VM to become ready"},
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

// Summary describes the intervals in force, for the suite's start-up banner.
func Summary() string {
	parts := make([]string, len(intervals))
	for i, iv := range intervals {
		parts[i] = fmt.Sprintf("%s=%v", iv.name, *iv.p)
	}
	return strings.Join(parts, " ")
}
