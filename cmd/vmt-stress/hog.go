package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// A hog is this binary re-executed with hogEnv set: one single-threaded busy loop that
// exits by itself when its parent (the harness) is gone or its deadline has passed, so even
// a harness killed with SIGKILL leaves no hog behind for long. Each hog runs in its own
// process group; Stop kills it and reaps it.
const (
	hogEnv         = "VMT_STRESS_HOG_PARENT"   // the parent pid the hog watches
	hogDeadlineEnv = "VMT_STRESS_HOG_DEADLINE" // unix seconds after which the hog exits anyway
)

// hogMode runs the busy loop when this process is a hog; it returns only when it is not.
func hogMode() {
	parent := os.Getenv(hogEnv)
	if parent == "" {
		return
	}
	ppid, err := strconv.Atoi(parent)
	if err != nil {
		os.Exit(2)
	}
	deadline, _ := strconv.ParseInt(os.Getenv(hogDeadlineEnv), 10, 64)
	hogLoop(ppid, deadline)
	os.Exit(0)
}

var sink uint64

// hogLoop burns one CPU, checking every few milliseconds whether it should stop.
func hogLoop(ppid int, deadline int64) {
	for {
		for i := uint64(0); i < 1<<21; i++ {
			sink += i ^ (sink >> 3)
		}
		if os.Getppid() != ppid || (deadline > 0 && time.Now().Unix() > deadline) {
			return
		}
	}
}

type hogs struct {
	mu    sync.Mutex
	procs []*exec.Cmd
	done  []chan struct{}
}

// startHogs starts n hogs; on error it stops those it started.
func startHogs(n int, deadline time.Time) (*hogs, error) {
	h := &hogs{}
	if n == 0 {
		return h, nil
	}
	self, err := os.Executable()
	if err != nil {
		return h, fmt.Errorf("starting hogs: %w", err)
	}
	for i := 0; i < n; i++ {
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(),
			hogEnv+"="+strconv.Itoa(os.Getpid()),
			hogDeadlineEnv+"="+strconv.FormatInt(deadline.Unix(), 10),
			"GOMAXPROCS=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			h.Stop()
			return h, fmt.Errorf("starting hog %d: %w", i+1, err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		h.mu.Lock()
		h.procs = append(h.procs, cmd)
		h.done = append(h.done, done)
		h.mu.Unlock()
	}
	return h, nil
}

// Pids are the hogs' process ids.
func (h *hogs) Pids() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	pids := make([]int, len(h.procs))
	for i, c := range h.procs {
		pids[i] = c.Process.Pid
	}
	return pids
}

// Running is how many hogs are still alive.
func (h *hogs) Running() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, d := range h.done {
		select {
		case <-d:
		default:
			n++
		}
	}
	return n
}

// Stop kills every hog's process group and waits until each is reaped; it returns how
// many it stopped. Calling it again does nothing.
func (h *hogs) Stop() int {
	h.mu.Lock()
	procs, done := h.procs, h.done
	h.procs, h.done = nil, nil
	h.mu.Unlock()
	for i, c := range procs {
		select {
		case <-done[i]: // already gone and reaped: its pid may be someone else's now
		default:
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		}
	}
	for _, d := range done {
		<-d
	}
	return len(procs)
}
