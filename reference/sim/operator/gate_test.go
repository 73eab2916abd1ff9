package operator

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	kubevirtv1 "kubevirt.io/api/core/v1"
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
