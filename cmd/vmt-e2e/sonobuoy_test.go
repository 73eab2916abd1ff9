package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSonobuoyModeFlags(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "SONOBUOY_RESULTS_DIR" {
				return v
			}
			return ""
		}
	}
	args, dir, on, err := sonobuoyMode([]string{"--lane", "tier1", "--sonobuoy", "--", "--sonobuoy", "--artifacts=x"}, env(""))
	if err != nil || !on || dir != "/tmp/sonobuoy/results" || !slices.Equal(args, []string{"--lane", "tier1", "--", "--sonobuoy", "--artifacts=x"}) {
		t.Fatalf("got %q %q %t %v", args, dir, on, err)
	}
	if _, dir, _, _ := sonobuoyMode([]string{"-sonobuoy"}, env("/results")); dir != "/results" {
		t.Fatalf("SONOBUOY_RESULTS_DIR not honoured: %q", dir)
	}
	if args, _, on, _ := sonobuoyMode([]string{"--lane", "tier1", "--artifacts", "/x"}, env("")); on || len(args) != 4 {
		t.Fatalf("without --sonobuoy the arguments must pass unchanged: %q %t", args, on)
	}
	if _, _, _, err := sonobuoyMode([]string{"--sonobuoy", "--artifacts=/x"}, env("")); err == nil || !strings.Contains(err.Error(), "drop --artifacts") {
		t.Fatalf("want --artifacts refused, got %v", err)
	}
}

// readTarball returns the tarball's files and their contents.
func readTarball(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = string(b)
	}
}

// A run's outputs (as the lane writes them into --artifacts) end up in the tarball the done
// file names; the lane's exit status passes through.
func TestSonobuoyHandsOverTheRunsReports(t *testing.T) {
	results := t.TempDir()
	var gotArgs []string
	fakeRun := func(args []string) (int, error) {
		gotArgs = args
		dir := args[1]
		for name, content := range map[string]string{"junit.xml": "<testsuites/>", "report.json": "[]", "failures/abc/events.txt": "ev"} {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return 2, err
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				return 2, err
			}
		}
		return 1, errors.New("lane tier1 failed: exit status 1")
	}
	code, err := runForSonobuoy([]string{"--lane", "tier1"}, results, fakeRun)
	if code != 1 || err == nil || !strings.Contains(err.Error(), "lane tier1 failed") {
		t.Fatalf("want the lane's status 1 and error, got %d %v", code, err)
	}
	if want := []string{"--artifacts", filepath.Join(results, "artifacts"), "--lane", "tier1"}; !slices.Equal(gotArgs, want) {
		t.Fatalf("lane ran with %q, want %q", gotArgs, want)
	}
	done, err := os.ReadFile(filepath.Join(results, "done"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(results, "vmt-conformance.tar.gz"); string(done) != want {
		t.Fatalf("done file holds %q, want %q", done, want)
	}
	files := readTarball(t, string(done))
	for name, want := range map[string]string{"junit.xml": "<testsuites/>", "report.json": "[]", "failures/abc/events.txt": "ev"} {
		if files[name] != want {
			t.Fatalf("tarball %s = %q, want %q (files: %v)", name, files[name], want, files)
		}
	}
}

// A run that wrote no JUnit still hands one over: one failed case naming the error.
func TestSonobuoyReportsARunWithoutResults(t *testing.T) {
	results := t.TempDir()
	code, err := runForSonobuoy(nil, results, func([]string) (int, error) {
		return 1, errors.New("bringing up the existing provider: no kubeconfig for the existing provider")
	})
	if code != 1 || err == nil {
		t.Fatalf("want status 1 and the error, got %d %v", code, err)
	}
	done, err := os.ReadFile(filepath.Join(results, "done"))
	if err != nil {
		t.Fatal(err)
	}
	junit := readTarball(t, string(done))["junit.xml"]
	var doc struct {
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(junit), &doc); err != nil {
		t.Fatalf("junit.xml %q: %v", junit, err)
	}
	if doc.Failures != 1 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 1 || doc.Suites[0].Cases[0].Failure == nil ||
		!strings.Contains(doc.Suites[0].Cases[0].Failure.Message, "no kubeconfig for the existing provider") {
		t.Fatalf("want one failed case naming the error, got %s", junit)
	}
}
