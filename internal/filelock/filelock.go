// Package filelock serialises processes that write the same files below the shared cache
// (VMT_CACHE_DIR, default ~/.cache/vmt-conformance): an exclusive flock(2) on a lock file,
// which the kernel releases when the holder exits, however it exits (SIGKILL included), so a
// dead holder never blocks anyone.
//
// ci/kube/build.sh takes the same kind of lock with flock(1) and writes the same holder line,
// so a Go process and the script report each other alike.
package filelock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Poll is how often a waiting process tries the lock again.
const Poll = 100 * time.Millisecond

// Lock is a held lock; Release (or the process's exit) lets the next holder in.
type Lock struct {
	f *os.File
}

// Acquire takes the exclusive lock on path (created with its directory when missing), for
// what (a few words: "building the lane binaries"). When another process holds it, Acquire
// writes one line to progress naming the lock and the holder, then waits until the lock is
// free or ctx ends. Once held, the lock file names this process, for the next waiter.
func Acquire(ctx context.Context, path, what string, progress io.Writer) (*Lock, error) {
	if path == "" {
		return nil, errors.New("filelock: empty lock path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the directory of lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	locked, err := try(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if !locked {
		if progress != nil {
			fmt.Fprintf(progress, "waiting for lock %s (to start %s), held by %s\n", path, what, Holder(path))
		}
		err := wait.PollUntilContextCancel(ctx, Poll, false, func(context.Context) (bool, error) { return try(f) })
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s (held by %s): %w", path, Holder(path), err)
		}
	}
	// Best effort: the holder line is for humans; the lock is the flock, not the content.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(holderLine(os.Getpid(), what)), 0)
	}
	return &Lock{f: f}, nil
}

// Release lets the next process in. It is safe on a nil Lock and to call twice.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	// The holder line stays: a waiter that reads it after this point is told about the last
	// holder, which is true enough for a line of progress.
	err := l.f.Close() // closing the only descriptor drops the flock
	l.f = nil
	return err
}

// Holder is the content of the lock file, "pid N (what) since T", or "an unknown process"
// when the file is empty or unreadable.
func Holder(path string) string {
	raw, err := os.ReadFile(path)
	if s := strings.TrimSpace(string(raw)); err == nil && s != "" {
		return s
	}
	return "an unknown process"
}

func holderLine(pid int, what string) string {
	return fmt.Sprintf("pid %d (%s) since %s\n", pid, what, time.Now().Format("15:04:05"))
}

// try takes the lock without blocking; false means another process holds it.
func try(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		default:
			return false, err
		}
	}
}
