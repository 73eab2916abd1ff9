package tiers

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium is the Debian package's binary; `make deps` (ci/deps.sh) installs it.
const chromium = "/usr/bin/chromium"

// TestHTMLRendersInChromium opens the generated HTML reports in headless Chromium and checks
// the rendered DOM holds the verdict, the scenarios and their states. A missing Chromium is
// a failure, never a skip: the check must not silently disappear from CI.
func TestHTMLRendersInChromium(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("headless Chromium is needed to check the HTML reports render, and %s is missing: run `make deps` (ci/deps.sh installs the Debian package chromium)", chromium)
	}
	_, reports, a := sampleRun(t)
	dir := t.TempDir()
	if err := a.WriteAll(dir, reports); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]string{
		GAHTMLFile: {
			`<div id="verdict" class="verdict not-ready">Verdict: <b>NOT READY</b></div>`,
			"P0 VMT-002 (Capture | from VM) failed",
			`<h2 id="checklist">GA checklist</h2>`,
			"cluster lacks requires-snapshot-storage",
			`<h3>scale:create</h3>`,
			"v1.34.2",
			`API version spoken <b>v1alpha1</b>`,
			"virt-template v0.1.7 serves only v1alpha1",
		},
		MatrixHTMLFile: {
			`<h2 id="VMT-001">VMT-001: Create from template`,
			`<a href="#VMT-002">VMT-002</a>`,
			"not in lane ga-readiness",
			"the UI team covers it",
			`<span id="sut">System under test: KubeVirt <b>v1.8.0</b>, virt-template <b>v0.1.7</b>`,
		},
	} {
		t.Run(file, func(t *testing.T) {
			dom := dumpDOM(t, filepath.Join(dir, file))
			for _, w := range want {
				if !strings.Contains(dom, w) {
					t.Errorf("rendered %s lacks %q", file, w)
				}
			}
			// Self-contained: nothing to fetch.
			for _, external := range []string{"<link ", "<script src", "http://", "https://"} {
				if strings.Contains(dom, external) {
					t.Errorf("rendered %s references an external asset (%q)", file, external)
				}
			}
		})
	}
}

func dumpDOM(t *testing.T, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile := t.TempDir()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir="+profile, "--dump-dom", "file://"+path)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("chromium --dump-dom %s: %v\n%s", path, err, stderr)
	}
	if len(out) == 0 {
		t.Fatalf("chromium rendered nothing for %s", path)
	}
	return string(out)
}
