package main

import (
	"bytes"
	"strings"
	"testing"
)

// The lines are ginkgo v2.27's -v output under -p, colours included, as the CLI prints
// them: a suite node, a passed spec with a timeline, a failed spec.
const ginkgoStream = "\x1b[38;5;10m[SynchronizedBeforeSuite] PASSED [1.229 seconds]\x1b[0m\n" +
	"\x1b[38;5;243m------------------------------\x1b[0m\n" +
	"\x1b[38;5;10m• [0.069 seconds]\x1b[0m\n" +
	"\x1b[0mRestricting users \x1b[38;5;10m\x1b[1mlets a viewer read\x1b[0m \x1b[38;5;204m[VMT-005, tier1, P0, CNV-73392]\x1b[0m\n" +
	"\x1b[38;5;243m/work/main/tests/rbac.go:40\x1b[0m\n" +
	"  \x1b[1mSTEP:\x1b[0m granting a user what upstream's viewer role grants\n" +
	"\x1b[38;5;243m------------------------------\x1b[0m\n" +
	"\x1b[38;5;9m• [FAILED] [0.120 seconds]\x1b[0m\n" +
	"\x1b[0mProcessing a template \x1b[38;5;9m\x1b[1m[It] substitutes parameters\x1b[0m \x1b[38;5;204m[VMT-003, tier1, P0, CNV-73392]\x1b[0m\n"

func TestProgressCountsSpecsAsGinkgoPrintsThem(t *testing.T) {
	var out bytes.Buffer
	plan := []plannedSpec{{Scenario: "VMT-005"}, {Scenario: "VMT-003"}, {Scenario: "VMT-003"}}
	if err := newProgress(&out, plan).stream(strings.NewReader(ginkgoStream)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "▸") {
			got = append(got, l)
		}
	}
	want := []string{
		"▸ vmt-e2e: 1/3 specs done, 0 failed, 2 remain; VMT-005 passed; to go: VMT-003×2",
		"▸ vmt-e2e: 2/3 specs done, 1 failed, 1 remain; VMT-003 failed; to go: VMT-003×1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(out.String(), "granting a user what upstream's viewer role grants") {
		t.Error("ginkgo's own output was not passed through")
	}
}

func TestDeclaredMissing(t *testing.T) {
	got, err := declaredMissing("-guest,+virtctl,-snapshot-storage")
	if err != nil || strings.Join(got, " ") != "requires-guest requires-snapshot-storage" {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := declaredMissing("-nonsense"); err == nil {
		t.Error("an unknown capability was accepted")
	}
}
