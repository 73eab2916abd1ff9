package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/vmt-conformance/vmt-conformance/reference/faults"
)

func TestFaultsComeFromTheEnvironmentOnly(t *testing.T) {
	c, err := parse(nil, &bytes.Buffer{}, noEnv)
	if err != nil || !c.faults.Empty() {
		t.Fatalf("without %s: %v, faults %q", faults.EnvVar, err, c.faults)
	}
	c, err = parse(nil, &bytes.Buffer{}, func(k string) string {
		return map[string]string{faults.EnvVar: "keep-source-mac"}[k]
	})
	if err != nil || !c.faults.Has(faults.KeepSourceMAC) {
		t.Fatalf("%s=keep-source-mac: %v, faults %q", faults.EnvVar, err, c.faults)
	}
}

func TestUnknownFaultIsOneLineAndExit2(t *testing.T) {
	t.Setenv(faults.EnvVar, "keep-source-mac,keep-everything")
	var stdout, stderr bytes.Buffer
	code := run(nil, &stdout, &stderr, func() context.Context {
		t.Fatal("an unknown fault must not start anything")
		return nil
	})
	if code != exitUsage {
		t.Errorf("exit code %d, want %d", code, exitUsage)
	}
	line := stderr.String()
	if strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, name0) ||
		!strings.Contains(line, `unknown fault "keep-everything"`) || !strings.Contains(line, faults.EnvVar) {
		t.Errorf("stderr %q, want one line naming %s and the unknown fault", line, faults.EnvVar)
	}
}
