package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// laneResult is what a lane's report.json says.
type laneResult struct {
	Ran, Passed int
	Failures    []failure
}

// parseGinkgoReport reads the report.json ginkgo writes (a list of suite reports) and
// returns the specs that failed (failed, timed out, panicked, interrupted, aborted), failed
// suite nodes (BeforeSuite and the like) and special suite failure reasons when nothing
// else failed. Each failure's line is "file.go:NN: first line of the message", with the
// state when it is not plain "failed". root shortens file names.
func parseGinkgoReport(path, step, root string) (laneResult, error) {
	var res laneResult
	raw, err := os.ReadFile(path)
	if err != nil {
		return res, err
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		return res, fmt.Errorf("decoding %s: %w", path, err)
	}
	for _, r := range reports {
		failedHere := 0
		for _, sr := range r.SpecReports {
			isIt := sr.LeafNodeType == types.NodeTypeIt
			if isIt && (sr.State == types.SpecStatePassed || sr.State.Is(types.SpecStateFailureStates)) {
				res.Ran++
				if sr.State == types.SpecStatePassed {
					res.Passed++
				}
			}
			if !sr.State.Is(types.SpecStateFailureStates) {
				continue
			}
			failedHere++
			res.Failures = append(res.Failures, failure{Step: step, Name: specName(sr), Line: specFailureLine(sr, root)})
		}
		if !r.SuiteSucceeded && failedHere == 0 {
			reason := strings.Join(r.SpecialSuiteFailureReasons, "; ")
			res.Failures = append(res.Failures, failure{Step: step, Name: "suite " + orDefault(r.SuiteDescription, r.SuitePath),
				Line: orDefault(reason, "the suite failed without a failed spec")})
		}
	}
	sort.SliceStable(res.Failures, func(i, j int) bool { return res.Failures[i].Name < res.Failures[j].Name })
	return res, nil
}

// specName is "VMT-003 container text leaf text", or "[BeforeSuite] file.go:NN" for a suite node.
func specName(sr types.SpecReport) string {
	if sr.LeafNodeType != types.NodeTypeIt {
		return fmt.Sprintf("[%s] %s", sr.LeafNodeType, filepath.Base(sr.LeafNodeLocation.FileName)+fmt.Sprintf(":%d", sr.LeafNodeLocation.LineNumber))
	}
	name := sr.FullText()
	for _, l := range sr.Labels() {
		if strings.HasPrefix(l, "VMT-") {
			return l + " " + name
		}
	}
	return name
}

func specFailureLine(sr types.SpecReport, root string) string {
	msg := ""
	for _, l := range strings.Split(sr.Failure.Message, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			msg = t
			break
		}
	}
	if msg == "" && sr.Failure.ForwardedPanic != "" {
		msg = "panic: " + strings.SplitN(strings.TrimSpace(sr.Failure.ForwardedPanic), "\n", 2)[0]
	}
	if sr.State != types.SpecStateFailed {
		msg = fmt.Sprintf("[%s] %s", sr.State, msg)
	}
	loc := sr.Failure.Location
	if loc.FileName == "" {
		return strings.TrimSpace(msg)
	}
	file := loc.FileName
	if rel, err := filepath.Rel(root, file); err == nil && !strings.HasPrefix(rel, "..") {
		file = rel
	}
	return fmt.Sprintf("%s:%d: %s", file, loc.LineNumber, msg)
}
