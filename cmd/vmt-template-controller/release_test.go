package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/vmt-conformance/vmt-conformance/reference/emulation"
)

// --emulate-release: default v0.2.2, any version release.Parse accepts, "" the newest
// behaviour; a bad or too old value is one line and exit 2.
func TestEmulateReleaseFlag(t *testing.T) {
	for args, want := range map[string]string{"": "v0.2.2", "--emulate-release=v0.1.8": "v0.1.8",
		"--emulate-release=0.1.7": "v0.1.7", "--emulate-release=": "unknown", "--emulate-release=unknown": "unknown"} {
		c, err := parse(strings.Fields(args), &bytes.Buffer{}, noEnv)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if got := c.release.String(); got != want {
			t.Errorf("%q: release %s, want %s", args, got, want)
		}
	}
	if emulation.Default.String() != "v0.2.2" {
		t.Errorf("default %s", emulation.Default)
	}
	for arg, want := range map[string]string{
		"--emulate-release=v1":     `invalid value "v1" for flag -emulate-release: release: "v1" is not a version`,
		"--emulate-release=v0.1.6": "virt-template v0.1.6 cannot be emulated: the oldest release the reference implementation plays is v0.1.7",
	} {
		var stdout, stderr bytes.Buffer
		code := run([]string{arg}, &stdout, &stderr, func() context.Context {
			t.Fatal("an invalid release must not start anything")
			return nil
		})
		if code != exitUsage || strings.Count(stderr.String(), "\n") != 1 || !strings.HasPrefix(stderr.String(), name0) ||
			!strings.Contains(stderr.String(), want) || stdout.Len() > 0 {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line containing %q", arg, code, stderr.String(), want)
		}
	}
	var stdout bytes.Buffer
	if code := run([]string{"--help"}, &stdout, &bytes.Buffer{}, nil); code != exitOK ||
		!strings.Contains(stdout.String(), "-emulate-release version\n    \t(addition) virt-template release to behave as") ||
		!strings.Contains(stdout.String(), "(not an upstream flag) (default v0.2.2)") {
		t.Errorf("--help: %q", stdout.String())
	}
}

func TestBanner(t *testing.T) {
	c, err := parse([]string{"--emulate-release=v0.1.8"}, &bytes.Buffer{}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := emulation.Banner(name, c.release); got != "vmt-template-controller: emulating virt-template v0.1.8" {
		t.Errorf("banner %q", got)
	}
}
