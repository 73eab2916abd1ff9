package local

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/vmt-conformance/vmt-conformance/internal/filelock"
)

// ownerFile in a run directory holds the pid of the process that owns the cluster.
const ownerFile = "owner.pid"

// stateLockFile, in a state root, serialises reaping with creating run directories across
// processes: without it a run could reap (kill and remove) a stale directory that another run
// has just reaped and recreated under the same name.
const stateLockFile = ".lock"

// lockStateRoot takes the state root's lock (see stateLockFile); progress gets one line when
// another process holds it.
func lockStateRoot(ctx context.Context, root, what string, progress io.Writer) (*filelock.Lock, error) {
	return filelock.Acquire(ctx, filepath.Join(root, stateLockFile), what, progress)
}

// ReapStale stops the clusters below root whose owner process is gone and returns how many it
// reaped. A run killed with SIGKILL cannot clean up after itself; the next run does.
func ReapStale(root string) int {
	if _, err := os.Stat(root); err != nil {
		return 0
	}
	lock, err := lockStateRoot(context.Background(), root, "reaping stale local clusters", nil)
	if err != nil {
		return 0
	}
	defer lock.Release()
	return reapStale(root)
}

// reapStale is ReapStale for a caller holding the state root's lock.
func reapStale(root string) int {
	entries, err := os.ReadDir(root)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if !e.IsDir() || Alive(dir) {
			continue
		}
		killHolders(dir)
		_ = os.RemoveAll(dir)
		n++
	}
	return n
}

// Alive reports whether the owner recorded in a run directory still runs.
func Alive(dir string) bool {
	raw, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		// A directory being created right now has no owner file for a few microseconds;
		// treat very young directories as alive.
		if info, statErr := os.Stat(dir); statErr == nil && time.Since(info.ModTime()) < time.Minute {
			return true
		}
		return false
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(raw)))
	if err != nil || pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) == nil
}

// killHolders SIGKILLs every process whose command line mentions dir, and waits briefly for
// them to go.
func killHolders(dir string) {
	if dir == "" {
		return
	}
	needle := []byte(dir + string(filepath.Separator))
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	self := os.Getpid()
	var killed []int
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(append(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}), filepath.Separator), needle) {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed = append(killed, pid)
		}
	}
	// Best effort: a process that outlives the grace period is already SIGKILLed and only
	// waits for the kernel; the caller goes on either way.
	_ = wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, killGrace, true, func(context.Context) (bool, error) {
		for _, pid := range killed {
			if syscall.Kill(pid, 0) == nil {
				return false, nil
			}
		}
		return true, nil
	})
}

// killGrace bounds how long killHolders waits for killed processes to disappear.
const killGrace = 5 * time.Second

// Kill stops whatever still runs from a run directory and removes it: `vmt-cluster down`'s
// last resort when the owner did not stop in time.
func Kill(dir string) error {
	lock, err := lockStateRoot(context.Background(), filepath.Dir(dir), "stopping local cluster "+filepath.Base(dir), nil)
	if err != nil {
		return err
	}
	defer lock.Release()
	killHolders(dir)
	return os.RemoveAll(dir)
}

// Owner returns the pid recorded in a run directory, or 0.
func Owner(dir string) int {
	raw, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(string(bytes.TrimSpace(raw)))
	return pid
}
