// Command vmt-stress runs the unit tests and the hermetic lane(s) round after round under
// CPU load, to find the tests and specs that fail only sometimes.
//
//	vmt-stress                                   5 rounds of unit + lane hermetic, 2 hogs per core
//	vmt-stress --rounds 20 --run unit --pkgs ./framework/wait --test-run TestPoll
//	make stress ROUNDS=3 HOGS=1 RUN=lanes
//
// First it runs `make cluster-binaries lane-binaries tools` (what `make unit` and `make e2e`
// need), then starts HOGS busy processes per core (this binary re-executed, each in its own
// process group) and runs each round: `go test -json -count=1` over make unit's packages
// (every package but ./tests) and `bin/vmt-e2e --provider local` for each lane, each in a
// process group of its own, with the round's logs and artifacts in <out>/round-N/. A round
// has a timeout and so has the whole run; on timeout, SIGINT or SIGTERM the running step
// is interrupted (SIGINT, clean-up time --grace, then its process group is killed) and the
// hogs are killed. At the end it prints each round's result and durations and every test or
// spec that failed at least once, with its first failure line and in how many rounds.
// Exit status: 0 every round passed, 1 a round failed or did not run, 2 bad input, 130
// interrupted.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	hogMode() // never returns in a hog
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

var (
	errRoundTimeout = errors.New("round timeout")
	errRunTimeout   = errors.New("overall timeout")
	errInterrupted  = errors.New("interrupted")
)

type harness struct {
	o      options
	root   string // repository root, the working directory
	module string
	out    string // absolute
	env    []string
	pkgs   []string
	w      io.Writer
	force  <-chan struct{}
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args)
	if err != nil {
		var help helpError
		if errors.As(err, &help) {
			fmt.Fprint(stdout, help.usage)
			return 0
		}
		fmt.Fprintln(stderr, "vmt-stress:", err)
		return 2
	}
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "vmt-stress:", err)
		return 2
	}
	module, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		fmt.Fprintf(stderr, "vmt-stress: run it from the repository root: %v\n", err)
		return 2
	}
	out, err := filepath.Abs(o.out)
	if err == nil {
		err = os.MkdirAll(out, 0o755)
	}
	if err != nil {
		fmt.Fprintln(stderr, "vmt-stress:", err)
		return 2
	}

	// SIGINT/SIGTERM: the first interrupts the running step and ends the run; the second
	// kills the step's processes at once.
	base, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	force := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		var once sync.Once
		for n := 1; ; n++ {
			s, ok := <-sigs
			if !ok {
				return
			}
			if n == 1 {
				fmt.Fprintf(stdout, "== vmt-stress: %v: interrupting the running step (once more to kill it at once)\n", s)
				cancel(errInterrupted)
			} else {
				fmt.Fprintf(stdout, "== vmt-stress: %v again: killing the running step\n", s)
				once.Do(func() { close(force) })
			}
		}
	}()
	ctx, cancelRun := context.WithTimeoutCause(base, o.timeout, errRunTimeout)
	defer cancelRun()

	h := &harness{o: o, root: root, module: module, out: out, env: stepEnv(root), w: stdout, force: force}
	return h.main(ctx)
}

