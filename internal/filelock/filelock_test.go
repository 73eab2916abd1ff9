package filelock

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// testTimeout bounds each wait of these tests; everything they wait for happens in
// milliseconds.
const testTimeout = 10 * time.Second

// lineWriter records what a waiter prints and signals its first line.
type lineWriter struct {
	mu    sync.Mutex
	lines []string
	first chan struct{}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, strings.Split(strings.TrimRight(string(p), "\n"), "\n")...)
	if len(w.lines) > 0 && w.first != nil {
		close(w.first)
		w.first = nil
	}
	return len(p), nil
}

// TestSecondHolderWaitsWithOneLine: the second Acquire prints one line naming the lock and
// the holder, waits, and gets the lock once the first releases it.
func TestSecondHolderWaitsWithOneLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.lock")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	first, err := Acquire(ctx, path, "building things", nil)
	if err != nil {
		t.Fatal(err)
	}
	out := &lineWriter{first: make(chan struct{})}
	printed := out.first
	got := make(chan error, 1)
	var second *Lock
	go func() {
		var err error
		second, err = Acquire(ctx, path, "using things", out)
		got <- err
	}()
	select {
	case <-printed:
	case err := <-got:
		t.Fatalf("the second Acquire returned (%v) while the first held the lock", err)
	case <-ctx.Done():
		t.Fatal("the second Acquire printed nothing while waiting")
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	defer second.Release()
	if len(out.lines) != 1 {
		t.Fatalf("want one line while waiting, got %q", out.lines)
	}
	want := regexp.MustCompile(`^waiting for lock .*x\.lock \(to start using things\), held by pid \d+ \(building things\) since \d\d:\d\d:\d\d$`)
	if !want.MatchString(out.lines[0]) {
		t.Fatalf("waiting line %q does not match %v", out.lines[0], want)
	}
	if h := Holder(path); !strings.Contains(h, "(using things)") {
		t.Fatalf("lock file names %q, want the second holder", h)
	}
	if err := first.Release(); err != nil {
		t.Fatalf("a second Release: %v", err)
	}
}

// TestWaitEndsWithContext: a waiter whose context ends gets an error naming the holder.
func TestWaitEndsWithContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	held, err := Acquire(context.Background(), path, "holding on", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 3*Poll)
	defer cancel()
	_, err = Acquire(ctx, path, "impatient", nil)
	if err == nil || !strings.Contains(err.Error(), "(holding on)") {
		t.Fatalf("want an error naming the holder, got %v", err)
	}
}

func TestEmptyPathIsRefused(t *testing.T) {
	if _, err := Acquire(context.Background(), "", "x", nil); err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want a one-line error, got %v", err)
	}
}
