package tiers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CleanupFile is where the suite (framework/cleanup, from its last SynchronizedAfterSuite
// node) writes its CleanupReport; vmt-e2e copies it into run.json and prints it.
const CleanupFile = "cleanup.json"

// CleanupReport is the suite's proof of its own cleanup: after every spec ran (and on
// interrupt), it waited up to a bounded interval for every namespace and cluster-scoped object
// labelled with the run to be gone, and lists what was not.
type CleanupReport struct {
	RunID string `json:"runID,omitempty"`
	// Verified: nothing of the run is left, apart from what was kept on purpose.
	Verified bool `json:"verified"`
	// Skipped: the check did not run (--vmt.skip-cleanup-check).
	Skipped bool `json:"skipped,omitempty"`
	// Error says why the check could not be made (no cluster connection, the API failing).
	Error string `json:"error,omitempty"`
	// Timeout is how long the check was allowed to wait; Waited how long it did.
	Timeout time.Duration `json:"timeout,omitempty"`
	Waited  time.Duration `json:"waited,omitempty"`
	// Kept are objects kept on purpose (--vmt.keep-on-failure, the upgrade-pre state): listed,
	// never counted as leftovers.
	Kept []CleanupObject `json:"kept,omitempty"`
	// Leftovers are objects of the run still there after the wait, with what blocks them.
	Leftovers []CleanupObject `json:"leftovers,omitempty"`
	// EarlierRuns is one line per action on objects earlier runs left on the cluster, taken
	// when this run started (deleted, still terminating, kept on purpose).
	EarlierRuns []string `json:"earlierRuns,omitempty"`
}

// CleanupObject is one object of a run: a leftover with what blocks its deletion, or an
// object kept on purpose with why.
type CleanupObject struct {
	Kind       string   `json:"kind"`
	Name       string   `json:"name"`
	Namespace  string   `json:"namespace,omitempty"`
	Finalizers []string `json:"finalizers,omitempty"`
	Reason     string   `json:"reason,omitempty"`
}

// Ref is "Kind namespace/name" or "Kind name".
func (o CleanupObject) Ref() string {
	if o.Namespace != "" {
		return fmt.Sprintf("%s %s/%s", o.Kind, o.Namespace, o.Name)
	}
	return o.Kind + " " + o.Name
}

// String is the object with its finalizers and reason, on one line.
func (o CleanupObject) String() string {
	s := o.Ref()
	if len(o.Finalizers) > 0 {
		s += " finalizers [" + strings.Join(o.Finalizers, " ") + "]"
	}
	if o.Reason != "" {
		s += ": " + o.Reason
	}
	return s
}

// Failed is true when the run left something behind or could not be checked.
func (c *CleanupReport) Failed() bool {
	return c != nil && !c.Skipped && (len(c.Leftovers) > 0 || c.Error != "")
}

// Line is the one-line verdict of the summary: "cleanup verified …", "cleanup NOT
// verified …", "cleanup not checked …".
func (c *CleanupReport) Line() string {
	switch {
	case c == nil:
		return "cleanup not checked: the suite wrote no " + CleanupFile + " (it stopped before its last node)"
	case c.Skipped:
		return "cleanup not checked (--vmt.skip-cleanup-check)"
	case c.Error != "":
		return "cleanup NOT verified: the check failed: " + c.Error
	case len(c.Leftovers) > 0:
		return fmt.Sprintf("cleanup NOT verified: %d object%s of run %s left after waiting %s", len(c.Leftovers), plural(len(c.Leftovers)), c.RunID, c.Timeout)
	}
	s := fmt.Sprintf("cleanup verified: nothing of run %s is left (waited %s)", c.RunID, c.Waited.Round(100*time.Millisecond))
	if len(c.Kept) > 0 {
		names := make([]string, len(c.Kept))
		for i, k := range c.Kept {
			names[i] = k.Ref()
		}
		s += fmt.Sprintf("; kept on purpose: %s", strings.Join(names, ", "))
	}
	return s
}

// Lines are Line followed by one line per leftover, kept object and earlier-run action,
// each starting with its tag (LEFTOVER, kept, earlier run).
func (c *CleanupReport) Lines() []string {
	out := []string{c.Line()}
	if c == nil {
		return out
	}
	for _, o := range c.Leftovers {
		out = append(out, "LEFTOVER "+o.String())
	}
	for _, o := range c.Kept {
		out = append(out, "kept "+o.String())
	}
	for _, l := range c.EarlierRuns {
		out = append(out, "earlier run: "+l)
	}
	return out
}

// WriteCleanup writes the report as dir/cleanup.json.
func WriteCleanup(dir string, c CleanupReport) error {
	raw, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, CleanupFile), append(raw, '\n'), 0o644)
}

// ReadCleanup reads dir/cleanup.json; nil without error when the file does not exist.
func ReadCleanup(dir string) (*CleanupReport, error) {
	path := filepath.Join(dir, CleanupFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var c CleanupReport
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s is not a cleanup report: %w", path, err)
	}
	return &c, nil
}
