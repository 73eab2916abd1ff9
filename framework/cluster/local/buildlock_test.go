package local

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Intervals of the build-lock test: the stub build takes no time, so everything it waits
// for happens within a second or two (go list -m in ci/kube included).
const (
	buildLockPoll    = 20 * time.Millisecond
	buildLockTimeout = time.Minute
)

// buildStub stands in for go build (VMT_KUBE_BUILD_STUB): it logs each call and writes an
// executable; the first call blocks until the test writes to the gate FIFO, so the second
// run of the script is sure to find the lock held.
const buildStub = `#!/usr/bin/env bash
set -eu
echo "$*" >>"$STUB_DIR/calls"
if mkdir "$STUB_DIR/first" 2>/dev/null; then read -r _ <"$STUB_DIR/gate"; fi
printf '#!/bin/sh\n' >"$1"
chmod +x "$1"
`

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBuildScriptLock runs ci/kube/build.sh twice at once on a fresh cache with a stub build:
// the second run prints one line naming the lock and its holder, waits, and reuses what the
// first built (the stub runs once per binary, not twice); both print the same directory.
func TestBuildScriptLock(t *testing.T) {
	for _, tool := range []string{"bash", "flock"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not on PATH: the build lock needs it (util-linux)", tool)
		}
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "..", "ci", "kube", "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	cache, stubDir := t.TempDir(), t.TempDir()
	stub := filepath.Join(stubDir, "stub.sh")
	if err := os.WriteFile(stub, []byte(buildStub), 0o755); err != nil {
		t.Fatal(err)
	}
	gate := filepath.Join(stubDir, "gate")
	if err := syscall.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildLockTimeout)
	defer cancel()

	type run struct {
		cmd            *exec.Cmd
		stdout, stderr *syncBuffer
		done           chan error
	}
	start := func() *run {
		r := &run{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
		r.cmd = exec.Command("bash", script)
		r.cmd.Env = append(os.Environ(), "VMT_CACHE_DIR="+cache, "VMT_KUBE_BUILD_STUB="+stub, "STUB_DIR="+stubDir)
		r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
		r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL) }) // a failed test leaves no stub blocked on the gate
		go func() { r.done <- r.cmd.Wait() }()
		return r
	}
	until := func(what string, cond func() bool, runs ...*run) {
		t.Helper()
		err := wait.PollUntilContextCancel(ctx, buildLockPoll, true, func(context.Context) (bool, error) { return cond(), nil })
		if err != nil {
			for i, r := range runs {
				t.Logf("run %d stderr:\n%s", i+1, r.stderr)
			}
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}

	first := start()
	until("the first run to start building", func() bool { _, err := os.Stat(filepath.Join(stubDir, "first")); return err == nil }, first)
	second := start()
	until("the second run to say it waits", func() bool { return strings.Contains(second.stderr.String(), "waiting for lock") }, first, second)

	gateW, err := os.OpenFile(gate, os.O_WRONLY, 0) // the first stub is blocked reading it
	if err != nil {
		t.Fatal(err)
	}
	_, _ = gateW.WriteString("go\n")
	_ = gateW.Close()
	for i, r := range []*run{first, second} {
		select {
		case err := <-r.done:
			if err != nil {
				t.Fatalf("run %d: %v\n%s", i+1, err, r.stderr)
			}
		case <-ctx.Done():
			t.Fatalf("run %d did not finish: %v\n%s", i+1, ctx.Err(), r.stderr)
		}
	}

	dir := filepath.Join(cache, "k8s", KubernetesVersion)
	for i, r := range []*run{first, second} {
		lines := strings.Split(strings.TrimSpace(r.stdout.String()), "\n")
		if got := lines[len(lines)-1]; got != dir {
			t.Errorf("run %d printed %q last, want %s", i+1, got, dir)
		}
	}
	waiting := regexp.MustCompile(`(?m)^\[ci/kube\] waiting for lock ` + regexp.QuoteMeta(dir) + `\.lock \(to start building the control plane v\S+\), held by pid (\d+) \(building the control plane v\S+\) since \d\d:\d\d:\d\d$`)
	if n := strings.Count(second.stderr.String(), "waiting for lock"); n != 1 {
		t.Errorf("the second run printed %d waiting lines, want 1:\n%s", n, second.stderr)
	}
	if m := waiting.FindStringSubmatch(second.stderr.String()); m == nil {
		t.Errorf("the second run's waiting line does not match %v:\n%s", waiting, second.stderr)
	} else if m[1] != strconv.Itoa(first.cmd.Process.Pid) {
		t.Errorf("the waiting line names pid %s as holder, want the first run, pid %d", m[1], first.cmd.Process.Pid)
	}
	if strings.Contains(first.stderr.String(), "waiting for lock") {
		t.Errorf("the first run waited:\n%s", first.stderr)
	}
	if !strings.Contains(second.stderr.String(), "built by the run we waited for") {
		t.Errorf("the second run did not reuse the first run's build:\n%s", second.stderr)
	}
	calls, err := os.ReadFile(filepath.Join(stubDir, "calls"))
	if err != nil {
		t.Fatal(err)
	}
	// build.sh also builds the suite image's static kubectl (internal/image) beside them.
	built := append(append([]string(nil), Binaries...), "kubectl")
	if n := strings.Count(string(calls), "\n"); n != len(built) {
		t.Errorf("the stub build ran %d times, want %d (once per binary of %v):\n%s", n, len(built), built, calls)
	}
	if err := CheckAssets(dir); err != nil {
		t.Error(err)
	}
}
