package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	o, err := parseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := options{rounds: 5, hogsPerCore: 2, run: runBoth, lanes: []string{"hermetic"}, profiles: []string{"kubevirt-1.8", "kubevirt-1.9"}, procs: 2,
		roundTimeout: 45 * time.Minute, timeout: 4 * time.Hour, grace: 2 * time.Minute, out: "_output/stress"}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", o, want)
	}
	if !o.runsUnit() || !o.runsLanes() {
		t.Error("both should run unit and lanes")
	}
}

func TestOptionsValues(t *testing.T) {
	o, err := parseOptions([]string{"--rounds=20", "--hogs=0", "--run=unit", "--pkgs=./framework/wait, ./tiers", "--test-run=TestPoll",
		"--round-timeout=10m", "--timeout=1h30m", "--lanes=tier1,hermetic"})
	if err != nil {
		t.Fatal(err)
	}
	if o.rounds != 20 || o.hogsPerCore != 0 || !o.runsUnit() || o.runsLanes() || o.testRun != "TestPoll" ||
		!reflect.DeepEqual(o.pkgs, []string{"./framework/wait", "./tiers"}) || !reflect.DeepEqual(o.lanes, []string{"tier1", "hermetic"}) ||
		o.roundTimeout != 10*time.Minute || o.timeout != 90*time.Minute {
		t.Errorf("options: %+v", o)
	}
}

func TestOptionsBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rounds=abc"}, `ROUNDS (--rounds) must be a whole number >= 1, got "abc"`},
		{[]string{"--rounds=0"}, `ROUNDS (--rounds) must be a whole number >= 1, got "0"`},
		{[]string{"--hogs=-1"}, `HOGS (--hogs, busy processes per core) must be a whole number >= 0, got "-1"`},
		{[]string{"--hogs=1.5"}, `HOGS (--hogs, busy processes per core) must be a whole number >= 0, got "1.5"`},
		{[]string{"--procs=0"}, `PROCS (--procs) must be a whole number >= 1, got "0"`},
		{[]string{"--run=all"}, `RUN (--run) must be unit, lanes or both, got "all"`},
		{[]string{"--round-timeout=soon"}, `ROUND_TIMEOUT (--round-timeout) must be a positive duration such as 30m or 1h30m, got "soon"`},
		{[]string{"--timeout=-1h"}, `STRESS_TIMEOUT (--timeout) must be a positive duration such as 30m or 1h30m, got "-1h"`},
		{[]string{"--lanes=nope"}, `LANES (--lanes): tiers: unknown lane "nope"; known lanes: tier1`},
		{[]string{"--lanes=", "--run=lanes"}, `LANES (--lanes) is empty but RUN=lanes runs lanes`},
		{[]string{"--nope"}, `flag provided but not defined: -nope`},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		_, err := parseOptions(c.args)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: got error %v, want one line starting %q", c.args, err, c.want)
		}
	}
}

// Bad input: one line on stderr, exit 2, nothing started.
func TestRunBadInputExits2(t *testing.T) {
	var out, errOut strings.Builder
	if code := run([]string{"--rounds", "abc"}, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if got := errOut.String(); got != "vmt-stress: ROUNDS (--rounds) must be a whole number >= 1, got \"abc\"\n" || out.Len() != 0 {
		t.Errorf("stderr %q, stdout %q", got, out.String())
	}
	var help strings.Builder
	if code := run([]string{"--help"}, &help, &errOut); code != 0 || !strings.Contains(help.String(), "-rounds") {
		t.Errorf("--help: exit %d, %q", code, help.String())
	}
}
