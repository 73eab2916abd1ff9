package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// spawnEnv makes the test binary a stand-in harness: it starts hogs, prints their pids and
// waits to be killed.
const spawnEnv = "VMT_STRESS_TEST_SPAWN_HOGS"

func TestMain(m *testing.M) {
	hogMode() // the hogs the tests start are this test binary re-executed
	if n := os.Getenv(spawnEnv); n != "" {
		count, _ := strconv.Atoi(n)
		h, err := startHogs(count, time.Now().Add(time.Minute))
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(joinPids(h.Pids()))
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// cpuTicks is the process's user+system time in clock ticks.
func cpuTicks(t *testing.T, pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(raw)[strings.LastIndexByte(string(raw), ')')+2:])
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s
}

func waitGone(t *testing.T, pids []int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, p := range pids {
		for alive(p) {
			if time.Now().After(deadline) {
				_ = syscall.Kill(p, syscall.SIGKILL)
				t.Fatalf("process %d still runs after %v", p, within)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestHogsStartAndStop(t *testing.T) {
	h, err := startHogs(3, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	pids := h.Pids()
	t.Cleanup(func() { h.Stop() })
	if len(pids) != 3 || h.Running() != 3 {
		t.Fatalf("pids %v, running %d; want 3", pids, h.Running())
	}
	for _, p := range pids {
		if pg, err := syscall.Getpgid(p); err != nil || pg != p {
			t.Errorf("hog %d: process group %d (%v), want its own", p, pg, err)
		}
		// Busy: it burns CPU (a few ticks soon, even on a loaded machine).
		deadline := time.Now().Add(10 * time.Second)
		for cpuTicks(t, p) < 5 {
			if time.Now().After(deadline) {
				t.Errorf("hog %d used %d clock ticks in 10 s: not busy", p, cpuTicks(t, p))
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if n := h.Stop(); n != 3 {
		t.Errorf("Stop stopped %d, want 3", n)
	}
	for _, p := range pids {
		if alive(p) {
			t.Errorf("hog %d still runs after Stop", p)
		}
	}
	if n := h.Stop(); n != 0 || h.Running() != 0 {
		t.Errorf("second Stop: %d, running %d", n, h.Running())
	}
}

func TestNoHogs(t *testing.T) {
	h, err := startHogs(0, time.Now())
	if err != nil || h.Running() != 0 || h.Stop() != 0 {
		t.Errorf("zero hogs: %v", err)
	}
}

// A harness killed with SIGKILL cannot stop its hogs: they notice and exit by themselves.
func TestHogsDieWithAKilledHarness(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), spawnEnv+"=2")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(line) {
		p, err := strconv.Atoi(f)
		if err != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("helper said %q", line)
		}
		pids = append(pids, p)
	}
	if len(pids) != 2 || !alive(pids[0]) || !alive(pids[1]) {
		t.Fatalf("hogs %v not running", pids)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	waitGone(t, pids, 5*time.Second)
}

func TestHogDeadline(t *testing.T) {
	done := make(chan struct{})
	go func() { hogLoop(os.Getppid(), time.Now().Add(-time.Second).Unix()); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a hog past its deadline kept running")
	}
}

// The step gets SIGINT in its process group and ends; nothing of it is left.
func TestRunStepInterruptsTheGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	cmd := exec.Command("sh", "-c", `sleep 60 & echo $! > `+pidFile+`; wait`)
	ctx, cancel := context.WithCancel(context.Background())
	go cancelWhenFile(pidFile, cancel)
	start := time.Now()
	err := runStep(ctx, nil, cmd, 30*time.Second)
	if err == nil {
		t.Error("an interrupted step reported success")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v: the interrupt did not end the step", took)
	}
	waitGone(t, []int{readPid(t, pidFile)}, 2*time.Second)
}

// A step that ignores SIGINT is killed, with its children, after the grace period.
func TestRunStepKillsAfterGrace(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	cmd := exec.Command("sh", "-c", `trap "" INT; sleep 60 & echo $! > `+pidFile+`; wait; wait`)
	ctx, cancel := context.WithCancel(context.Background())
	go cancelWhenFile(pidFile, cancel)
	_ = runStep(ctx, nil, cmd, 500*time.Millisecond)
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Error("the step ended before it was interrupted")
	}
	waitGone(t, []int{readPid(t, pidFile)}, 2*time.Second)
}

// A second interrupt (force) kills at once instead of waiting for the grace period.
func TestRunStepForce(t *testing.T) {
	cmd := exec.Command("sh", "-c", `trap "" INT; sleep 60; sleep 60`)
	ctx, cancel := context.WithCancel(context.Background())
	force := make(chan struct{})
	time.AfterFunc(200*time.Millisecond, cancel)
	time.AfterFunc(400*time.Millisecond, func() { close(force) })
	start := time.Now()
	_ = runStep(ctx, force, cmd, time.Minute)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v: force did not kill", took)
	}
}

// What a finished step left running in its group is killed.
func TestRunStepReapsLeftovers(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	cmd := exec.Command("sh", "-c", `sleep 60 > /dev/null 2>&1 & echo $! > `+pidFile)
	if err := runStep(context.Background(), nil, cmd, time.Second); err != nil {
		t.Fatal(err)
	}
	waitGone(t, []int{readPid(t, pidFile)}, 2*time.Second)
}

func cancelWhenFile(path string, cancel func()) {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if raw, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(raw), "\n") {
			break
		}
	}
	cancel()
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
