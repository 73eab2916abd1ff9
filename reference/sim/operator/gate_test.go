package operator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
)

func TestWanted(t *testing.T) {
	kv := func(enabled, disabled []string, deployment *bool) *kubevirtv1.KubeVirt {
		k := &kubevirtv1.KubeVirt{}
		k.Spec.Configuration.DeveloperConfiguration = &kubevirtv1.DeveloperConfiguration{FeatureGates: enabled, DisabledFeatureGates: disabled}
		if deployment != nil {
			k.Spec.Configuration.VirtTemplateDeployment = &kubevirtv1.VirtTemplateDeployment{Enabled: deployment}
		}
		return k
	}
	deleting := kv([]string{TemplateGate}, nil, nil)
	deleting.DeletionTimestamp = &metav1.Time{}
	for _, tc := range []struct {
		name     string
		kv       *kubevirtv1.KubeVirt
		maturity GateMaturity
		want     bool
	}{
		{"no CR", nil, Beta, false},
		{"alpha default is off", kv(nil, nil, nil), Alpha, false},
		{"beta default is on", kv(nil, nil, nil), Beta, true},
		{"listed turns alpha on", kv([]string{"Snapshot", TemplateGate}, nil, nil), Alpha, true},
		{"disabled turns beta off", kv(nil, []string{TemplateGate}, nil), Beta, false},
		{"disabled wins over listed", kv([]string{TemplateGate}, []string{TemplateGate}, nil), Beta, false},
		{"deployment switch off", kv([]string{TemplateGate}, nil, ptr.To(false)), Beta, false},
		{"deployment switch on", kv([]string{TemplateGate}, nil, ptr.To(true)), Alpha, true},
		{"switch on does not enable a disabled gate", kv(nil, []string{TemplateGate}, ptr.To(true)), Beta, false},
		{"CR being deleted", deleting, Beta, false},
		{"no developer configuration, beta", &kubevirtv1.KubeVirt{}, Beta, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := Wanted(tc.kv, tc.maturity)
			if got != tc.want {
				t.Fatalf("Wanted = %v (%s), want %v", got, why, tc.want)
			}
			if why == "" {
				t.Fatal("Wanted gave no reason")
			}
		})
	}
}

// TestMaturityFor: the Template gate is Alpha in KubeVirt v1.8 (active.go@v1.8.0:274) and
// Beta from v1.9.0-rc.0 on (@v1.9.0:325); the unknown version is the newest.
func TestMaturityFor(t *testing.T) {
	for kv, want := range map[string]GateMaturity{
		"v1.8.0": Alpha, "v1.8.4": Alpha, "v1.9.0-beta.0": Alpha,
		"v1.9.0-rc.0": Beta, "v1.9.0": Beta, "v1.10.0": Beta, "unknown": Beta,
	} {
		if got := MaturityFor(release.MustParse(kv)); got != want {
			t.Errorf("MaturityFor(%s) = %s, want %s", kv, got, want)
		}
	}
}

// TestOptionsFollowTheKubeVirtVersion: the version decides the gate's maturity and the
// virt-template release, unless the maturity is given; versions without virt-template are
// refused.
func TestOptionsFollowTheKubeVirtVersion(t *testing.T) {
	bin := t.TempDir()
	for _, b := range []string{apiserverBinary, controllerBinary} {
		if err := os.WriteFile(filepath.Join(bin, b), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		kubevirt     string
		maturity     GateMaturity
		wantMaturity GateMaturity
		wantRelease  string
	}{
		{"", "", Beta, "v0.2.2"},
		{"v1.8.4", "", Alpha, "v0.1.8"},
		{"v1.8.1", "", Alpha, "v0.1.7"},
		{"v1.8.4", Beta, Beta, "v0.1.8"},
	} {
		o := Options{Dir: t.TempDir(), BinDir: bin, KubeVirtVersion: tc.kubevirt, Maturity: tc.maturity}
		if err := o.complete(); err != nil {
			t.Fatalf("%q: %v", tc.kubevirt, err)
		}
		if o.Maturity != tc.wantMaturity || o.virtTemplate.String() != tc.wantRelease {
			t.Errorf("%q: maturity %s, virt-template %s; want %s, %s", tc.kubevirt, o.Maturity, o.virtTemplate, tc.wantMaturity, tc.wantRelease)
		}
	}
	o := Options{Dir: t.TempDir(), BinDir: bin, KubeVirtVersion: "v1.7.0"}
	if err := o.complete(); err == nil || !strings.Contains(err.Error(), "deploys no virt-template") {
		t.Fatalf("v1.7.0: %v", err)
	}
}

func TestDescribeBinaryAndTag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(path, []byte("hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := describeBinary(path)
	// sha256("hello\n") = 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03
	if err != nil || got != path+" sha256:5891b5b522d5" {
		t.Fatalf("describeBinary = %q, %v", got, err)
	}
	for in, want := range map[string]string{
		"ghcr.io/vmt-conformance/vmt-template-controller:devel": "ghcr.io/vmt-conformance/vmt-template-controller:v0.1.8",
		"localhost:5000/virt-template-apiserver":                "localhost:5000/virt-template-apiserver:v0.1.8",
	} {
		if got := withTag(in, "v0.1.8"); got != want {
			t.Errorf("withTag(%s) = %s, want %s", in, got, want)
		}
	}
}
