package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestRunDirCreatedOnce: runs starting together under one name get one run directory between
// them; the others are told the cluster is already running. A stale directory of that name
// (its owner dead) is reaped first, under the same lock.
func TestRunDirCreatedOnce(t *testing.T) {
	root := t.TempDir()
	stale := filepath.Join(root, "shared")
	if err := os.MkdirAll(filepath.Join(stale, "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	// pid 0 is nobody's: the directory is stale whatever its age.
	if err := os.WriteFile(filepath.Join(stale, ownerFile), []byte("0"), 0o600); err != nil {
		t.Fatal(err)
	}
	const runs = 8
	errs := make([]error, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cp := &ControlPlane{opts: Options{StateRoot: root, Name: "shared"}, dir: stale}
			errs[i] = cp.createRunDir(context.Background())
		}()
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case !strings.Contains(err.Error(), `a local cluster named "shared" is already running`):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if created != 1 {
		t.Fatalf("%d runs created the run directory, want 1: %v", created, errs)
	}
	if pid := Owner(stale); pid != os.Getpid() {
		t.Fatalf("run directory owned by pid %d, want this process (%d)", pid, os.Getpid())
	}
	for _, sub := range []string{"pki", "etcd", "logs"} {
		if info, err := os.Stat(filepath.Join(stale, sub)); err != nil || !info.IsDir() {
			t.Errorf("run directory lacks %s/: %v", sub, err)
		}
	}
}
