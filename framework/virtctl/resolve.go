// Package virtctl finds and runs `virtctl template ...`: a real virtctl or the reference CLI
// (bin/vmt-virtctl), chosen by --vmt.virtctl, so the same specs check both.
package virtctl

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/vmt-conformance/vmt-conformance/framework/wait"
)

// Resolve finds the binary: path when set (it must exist and answer `template --help`
// within wait.Medium), otherwise virtctl on PATH. ok=false with a reason when none is
// usable; err only for a configured path that does not work, which is a configuration error.
func Resolve(ctx context.Context, path string) (bin string, ok bool, reason string, err error) {
	if path == "" {
		found, lookErr := exec.LookPath("virtctl")
		if lookErr != nil {
			return "", false, "no virtctl on PATH and --vmt.virtctl not set", nil
		}
		path = found
	} else if _, lookErr := exec.LookPath(path); lookErr != nil {
		return "", false, "", fmt.Errorf("--vmt.virtctl=%s: %w", path, lookErr)
	}
	ctx, cancel := context.WithTimeout(ctx, wait.Medium)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "template", "--help")
	cmd.WaitDelay = wait.Short // a child that keeps the output open cannot hold us past the kill
	if out, runErr := cmd.CombinedOutput(); runErr != nil {
		why := fmt.Sprintf("%s has no `template` command (%v): %.200s", path, runErr, out)
		return "", false, why, nil
	}
	return path, true, path + " answers `template --help`", nil
}
