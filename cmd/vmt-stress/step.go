package main

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

// runStep runs cmd in a process group of its own, so that neither the terminal's Ctrl-C nor
// anything else reaches it except through here. When ctx ends it sends SIGINT to the whole
// group, as Ctrl-C in a terminal does (make and go test wait for their children to handle
// it; vmt-e2e relies on ginkgo and the suite processes getting it too: a SIGINT to vmt-e2e
// alone lets the lane run to its end), and waits up to grace for the step to finish its
// clean-up; after grace, or at once when force closes, it kills the group. Whatever
// happens, it kills what is left of the group once the step's process has exited, so a step
// leaves no process behind (except ones that moved to a group of their own, which must
// clean up after themselves).
func runStep(ctx context.Context, force <-chan struct{}, cmd *exec.Cmd, grace time.Duration) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return err
	}
	pgid := cmd.Process.Pid
	defer func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	_ = syscall.Kill(-pgid, syscall.SIGINT)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
	case <-force:
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return <-done
}
