package wait

import (
	"flag"
	"strings"
	"testing"
	"time"
)

// restore puts every interval back after a test that changes them.
func restore(t *testing.T) {
	saved := make([]time.Duration, len(intervals))
	for i, iv := range intervals {
		saved[i] = *iv.p
	}
	t.Cleanup(func() {
		for i, iv := range intervals {
			*iv.p = saved[i]
		}
	})
}

func TestRequestIntervalFromEnvFlagAndScale(t *testing.T) {
	restore(t)
	t.Setenv("VMT_INTERVAL_REQUEST", "4s")
	t.Setenv("VMT_TIMEOUT_SCALE", "2")
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	Register(fs, func(err error) { t.Error(err) })
	if Request != 8*time.Second {
		t.Errorf("VMT_INTERVAL_REQUEST=4s scaled by 2: %v, want 8s", Request)
	}
	if err := fs.Parse([]string{"-vmt.interval.request=3s"}); err != nil {
		t.Fatal(err)
	}
	if Request != 3*time.Second || !strings.Contains(Summary(), "request=3s") {
		t.Errorf("after -vmt.interval.request=3s: %v, summary %q", Request, Summary())
	}
	if errs := Validate(); len(errs) != 0 {
		t.Errorf("valid intervals refused: %v", errs)
	}
}

func TestRequestIntervalMustBePositive(t *testing.T) {
	restore(t)
	t.Setenv("VMT_INTERVAL_REQUEST", "0s")
	var reported []error
	Register(flag.NewFlagSet("test", flag.ContinueOnError), func(err error) { reported = append(reported, err) })
	if len(reported) != 1 || reported[0].Error() != `VMT_INTERVAL_REQUEST="0s" is not a positive duration (e.g. 30s, 2m)` {
		t.Errorf("VMT_INTERVAL_REQUEST=0s reported %v", reported)
	}

	Request = 0 // as -vmt.interval.request=0s would
	errs := Validate()
	if len(errs) != 1 || errs[0].Error() != "--vmt.interval.request=0s: want a positive duration (every wait needs a bound)" {
		t.Errorf("a zero request interval: %v, want one line naming the flag", errs)
	}
}

func TestRunIntervalFromEnvFlagAndScale(t *testing.T) {
	restore(t)
	t.Setenv("VMT_INTERVAL_RUN", "1h")
	t.Setenv("VMT_TIMEOUT_SCALE", "2")
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	Register(fs, func(err error) { t.Error(err) })
	if Run != 2*time.Hour {
		t.Errorf("VMT_INTERVAL_RUN=1h scaled by 2: %v, want 2h", Run)
	}
	if err := fs.Parse([]string{"-vmt.interval.run=90m"}); err != nil {
		t.Fatal(err)
	}
	if Run != 90*time.Minute || !strings.Contains(Summary(), "run=1h30m0s") {
		t.Errorf("after -vmt.interval.run=90m: %v, summary %q", Run, Summary())
	}
	Run = 0 // as -vmt.interval.run=0s would
	if errs := Validate(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "--vmt.interval.run=0s") {
		t.Errorf("a zero run interval: %v, want one line naming the flag", errs)
	}
}
