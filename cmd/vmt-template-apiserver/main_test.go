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

// --emulate-release: a bad or too old value is one line and exit 2, before anything starts.
func TestBadReleaseIsOneLineAndExit2(t *testing.T) {
	for arg, want := range map[string]string{
		"--emulate-release=v1":     `vmt-template-apiserver: invalid argument "v1" for "--emulate-release" flag: release: "v1" is not a version`,
		"--emulate-release=v0.1.6": `vmt-template-apiserver: invalid argument "v0.1.6" for "--emulate-release" flag: virt-template v0.1.6 cannot be emulated: the oldest release the reference implementation plays is v0.1.7`,
	} {
		cmd := exec.Command(os.Args[0], "--kubeconfig=/nonexistent", arg)
		cmd.Env = append(os.Environ(), runMainEnv+"=1")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		exit, ok := err.(*exec.ExitError)
		if !ok || exit.ExitCode() != 2 {
			t.Fatalf("%s: want exit 2, got %v; stderr %q", arg, err, stderr.String())
		}
		if line := stderr.String(); strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, want) {
			t.Errorf("%s: stderr %q, want one line starting %q", arg, line, want)
		}
	}
}

// The start banner names the release (here the server then fails on its kubeconfig: exit 1).
func TestBannerNamesTheRelease(t *testing.T) {
	for arg, want := range map[string]string{
		"":                         "vmt-template-apiserver: emulating virt-template v0.2.2\n",
		"--emulate-release=v0.1.8": "vmt-template-apiserver: emulating virt-template v0.1.8\n",
		"--emulate-release=":       "vmt-template-apiserver: emulating virt-template unknown (newest behaviour of the release table)\n",
	} {
		args := []string{"--kubeconfig=/nonexistent"}
		if arg != "" {
			args = append(args, arg)
		}
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), runMainEnv+"=1")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		_ = cmd.Run()
		if !strings.HasPrefix(stderr.String(), want) {
			t.Errorf("%q: stderr %q, want it to start with %q", arg, stderr.String(), want)
		}
	}
}
