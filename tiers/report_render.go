package tiers

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// The files a run's artifacts directory holds. The runner writes the inputs; the reports
// are generated from them by GenerateReports (vmt-report, and vmt-e2e after a run).
const (
	ReportJSONFile = "report.json"    // input: ginkgo --json-report
	RunInfoFile    = "run.json"       // input: RunInfo, written by vmt-e2e (optional)
	PreflightFile  = "preflight.json" // input: []PreflightCheck, written by vmt-nightly (optional)

	JUnitFile      = "junit.xml"
	MatrixMDFile   = "traceability.md"
	MatrixHTMLFile = "traceability.html"
	GAMDFile       = "ga-readiness.md"
	GAHTMLFile     = "ga-readiness.html"
	GAJSONFile     = "ga-readiness.json"
)

// ReportFiles lists the generated reports, in the order they are written.
func ReportFiles() []string {
	return []string{JUnitFile, MatrixMDFile, MatrixHTMLFile, GAMDFile, GAHTMLFile, GAJSONFile}
}

// InputError is a problem with what GenerateReports was given (no directory, no
// report.json, a report that does not decode), as opposed to a failure to write.
type InputError struct{ msg string }

func (e *InputError) Error() string { return e.msg }

func inputErr(format string, args ...any) error { return &InputError{fmt.Sprintf(format, args...)} }

// GenerateReports reads report.json (and run.json, preflight.json when present) from dir,
// traces the run to the catalogue and writes every report into dir.
func GenerateReports(dir string) (*Analysis, error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, inputErr("artifacts directory %s does not exist", dir)
	case err != nil:
		return nil, inputErr("artifacts directory %s: %v", dir, err)
	case !info.IsDir():
		return nil, inputErr("%s is not a directory", dir)
	}
	reports, err := ReadGinkgoReport(filepath.Join(dir, ReportJSONFile))
	if err != nil {
		return nil, err
	}
	var run RunInfo
	if err := readJSON(filepath.Join(dir, RunInfoFile), &run); err != nil {
		return nil, err
	}
	if len(run.Preflight) == 0 {
		if err := readJSON(filepath.Join(dir, PreflightFile), &run.Preflight); err != nil {
			return nil, err
		}
	}
	if run.SUT == nil {
		if err := readJSON(filepath.Join(dir, SUTFile), &run.SUT); err != nil {
			return nil, err
		}
	}
	if run.Cleanup == nil {
		if run.Cleanup, err = ReadCleanup(dir); err != nil {
			return nil, inputErr("%v", err)
		}
	}
	a, err := Analyze(reports, run)
	if err != nil {
		return nil, inputErr("%v", err)
	}
	return a, a.WriteAll(dir, reports)
}

// ReadGinkgoReport reads a ginkgo --json-report file.
func ReadGinkgoReport(path string) ([]types.Report, error) {
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, inputErr("%s has no %s: run a lane first (make e2e) or point --artifacts at a run's directory", filepath.Dir(path), filepath.Base(path))
	case err != nil:
		return nil, inputErr("reading %s: %v", path, err)
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		return nil, inputErr("%s is not a ginkgo JSON report: %v", path, err)
	}
	if len(reports) == 0 {
		return nil, inputErr("%s holds no suite report", path)
	}
	return reports, nil
}

// readJSON decodes an optional file; a missing file leaves v alone.
func readJSON(path string, v any) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return inputErr("reading %s: %v", path, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return inputErr("%s: %v", path, err)
	}
	return nil
}

// WriteAll writes every report into dir.
func (a *Analysis) WriteAll(dir string, reports []types.Report) error {
	if err := a.WriteJUnit(reports, filepath.Join(dir, JUnitFile)); err != nil {
		return err
	}
	for name, render := range map[string]func() ([]byte, error){
		MatrixMDFile:   a.MatrixMarkdown,
		MatrixHTMLFile: a.MatrixHTML,
		GAMDFile:       a.GAMarkdown,
		GAHTMLFile:     a.GAHTML,
		GAJSONFile:     a.GAJSON,
	} {
		out, err := render()
		if err != nil {
			return fmt.Errorf("tiers: rendering %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// MatrixMarkdown renders the traceability matrix as Markdown.
func (a *Analysis) MatrixMarkdown() ([]byte, error) { return a.renderText("matrix.md.tmpl") }

// MatrixHTML renders the traceability matrix as a self-contained HTML page.
func (a *Analysis) MatrixHTML() ([]byte, error) { return a.renderHTML("matrix.html.tmpl") }

// GAMarkdown renders the GA-readiness report as Markdown.
func (a *Analysis) GAMarkdown() ([]byte, error) { return a.renderText("ga.md.tmpl") }

// GAHTML renders the GA-readiness report as a self-contained HTML page.
func (a *Analysis) GAHTML() ([]byte, error) { return a.renderHTML("ga.html.tmpl") }

// GAJSON renders the whole analysis, verdict first, as JSON.
func (a *Analysis) GAJSON() ([]byte, error) {
	doc := struct {
		Kind        string `json:"kind"`
		VerdictText string `json:"verdictText"`
		*Analysis
	}{"vmt-conformance/ga-readiness/v1", a.Verdict.String(), a}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep && readable in label filters
	enc.SetIndent("", "  ")
	err := enc.Encode(doc)
	return b.Bytes(), err
}

// ByPriority returns the in-scope scenarios of one priority.
func (a *Analysis) ByPriority(p string) []ScenarioResult {
	var out []ScenarioResult
	for _, s := range a.Scenarios {
		if s.InScope && s.Priority == p {
			out = append(out, s)
		}
	}
	return out
}

// PriorityOf returns a scenario's priority.
func (a *Analysis) PriorityOf(id string) string {
	s, _ := a.Scenario(id)
	return s.Priority
}

// Uncovered returns the in-scope scenarios without a spec.
func (a *Analysis) Uncovered() []string {
	var out []string
	for _, s := range a.Scenarios {
		if s.State == ScenarioNoSpec {
			out = append(out, s.ID)
		}
	}
	return out
}

type nameValue struct{ Name, Value string }

var templateFuncs = map[string]any{
	"join":       strings.Join,
	"add":        func(a, b int) int { return a + b },
	"sub":        func(a, b int) int { return a - b },
	"priorities": Priorities,
	"md":         mdCell,
	"cls": func(v any) string {
		return strings.ReplaceAll(strings.ToLower(fmt.Sprint(v)), " ", "-")
	},
	"stamp": func(t time.Time) string {
		if t.IsZero() {
			return "(unknown)"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"since": func(start, end time.Time) string {
		if start.IsZero() || end.IsZero() {
			return "duration unknown"
		}
		return end.Sub(start).Round(time.Second).String()
	},
	"versions": func(m map[string]string) []nameValue {
		var out []nameValue
		for k, v := range m {
			out = append(out, nameValue{k, v})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	},
}

// mdCell makes s safe inside a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.TrimSpace(s)
}

func (a *Analysis) renderText(name string) ([]byte, error) {
	t, err := texttemplate.New(name).Funcs(templateFuncs).ParseFS(templateFS, "templates/*.md.tmpl")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, a); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (a *Analysis) renderHTML(name string) ([]byte, error) {
	t, err := htmltemplate.New(name).Funcs(templateFuncs).ParseFS(templateFS, "templates/*.html.tmpl")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, a); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
