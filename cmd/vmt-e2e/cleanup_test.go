package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/vmt-conformance/vmt-conformance/tiers"
)

func TestPrintCleanup(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   *tiers.CleanupReport
		want string
	}{
		{"verified", &tiers.CleanupReport{RunID: "1a2b", Verified: true, Waited: 3200 * time.Millisecond, EarlierRuns: []string{"deleted Namespace vmt-x of run 0f0f"}},
			"== cleanup verified: nothing of run 1a2b is left (waited 3.2s)\n   earlier run: deleted Namespace vmt-x of run 0f0f\n"},
		{"kept", &tiers.CleanupReport{RunID: "1a2b", Verified: true, Kept: []tiers.CleanupObject{{Kind: "Namespace", Name: "vmt-f", Reason: "--vmt.keep-on-failure: its spec failed"}}},
			"== cleanup verified: nothing of run 1a2b is left (waited 0s); kept on purpose: Namespace vmt-f\n   kept Namespace vmt-f: --vmt.keep-on-failure: its spec failed\n"},
		{"leftovers", &tiers.CleanupReport{RunID: "1a2b", Timeout: 2 * time.Minute, Leftovers: []tiers.CleanupObject{
			{Kind: "Namespace", Name: "vmt-s", Finalizers: []string{"kubernetes"}, Reason: "terminating for 2m0s"},
			{Kind: "ConfigMap", Name: "leak", Namespace: "vmt-s", Finalizers: []string{"example.com/never"}, Reason: "keeps namespace vmt-s from going"},
		}}, "== cleanup NOT verified: 2 objects of run 1a2b left after waiting 2m0s\n" +
			"   LEFTOVER Namespace vmt-s finalizers [kubernetes]: terminating for 2m0s\n" +
			"   LEFTOVER ConfigMap vmt-s/leak finalizers [example.com/never]: keeps namespace vmt-s from going\n"},
		{"skipped", &tiers.CleanupReport{Skipped: true}, "== cleanup not checked (--vmt.skip-cleanup-check)\n"},
		{"missing", nil, "== cleanup not checked: the suite wrote no cleanup.json (it stopped before its last node)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printCleanup(&b, tc.in)
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
			if failed := tc.name == "leftovers"; tc.in.Failed() != failed {
				t.Errorf("Failed() = %t, want %t", tc.in.Failed(), failed)
			}
		})
	}
}

func TestBadSkipCleanupCheckIsRefused(t *testing.T) {
	t.Setenv("VMT_SKIP_CLEANUP_CHECK", "yes")
	code, err := run([]string{"--lanes"})
	if code != 2 || err == nil || err.Error() != `VMT_SKIP_CLEANUP_CHECK="yes" is not a boolean (use true or false)` {
		t.Errorf("got %d, %v", code, err)
	}
}