func (h *harness) main(ctx context.Context) int {
	o := h.o
	cores := runtime.NumCPU()
	nHogs := o.hogsPerCore * cores
	var steps []string
	if o.runsUnit() {
		steps = append(steps, "unit")
	}
	if o.runsLanes() {
		for _, l := range o.lanes {
			for _, p := range o.profiles {
				steps = append(steps, "lane "+l+"@"+p)
			}
		}
	}
	fmt.Fprintf(h.w, "== vmt-stress: %s of %s\n", plural(o.rounds, "round"), strings.Join(steps, " + "))
	fmt.Fprintf(h.w, "   load: %d busy processes (HOGS=%d per core x %d cores); round timeout %s, overall timeout %s\n",
		nHogs, o.hogsPerCore, cores, o.roundTimeout, o.timeout)
	fmt.Fprintf(h.w, "   logs and artifacts: %s/round-N/\n", h.rel(h.out))

	if !o.skipPrereqs {
		if code := h.prereqs(ctx); code != 0 {
			return code
		}
	}
	if o.runsUnit() {
		if len(o.pkgs) > 0 {
			h.pkgs = o.pkgs
		} else {
			pkgs, err := h.unitPackages(ctx)
			if err != nil {
				fmt.Fprintln(h.w, "vmt-stress: listing the packages:", err)
				return exitFor(ctx, 1)
			}
			h.pkgs = pkgs
		}
	}

	hg, err := startHogs(nHogs, time.Now().Add(o.timeout+o.grace+time.Minute))
	defer func() {
		if n := hg.Stop(); n > 0 {
			fmt.Fprintf(h.w, "== %d hogs stopped\n", n)
		}
	}()
	if err != nil {
		fmt.Fprintln(h.w, "vmt-stress:", err)
		return 1
	}
	if nHogs > 0 {
		fmt.Fprintf(h.w, "== %d hogs started (pids %s)\n", nHogs, joinPids(hg.Pids()))
	}

	var rounds []roundResult
	for n := 1; n <= o.rounds && ctx.Err() == nil; n++ {
		if alive := hg.Running(); alive < nHogs {
			fmt.Fprintf(h.w, "   warning: only %d of %d hogs are running\n", alive, nHogs)
		}
		rounds = append(rounds, h.round(ctx, n, steps))
	}
	if n := hg.Stop(); n > 0 {
		fmt.Fprintf(h.w, "== %d hogs stopped\n", n)
	}

	summaryPath := filepath.Join(h.out, "summary.txt")
	var sum strings.Builder
	printSummary(&sum, rounds, o.rounds, steps)
	if ctx.Err() != nil {
		fmt.Fprintf(&sum, "== stopped: %s\n", describe(context.Cause(ctx), o))
	}
	fmt.Fprint(h.w, sum.String())
	if err := os.WriteFile(summaryPath, []byte(sum.String()), 0o644); err != nil {
		fmt.Fprintln(h.w, "vmt-stress: writing the summary:", err)
	}
	fmt.Fprintf(h.w, "== logs and artifacts of round N in %s/round-N/; this summary in %s\n", h.rel(h.out), h.rel(summaryPath))
	if failedRounds(rounds) > 0 || len(rounds) < o.rounds {
		return exitFor(ctx, 1)
	}
	return 0
}

// exitFor is 130 after an interrupt, code otherwise.
func exitFor(ctx context.Context, code int) int {
	if errors.Is(context.Cause(ctx), errInterrupted) {
		return 130
	}
	return code
}

func describe(cause error, o options) string {
	switch {
	case errors.Is(cause, errRoundTimeout):
		return "round timeout " + o.roundTimeout.String()
	case errors.Is(cause, errRunTimeout):
		return "overall timeout " + o.timeout.String()
	case errors.Is(cause, errInterrupted):
		return "interrupted"
	case cause != nil:
		return cause.Error()
	}
	return ""
}

// prereqs runs what make unit and make e2e run first, without load.
func (h *harness) prereqs(ctx context.Context) int {
	logPath := filepath.Join(h.out, "prereqs.log")
	fmt.Fprintf(h.w, "== make cluster-binaries lane-binaries tools (log %s)\n", h.rel(logPath))
	lf, err := os.Create(logPath)
	if err != nil {
		fmt.Fprintln(h.w, "vmt-stress:", err)
		return 1
	}
	defer lf.Close()
	cmd := exec.Command("make", "--no-print-directory", "cluster-binaries", "lane-binaries", "tools")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = h.root, h.env, lf, lf
	start := time.Now()
	if err := runStep(ctx, h.force, cmd, h.o.grace); err != nil {
		fmt.Fprintf(h.w, "vmt-stress: the prerequisites failed (%v): %s\n", err, lastLine(logPath, ""))
		return exitFor(ctx, 1)
	}
	fmt.Fprintf(h.w, "   done in %s\n", fmtDuration(time.Since(start)))
	return 0
}

