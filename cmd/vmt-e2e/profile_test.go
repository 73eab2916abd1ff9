package main

import "testing"

// An unknown local profile is refused before anything is compiled or started, with one line
// naming the known ones; VMT_PROFILE is the flag's default.
func TestUnknownProfileIsRefused(t *testing.T) {
	t.Setenv("VMT_SKIP_CLEANUP_CHECK", "")
	t.Setenv("VMT_PROFILE", "")
	const want = `--profile: unknown local profile "kubevirt-2.0" (known: kubevirt-1.8, kubevirt-1.9)`
	code, err := run([]string{"--lane", "tier1", "--profile", "kubevirt-2.0"})
	if code != 2 || err == nil || err.Error() != want {
		t.Errorf("flag: got %d, %v", code, err)
	}
	t.Setenv("VMT_PROFILE", "kubevirt-2.0")
	code, err = run([]string{"--lane", "tier1"})
	if code != 2 || err == nil || err.Error() != want {
		t.Errorf("env: got %d, %v", code, err)
	}
}
