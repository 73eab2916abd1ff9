package main

import (
	"bufio"
	"encoding/json"
	"io"
	"regexp"
	"sort"
	"strings"
)

// failure is one failed test, spec or step of a round.
type failure struct {
	Step string // "unit", "lane hermetic"
	Name string // "./framework/wait TestX/sub", a spec's full text, "./pkg (package)"
	Line string // the first failure line
}

func (f failure) key() string { return f.Step + "\x00" + f.Name }

// testEvent is one event of `go test -json` (cmd/test2json), build events included.
type testEvent struct {
	Action      string
	Package     string
	Test        string
	Output      string
	FailedBuild string
	ImportPath  string // build-output and build-fail events
}

// goTestResult is what a `go test -json` stream says.
type goTestResult struct {
	Packages, FailedPackages int
	Failures                 []failure // sorted by package, then test
	Other                    []string  // lines that are not JSON (go command errors)
}

// parseGoTest reads a `go test -json` stream. A failed test is reported only when none of
// its subtests failed (the leaf is the interesting one). A test that started but never
// ended in a failed package (a package timeout, a crash) counts as failed. A failed package
// with no failed test (a build failure, TestMain exiting, a panic outside tests) is reported
// as "<pkg> (package)". modulePath is shortened to "." in names.
func parseGoTest(r io.Reader, modulePath string) (goTestResult, error) {
	type key struct{ pkg, test string }
	var (
		res       goTestResult
		output    = map[key][]string{}
		buildOut  = map[string][]string{}
		state     = map[key]string{}    // run, pass, fail, skip
		pkgFailed = map[string]string{} // package -> FailedBuild ("" if not a build failure)
		pkgs      = map[string]bool{}
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var ev testEvent
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			if s := strings.TrimSpace(string(line)); s != "" {
				res.Other = append(res.Other, s)
			}
			continue
		}
		switch ev.Action {
		case "build-output":
			buildOut[ev.ImportPath] = append(buildOut[ev.ImportPath], strings.TrimRight(ev.Output, "\n"))
			continue
		case "build-fail":
			continue
		}
		if ev.Package == "" {
			continue
		}
		k := key{ev.Package, ev.Test}
		switch ev.Action {
		case "start":
			pkgs[ev.Package] = true
		case "output":
			output[k] = append(output[k], strings.TrimRight(ev.Output, "\n"))
		case "run":
			state[k] = "run"
		case "pass", "skip":
			if ev.Test == "" {
				pkgs[ev.Package] = true
			} else {
				state[k] = ev.Action
			}
		case "fail":
			if ev.Test == "" {
				pkgs[ev.Package] = true
				pkgFailed[ev.Package] = ev.FailedBuild
			} else {
				state[k] = "fail"
			}
		}
	}
	res.Packages = len(pkgs)
	res.FailedPackages = len(pkgFailed)

	// Failed tests, and unfinished tests of failed packages.
	failed := map[string][]string{}
	for k, s := range state {
		_, pkgFail := pkgFailed[k.pkg]
		if s == "fail" || (s == "run" && pkgFail) {
			failed[k.pkg] = append(failed[k.pkg], k.test)
		}
	}
	short := func(pkg string) string { return shortPackage(pkg, modulePath) }
	for pkg, tests := range failed {
		for _, t := range tests {
			if hasChild(tests, t) {
				continue
			}
			lines := output[key{pkg, t}]
			line := firstFailureLine(lines)
			if state[key{pkg, t}] == "run" && !strings.HasPrefix(line, "panic: ") {
				line = "did not finish: " + orDefault(line, "the test binary ended while it ran")
			}
			res.Failures = append(res.Failures, failure{Step: "unit", Name: short(pkg) + " " + t, Line: line})
		}
	}
	for pkg, build := range pkgFailed {
		if len(failed[pkg]) > 0 {
			continue
		}
		var line string
		if build != "" {
			line = "build failed: " + orDefault(firstPackageLine(buildOut[build]), build)
		} else {
			line = orDefault(firstPackageLine(output[key{pkg, ""}]), "failed without a failed test")
		}
		res.Failures = append(res.Failures, failure{Step: "unit", Name: short(pkg) + " (package)", Line: line})
	}
	sort.Slice(res.Failures, func(i, j int) bool { return res.Failures[i].Name < res.Failures[j].Name })
	return res, sc.Err()
}

