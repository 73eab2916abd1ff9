package main

// --sonobuoy: the runner as a sonobuoy plugin (ci/sonobuoy/plugin.yaml). The image has no
// shell, so the plugin contract is kept here, in Go:
//
//   - results go into SONOBUOY_RESULTS_DIR (default /tmp/sonobuoy/results, the constant
//     ResultsDir of vmware-tanzu/sonobuoy pkg/plugin/constants.go, v0.57.5; the worker also
//     gets it as SONOBUOY_RESULTS_DIR, pkg/plugin/driver/base.go workerEnvironment);
//   - when done, the plugin writes the path of its result file into <results dir>/done; the
//     sidecar waits for that file and sends the named file (a tarball here; a directory
//     would be tarred by the worker) to the aggregator (pkg/worker/worker.go GatherResults,
//     site/content/docs/main/plugins.md "How Plugins Work");
//   - with result-format junit and result-files [junit.xml], the aggregator reads that file's
//     test cases by base name (pkg/client/results/processing.go FileOrExtension).
//
// The lane's artifacts go to <results dir>/artifacts; the tarball vmt-conformance.tar.gz
// holds them with junit.xml at its top. A run that produced no JUnit (the cluster did not
// answer, the configuration was refused) still hands over one, with a failed test case
// that says why, so `sonobuoy results` shows the failure instead of a timeout.

import (
	"archive/tar"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmt-conformance/vmt-conformance/tiers"
)

const (
	// sonobuoyDefaultResultsDir is sonobuoy's plugin results directory (see above).
	sonobuoyDefaultResultsDir = "/tmp/sonobuoy/results"
	sonobuoyTarball           = "vmt-conformance.tar.gz"
	sonobuoyArtifacts         = "artifacts"
)

// sonobuoyMode strips --sonobuoy from the runner's own flags (before "--"). In that mode it
// refuses --artifacts (the mode places them) and returns the results directory.
func sonobuoyMode(args []string, getenv func(string) string) (rest []string, resultsDir string, on bool, err error) {
	for i, a := range args {
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		switch {
		case a == "--sonobuoy" || a == "-sonobuoy" || a == "--sonobuoy=true" || a == "-sonobuoy=true":
			on = true
			continue
		case a == "--sonobuoy=false" || a == "-sonobuoy=false":
			continue
		}
		rest = append(rest, a)
	}
	if !on {
		return args, "", false, nil
	}
	for _, a := range rest {
		if a == "--" {
			break
		}
		if name := strings.TrimLeft(a, "-"); name == "artifacts" || strings.HasPrefix(name, "artifacts=") {
			return nil, "", true, errors.New("--sonobuoy places the artifacts in $SONOBUOY_RESULTS_DIR/artifacts; drop --artifacts")
		}
	}
	resultsDir = getenv("SONOBUOY_RESULTS_DIR")
	if resultsDir == "" {
		resultsDir = sonobuoyDefaultResultsDir
	}
	return rest, resultsDir, true, nil
}

// runForSonobuoy runs the lane (runLane: run) with its artifacts in the results directory and
// then hands the results over: tarball + done file. It returns the lane's exit status and
// error; a failure to hand over is added to them.
func runForSonobuoy(args []string, resultsDir string, runLane func([]string) (int, error)) (int, error) {
	artifacts := filepath.Join(resultsDir, sonobuoyArtifacts)
	fmt.Printf("== sonobuoy plugin: results in %s\n", resultsDir)
	code, runErr := runLane(append([]string{"--artifacts", artifacts}, args...))
	if runErr != nil && code == 0 {
		code = 2
	}
	done, err := handOver(resultsDir, artifacts, runErr)
	if err != nil {
		return max(code, 1), errors.Join(runErr, fmt.Errorf("handing the results to sonobuoy: %w", err))
	}
	fmt.Printf("== sonobuoy: wrote %s naming %s\n", filepath.Join(resultsDir, "done"), done)
	return code, runErr
}

// handOver makes sure artifacts holds a junit.xml (a failed test case naming runErr when the
// run wrote none), packs artifacts into the tarball and writes its path into the done file,
// last: the sidecar starts sending as soon as that file exists.
func handOver(resultsDir, artifacts string, runErr error) (string, error) {
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		return "", err
	}
	junit := filepath.Join(artifacts, tiers.JUnitFile)
	if _, err := os.Stat(junit); errors.Is(err, fs.ErrNotExist) {
		why := "vmt-e2e wrote no JUnit report"
		if runErr != nil {
			why += ": " + runErr.Error()
		}
		if err := writeFailureJUnit(junit, why); err != nil {
			return "", err
		}
	}
	tarball := filepath.Join(resultsDir, sonobuoyTarball)
	if err := tarDir(artifacts, tarball); err != nil {
		return "", err
	}
	return tarball, os.WriteFile(filepath.Join(resultsDir, "done"), []byte(tarball), 0o644)
}

// writeFailureJUnit writes a JUnit report of one failed test case: the run itself.
func writeFailureJUnit(path, message string) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Failure   *failure `xml:"failure"`
	}
	type testsuite struct {
		XMLName   xml.Name   `xml:"testsuite"`
		Name      string     `xml:"name,attr"`
		Tests     int        `xml:"tests,attr"`
		Failures  int        `xml:"failures,attr"`
		Testcases []testcase `xml:"testcase"`
	}
	type testsuites struct {
		XMLName  xml.Name    `xml:"testsuites"`
		Tests    int         `xml:"tests,attr"`
		Failures int         `xml:"failures,attr"`
		Suites   []testsuite `xml:"testsuite"`
	}
	doc := testsuites{Tests: 1, Failures: 1, Suites: []testsuite{{Name: "vmt-conformance", Tests: 1, Failures: 1,
		Testcases: []testcase{{Name: "[vmt-e2e] the conformance run", Classname: "vmt-conformance",
			Failure: &failure{Message: message, Type: "Failure", Text: message}}}}}}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(out, '\n')...), 0o644)
}

// tarDir writes dir's regular files and directories, relative to dir, as a gzipped tarball.
func tarDir(dir, path string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	walkErr := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil // sockets, links: nothing a report needs
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	return errors.Join(walkErr, tw.Close(), gz.Close())
}
