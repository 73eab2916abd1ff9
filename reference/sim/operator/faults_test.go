package operator

import (
	"slices"
	"strings"
	"testing"

	"github.com/vmt-conformance/vmt-conformance/reference/faults"
)

// The components get exactly the operator's faults: none unless Options.Faults names some,
// whatever the simulator's own environment holds.
func TestChildEnvCarriesExactlyTheOperatorsFaults(t *testing.T) {
	t.Setenv(faults.EnvVar, "keep-source-mac")
	t.Setenv("VMT_SOME_OTHER_SETTING", "kept")
	faultsIn := func(env []string) []string {
		var out []string
		for _, kv := range env {
			if strings.HasPrefix(kv, faults.EnvVar+"=") {
				out = append(out, kv)
			}
		}
		return out
	}

	none := (&Options{}).childEnv()
	if got := faultsIn(none); len(got) != 0 {
		t.Errorf("without Options.Faults the components get %q", got)
	}
	if !slices.Contains(none, "VMT_SOME_OTHER_SETTING=kept") {
		t.Error("the rest of the environment must be inherited")
	}

	set, err := faults.Parse("ignore-parameter-defaults,create-without-permission")
	if err != nil {
		t.Fatal(err)
	}
	got := faultsIn((&Options{Faults: set}).childEnv())
	if want := []string{faults.EnvVar + "=create-without-permission,ignore-parameter-defaults"}; !slices.Equal(got, want) {
		t.Errorf("components get %q, want %q", got, want)
	}
}