func hasChild(tests []string, t string) bool {
	for _, o := range tests {
		if strings.HasPrefix(o, t+"/") {
			return true
		}
	}
	return false
}

func shortPackage(pkg, module string) string {
	if module != "" && (pkg == module || strings.HasPrefix(pkg, module+"/")) {
		return "." + strings.TrimPrefix(pkg, module)
	}
	return pkg
}

var (
	// fileLine is what t.Log, t.Error and t.Fatal print: "    file_test.go:42: message".
	fileLine = regexp.MustCompile(`^\s*[\w.\-/]+\.go:\d+: ?`)
	// failureWords tell a t.Error/t.Fatal line from a t.Log line (test2json cannot).
	failureWords = regexp.MustCompile(`(?i)fail|error|err:|expect|want|got\b|timed out|timeout|mismatch|unexpected|should|must|missing|not found|differ|!=|panic|cannot|could not|unable|invalid|wrong`)
)

// firstFailureLine picks the line that says why a test failed from its output, in this
// order: the first "file.go:NN: message" line that reads like a failure; a panic (test
// timeouts are panics too); the last "file.go:NN:" line (t.Fatal is usually last); the
// first other line that is not go test's framing; the "--- FAIL" line. A "file.go:NN:"
// line with an empty message (gomega's "\nExpected ...") takes the next line's text.
func firstFailureLine(lines []string) string {
	var last string
	for i, l := range lines {
		if !fileLine.MatchString(l) {
			continue
		}
		msg := withContinuation(lines, i)
		if failureWords.MatchString(fileLine.ReplaceAllString(msg, "")) {
			return msg
		}
		last = msg
	}
	for _, l := range lines {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "panic: ") || strings.Contains(t, "test timed out after") {
			return t
		}
	}
	if last != "" {
		return last
	}
	var frame string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case t == "", strings.HasPrefix(t, "=== "), t == "FAIL", t == "PASS", strings.HasPrefix(t, "--- PASS"), strings.HasPrefix(t, "--- SKIP"):
		case strings.HasPrefix(t, "--- FAIL"):
			if frame == "" {
				frame = t
			}
		default:
			return t
		}
	}
	return frame
}

// withContinuation is line i trimmed, with the next non-empty line appended when line i's
// message is empty.
func withContinuation(lines []string, i int) string {
	l := strings.TrimSpace(lines[i])
	if strings.TrimSpace(fileLine.ReplaceAllString(l, "")) != "" {
		return l
	}
	for _, n := range lines[i+1:] {
		if t := strings.TrimSpace(n); t != "" {
			if fileLine.MatchString(n) || strings.HasPrefix(t, "--- ") || strings.HasPrefix(t, "=== ") {
				break
			}
			return strings.TrimRight(l, " ") + " " + t
		}
	}
	return l
}

// firstPackageLine picks a failed package's reason from its own output (or its build
// output): a panic or compiler error first, else the first line that is not framing.
func firstPackageLine(lines []string) string {
	for _, l := range lines {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "panic: ") || fileLine.MatchString(l) || strings.Contains(t, ".go:") {
			return t
		}
	}
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case t == "", t == "FAIL", t == "PASS", strings.HasPrefix(t, "FAIL\t"), strings.HasPrefix(t, "ok  "),
			strings.HasPrefix(t, "# "), strings.HasPrefix(t, "exit status "), strings.HasPrefix(t, "=== "):
		default:
			return t
		}
	}
	return ""
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
