package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLocalProfile: --vmt.local.profile over VMT_PROFILE over the default kubevirt-1.9; an
// unknown one is one line naming the known ones; with the local and kind providers the
// reference CLI's KubeVirt version follows the profile unless set.
func TestLocalProfile(t *testing.T) {
	const virtctlEnv = "VMT_VIRTCTL_KUBEVIRT_VERSION"
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		env         map[string]string
		args        []string
		wantProfile string
		wantVirtctl string // after Validate; "" = left unset
		wantErr     string
	}{
		{name: "default", args: []string{"-vmt.provider=local"}, wantProfile: "kubevirt-1.9", wantVirtctl: "v1.9.0"},
		{name: "env", env: map[string]string{"VMT_PROFILE": "kubevirt-1.8"}, args: []string{"-vmt.provider=local"}, wantProfile: "kubevirt-1.8", wantVirtctl: "v1.8.4"},
		{name: "flag over env", env: map[string]string{"VMT_PROFILE": "kubevirt-1.8"}, args: []string{"-vmt.provider=local", "-vmt.local.profile=kubevirt-1.9"}, wantProfile: "kubevirt-1.9", wantVirtctl: "v1.9.0"},
		{name: "virtctl version kept", env: map[string]string{"VMT_PROFILE": "kubevirt-1.8", virtctlEnv: "v1.9.0"}, args: []string{"-vmt.provider=local"}, wantProfile: "kubevirt-1.8", wantVirtctl: "v1.9.0"},
		{name: "kind provider follows the profile too", args: []string{"-vmt.provider=kind", "-vmt.local.profile=kubevirt-1.8"}, wantProfile: "kubevirt-1.8", wantVirtctl: "v1.8.4"},
		{name: "existing provider leaves virtctl alone", env: map[string]string{"KUBECONFIG": kubeconfig}, args: []string{"-vmt.local.profile=kubevirt-1.8"}, wantProfile: "kubevirt-1.8"},
		{name: "unknown flag", args: []string{"-vmt.provider=local", "-vmt.local.profile=kubevirt-2.0"}, wantErr: `unknown local profile "kubevirt-2.0" (known: kubevirt-1.8, kubevirt-1.9)`},
		{name: "unknown env", env: map[string]string{"VMT_PROFILE": "1.8"}, args: []string{"-vmt.provider=local"}, wantErr: `unknown local profile "1.8" (known: kubevirt-1.8, kubevirt-1.9)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("VMT_PROFILE", "")
			t.Setenv(virtctlEnv, "") // t.Setenv restores the variable after the test
			c, err := load(t, tc.env, tc.args...)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want exactly %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Local.Profile != tc.wantProfile {
				t.Errorf("profile %q, want %q", c.Local.Profile, tc.wantProfile)
			}
			if got := os.Getenv(virtctlEnv); got != tc.wantVirtctl {
				t.Errorf("%s=%q, want %q", virtctlEnv, got, tc.wantVirtctl)
			}
		})
	}
}

// TestLocalProfileUnregistered: a Config built without Register (cmd/vmt-e2e) plays the
// default profile.
func TestLocalProfileUnregistered(t *testing.T) {
	t.Setenv("VMT_VIRTCTL_KUBEVIRT_VERSION", "")
	c := &Config{Provider: "local"}
	if err := c.Validate(); err != nil && !strings.Contains(err.Error(), "dump") {
		t.Fatal(err)
	}
	if got := os.Getenv("VMT_VIRTCTL_KUBEVIRT_VERSION"); got != "v1.9.0" {
		t.Fatalf("VMT_VIRTCTL_KUBEVIRT_VERSION=%q, want v1.9.0", got)
	}
}