// unitPackages are make unit's: every package but ./tests.
func (h *harness) unitPackages(ctx context.Context) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "./...")
	cmd.Dir, cmd.Env, cmd.Stderr = h.root, h.env, os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var pkgs []string
	for _, p := range strings.Fields(string(raw)) {
		if !strings.HasSuffix(p, "/tests") {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, nil
}

func (h *harness) round(ctx context.Context, n int, steps []string) roundResult {
	dir := filepath.Join(h.out, fmt.Sprintf("round-%d", n))
	r := roundResult{N: n}
	fmt.Fprintf(h.w, "== round %d/%d (%s)\n", n, h.o.rounds, h.rel(dir))
	if err := errors.Join(os.RemoveAll(dir), os.MkdirAll(dir, 0o755)); err != nil {
		fmt.Fprintln(h.w, "   warning:", err)
	}
	rctx, cancel := context.WithTimeoutCause(ctx, h.o.roundTimeout, errRoundTimeout)
	defer cancel()
	start := time.Now()
	for _, name := range steps {
		var s stepResult
		switch {
		case rctx.Err() != nil:
			s = stepResult{Name: name}
		case name == "unit":
			s = h.unit(rctx, dir)
		default:
			s = h.lane(rctx, dir, strings.TrimPrefix(name, "lane "))
		}
		r.Steps = append(r.Steps, s)
		h.printStep(s)
	}
	r.Duration = time.Since(start)
	if rctx.Err() != nil {
		r.Note = describe(context.Cause(rctx), h.o)
	}
	res := "PASS"
	if !r.OK() {
		res = "FAIL"
	}
	note := ""
	if r.Note != "" {
		note = " (" + r.Note + ")"
	}
	fmt.Fprintf(h.w, "== round %d/%d: %s in %s%s\n", n, h.o.rounds, res, fmtDuration(r.Duration), note)
	return r
}

func (h *harness) printStep(s stepResult) {
	if !s.Ran {
		fmt.Fprintf(h.w, "   %-16s not run\n", s.Name)
		return
	}
	fmt.Fprintf(h.w, "   %-16s %s  %-7s %s; log %s\n", s.Name, s.status(), fmtDuration(s.Duration), s.Note, h.rel(s.Log))
	const show = 10
	for i, f := range s.Failures {
		if i == show {
			fmt.Fprintf(h.w, "      ... and %d more\n", len(s.Failures)-show)
			break
		}
		fmt.Fprintf(h.w, "      FAIL %s\n           %s\n", f.Name, clip(f.Line, 300))
	}
}

// unitTimeout is make unit's UNIT_TIMEOUT: the self-test package runs whole hermetic lanes.
const unitTimeout = "30m"

// unit runs make unit's tests with go test -json: the events in unit.json; unit.log has the
// command, go's own messages and then the plain test output (what go test -v prints).
func (h *harness) unit(ctx context.Context, dir string) stepResult {
	s := stepResult{Name: "unit", Ran: true, Log: filepath.Join(dir, "unit.log")}
	jsonPath := filepath.Join(dir, "unit.json")
	args := []string{"test", "-json", "-count=1", "-timeout", unitTimeout}
	if h.o.testRun != "" {
		args = append(args, "-run", h.o.testRun)
	}
	args = append(args, h.pkgs...)
	jf, err1 := os.Create(jsonPath)
	lf, err2 := os.Create(s.Log)
	if err := errors.Join(err1, err2); err != nil {
		s.Failures = []failure{{Step: "unit", Name: "go test", Line: err.Error()}}
		return s
	}
	fmt.Fprintf(lf, "$ go %s\n", strings.Join(args, " "))
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = h.root, h.env, jf, lf
	start := time.Now()
	runErr := runStep(ctx, h.force, cmd, h.o.grace)
	s.Duration = time.Since(start)
	jf.Close()
	lf.Close()

	f, err := os.Open(jsonPath)
	if err != nil {
		s.Failures = []failure{{Step: "unit", Name: "go test", Line: err.Error()}}
		return s
	}
	defer f.Close()
	res, perr := parseGoTest(f, h.module)
	appendTranscript(jsonPath, s.Log)
	s.Failures = res.Failures
	s.Note = fmt.Sprintf("%d packages, %d failed", res.Packages, res.FailedPackages)
	if res.Packages == 1 {
		s.Note = fmt.Sprintf("1 package, %d failed", res.FailedPackages)
	}
	if perr != nil {
		s.Failures = append(s.Failures, failure{Step: "unit", Name: "go test (output)", Line: perr.Error()})
	}
	if runErr != nil && len(s.Failures) == 0 {
		line := lastLine(s.Log, "")
		if len(res.Other) > 0 {
			line = res.Other[0]
		}
		s.Failures = []failure{{Step: "unit", Name: "go test", Line: orDefault(line, runErr.Error())}}
	}
	if ctx.Err() != nil {
		s.Note += "; stopped: " + describe(context.Cause(ctx), h.o)
		s.Failures = append(s.Failures, failure{Step: "unit", Name: "(stopped)", Line: describe(context.Cause(ctx), h.o) + " while go test ran"})
	}
	s.OK = runErr == nil && len(s.Failures) == 0
	return s
}

// lane runs one lane with vmt-e2e on the local provider (make e2e's command), its
// artifacts in lane-<name>/ and its output in lane-<name>.log.
// laneAt is "<lane>@<profile>", the local profile the lane runs on.
func (h *harness) lane(ctx context.Context, dir, laneAt string) stepResult {
	name := "lane " + laneAt
	lane, profile, _ := strings.Cut(laneAt, "@")
	s := stepResult{Name: name, Ran: true, Log: filepath.Join(dir, "lane-"+lane+"-"+profile+".log")}
	art := filepath.Join(dir, "lane-"+lane+"-"+profile)
	bin := filepath.Join(h.root, "bin")
	args := []string{"--lane", lane, "--provider", "local", "--profile", profile, "--procs", fmt.Sprint(h.o.procs),
		"--artifacts", art, "--ginkgo", filepath.Join(bin, "ginkgo")}
	lf, err := os.Create(s.Log)
	if err != nil {
		s.Failures = []failure{{Step: name, Name: name, Line: err.Error()}}
		return s
	}
	fmt.Fprintf(lf, "$ bin/vmt-e2e %s\n", strings.Join(args, " "))
	cmd := exec.Command(filepath.Join(bin, "vmt-e2e"), args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = h.root, h.env, lf, lf
	start := time.Now()
	runErr := runStep(ctx, h.force, cmd, h.o.grace)
	s.Duration = time.Since(start)
	lf.Close()

	report := filepath.Join(art, "report.json")
	res, perr := parseGinkgoReport(report, name, h.root)
	s.Failures = res.Failures
	switch {
	case perr != nil:
		s.Note = "no report"
		s.Failures = append(s.Failures, failure{Step: name, Name: "(no report.json)", Line: orDefault(lastLine(s.Log, "vmt-e2e:"), perr.Error())})
	case runErr != nil && len(s.Failures) == 0:
		s.Failures = append(s.Failures, failure{Step: name, Name: "(runner)", Line: orDefault(lastLine(s.Log, "vmt-e2e:"), runErr.Error())})
	}
	if perr == nil {
		s.Note = fmt.Sprintf("%d specs ran, %d failed; report %s", res.Ran, res.Ran-res.Passed, h.rel(report))
	}
	if ctx.Err() != nil {
		s.Note += "; stopped: " + describe(context.Cause(ctx), h.o)
		s.Failures = append(s.Failures, failure{Step: name, Name: "(stopped)", Line: describe(context.Cause(ctx), h.o) + " while the lane ran"})
	}
	s.OK = runErr == nil && len(s.Failures) == 0
	return s
}

// stepEnv is the environment make gives unit and e2e: VMT_BIN_DIR and, on the local
// provider, VMT_VIRTCTL, unless already set.
func stepEnv(root string) []string {
	env := os.Environ()
	if os.Getenv("VMT_BIN_DIR") == "" {
		env = append(env, "VMT_BIN_DIR="+filepath.Join(root, "bin"))
	}
	if os.Getenv("VMT_VIRTCTL") == "" {
		env = append(env, "VMT_VIRTCTL="+filepath.Join(root, "bin", "vmt-virtctl"))
	}
	return env
}

func modulePath(goMod string) (string, error) {
	raw, err := os.ReadFile(goMod)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("%s has no module line", goMod)
}

// lastLine is the last non-empty line of a file that starts with prefix ("" for any).
func lastLine(path, prefix string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var last string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" && strings.HasPrefix(t, prefix) {
			last = t
		}
	}
	return last
}

// appendTranscript appends the Output of every event to logPath: what go test -v prints.
func appendTranscript(jsonPath, logPath string) {
	in, err := os.Open(jsonPath)
	if err != nil {
		return
	}
	defer in.Close()
	out, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer out.Close()
	w := bufio.NewWriter(out)
	defer w.Flush()
	fmt.Fprintf(w, "\n--- test output (the events are in %s)\n", filepath.Base(jsonPath))
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var ev testEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			fmt.Fprintln(w, sc.Text())
			continue
		}
		w.WriteString(ev.Output)
	}
}

func (h *harness) rel(p string) string {
	if r, err := filepath.Rel(h.root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func joinPids(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, " ")
}
