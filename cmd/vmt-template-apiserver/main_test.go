package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vmt-conformance/vmt-conformance/reference/faults"
)

// runMainEnv makes the test binary run main instead of the tests (see TestMain).
const runMainEnv = "VMT_TEST_RUN_APISERVER_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// An unknown fault stops the server before it parses flags or touches a cluster: exit 2 and
// one line naming the variable, the fault and the known ones.
func TestUnknownFaultIsOneLineAndExit2(t *testing.T) {
	cmd := exec.Command(os.Args[0], "--kubeconfig=/nonexistent")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", faults.EnvVar+"=ignore-parameter-defaults,no-such-fault")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 2 {
		t.Fatalf("want exit 2, got %v; stderr %q", err, stderr.String())
	}
	line := stderr.String()
	want := `vmt-template-apiserver: ` + faults.EnvVar + `: unknown fault "no-such-fault" (known: ` + faults.KnownList() + ")\n"
	if line != want {
		t.Errorf("stderr %q, want %q", line, want)
	}
	if stdout.Len() > 0 {
		t.Errorf("stdout %q, want nothing", stdout.String())
	}
}
