package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// What a stress run runs in every round.
const (
	runUnit  = "unit"
	runLanes = "lanes"
	runBoth  = "both"
)

type options struct {
	rounds       int
	hogsPerCore  int
	run          string   // unit, lanes or both
	lanes        []string // lanes run on the local provider
	profiles     []string // local profiles each lane runs on
	pkgs         []string // go test packages; empty: make unit's (every package but ./tests)
	testRun      string   // go test -run
	procs        int      // ginkgo processes of a lane
	roundTimeout time.Duration
	timeout      time.Duration // the whole run
	grace        time.Duration // how long an interrupted step gets to clean up before its process group is killed
	out          string
	skipPrereqs  bool
}

func (o options) runsUnit() bool { return o.run == runUnit || o.run == runBoth }

// defaultProfiles are the local profiles make test runs the hermetic lane on: every one.
var defaultProfiles = local.ProfileNames()

func (o options) runsLanes() bool { return o.run == runLanes || o.run == runBoth }

// parseOptions reads the flags; each error is one line naming the make variable and the flag.
// Values are strings so that a bad one gets our message, not the flag package's.
func parseOptions(args []string) (options, error) {
	fs := flag.NewFlagSet("vmt-stress", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	rounds := fs.String("rounds", "5", "rounds to run (make ROUNDS)")
	hogs := fs.String("hogs", "2", "busy processes per core while the rounds run; 0: no load (make HOGS)")
	run := fs.String("run", runBoth, "what a round runs: unit, lanes or both (make RUN)")
	lanes := fs.String("lanes", "hermetic", "comma-separated lanes, run on the local provider (make LANES)")
	profiles := fs.String("profiles", strings.Join(defaultProfiles, ","), "comma-separated local profiles each lane runs on (make PROFILES)")
	pkgs := fs.String("pkgs", "", "space- or comma-separated go test packages; default: make unit's, every package but ./tests (make PKGS)")
	testRun := fs.String("test-run", "", "go test -run expression (make TESTS)")
	procs := fs.String("procs", "2", "ginkgo processes of a lane (make PROCS)")
	roundTimeout := fs.String("round-timeout", "45m", "timeout of one round (make ROUND_TIMEOUT)")
	timeout := fs.String("timeout", "4h", "timeout of the whole run (make STRESS_TIMEOUT)")
	grace := fs.String("grace", "2m", "how long an interrupted step may clean up before its processes are killed")
	out := fs.String("out", "_output/stress", "directory for the rounds' logs and artifacts (make STRESS_OUT)")
	skip := fs.Bool("skip-prereqs", false, "do not run `make cluster-binaries lane-binaries tools` first")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return options{}, errHelp(fs)
		}
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o := options{run: *run, testRun: *testRun, out: *out, skipPrereqs: *skip}
	var err error
	if o.rounds, err = count("ROUNDS (--rounds)", *rounds, 1); err != nil {
		return o, err
	}
	if o.hogsPerCore, err = count("HOGS (--hogs, busy processes per core)", *hogs, 0); err != nil {
		return o, err
	}
	if o.procs, err = count("PROCS (--procs)", *procs, 1); err != nil {
		return o, err
	}
	if o.roundTimeout, err = duration("ROUND_TIMEOUT (--round-timeout)", *roundTimeout); err != nil {
		return o, err
	}
	if o.timeout, err = duration("STRESS_TIMEOUT (--timeout)", *timeout); err != nil {
		return o, err
	}
	if o.grace, err = duration("--grace", *grace); err != nil {
		return o, err
	}
	switch o.run {
	case runUnit, runLanes, runBoth:
	default:
		return o, fmt.Errorf("RUN (--run) must be unit, lanes or both, got %q", o.run)
	}
	o.lanes = fields(*lanes)
	for _, l := range o.lanes {
		if _, err := tiers.Lane(l); err != nil {
			return o, fmt.Errorf("LANES (--lanes): %v", err)
		}
	}
	if o.runsLanes() && len(o.lanes) == 0 {
		return o, fmt.Errorf("LANES (--lanes) is empty but RUN=%s runs lanes", o.run)
	}
	o.profiles = fields(*profiles)
	for _, p := range o.profiles {
		if _, err := local.LookupProfile(p); err != nil {
			return o, fmt.Errorf("PROFILES (--profiles): %v", err)
		}
	}
	if o.runsLanes() && len(o.profiles) == 0 {
		return o, fmt.Errorf("PROFILES (--profiles) is empty but RUN=%s runs lanes", o.run)
	}
	o.pkgs = fields(*pkgs)
	if o.out == "" {
		return o, fmt.Errorf("STRESS_OUT (--out) is empty")
	}
	return o, nil
}

func count(name, v string, min int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < min {
		return 0, fmt.Errorf("%s must be a whole number >= %d, got %q", name, min, v)
	}
	return n, nil
}

func duration(name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s must be a positive duration such as 30m or 1h30m, got %q", name, v)
	}
	return d, nil
}

func fields(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

type helpError struct{ usage string }

func (h helpError) Error() string { return h.usage }

func errHelp(fs *flag.FlagSet) error {
	var b strings.Builder
	b.WriteString("usage: vmt-stress [flags]   (or: make stress ROUNDS=5 HOGS=2 RUN=both ...)\n")
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return helpError{b.String()}
}
