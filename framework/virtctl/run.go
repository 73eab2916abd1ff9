package virtctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
)

// Result is one finished `virtctl template ...` run.
type Result struct {
	Args     []string
	Stdout   string
	Stderr   string
	ExitCode int
	// Err is set when the command could not start, timed out, or exited non-zero.
	Err error
}

// String describes the run for failure messages: command, exit code and both streams.
func (r *Result) String() string {
	return fmt.Sprintf("virtctl %s\nexit code %d\n--- stdout\n%s\n--- stderr\n%s", strings.Join(r.Args, " "), r.ExitCode, r.Stdout, r.Stderr)
}

// Option changes how one invocation runs.
type Option func(*invocation)

type invocation struct {
	stdin string
	args  []string
}

// WithStdin feeds s to the command's standard input.
func WithStdin(s string) Option { return func(i *invocation) { i.stdin = s } }

// As runs the command as user with groups (kubeconfig impersonation flags --as,
// --as-group), e.g. a persona of framework/rbac.
func As(user string, groups ...string) Option {
	return func(i *invocation) {
		i.args = append(i.args, "--as", user)
		for _, g := range groups {
			i.args = append(i.args, "--as-group", g)
		}
	}
}

// Template runs `virtctl template args...` against the cluster under test with the admin
// kubeconfig (KUBECONFIG of the session), bounded by wait.Medium.
func Template(ctx context.Context, args []string, opts ...Option) *Result {
	inv := &invocation{}
	for _, o := range opts {
		o(inv)
	}
	full := append([]string{"template"}, args...)
	full = append(full, inv.args...)
	res := &Result{Args: full}
	bin := framework.Config().Virtctl
	if bin == "" {
		res.Err = errors.New("no virtctl configured: the spec needs requires-virtctl (set --vmt.virtctl or VMT_VIRTCTL)")
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, wait.Medium)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.WaitDelay = wait.Short // a child that keeps the output open cannot hold us past the kill
	cmd.Env = append(os.Environ(), "KUBECONFIG="+framework.CurrentSession().KubeconfigPath)
	cmd.Stdin = strings.NewReader(inv.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	res.Err = cmd.Run()
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	res.ExitCode = cmd.ProcessState.ExitCode()
	if ctx.Err() != nil {
		res.Err = fmt.Errorf("virtctl did not finish within %v: %w", wait.Medium, ctx.Err())
	}
	return res
}
