package selftest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/reference/faults"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// faultsTimeout bounds compiling the suite and the lane binaries and one lane run per fault
// case (~15-30 s each on two cores with warm caches; never-reconcile-templates waits out
// wait.Medium, 60 s).
const faultsTimeout = 20 * time.Minute

// caught is a spec a fault must make fail, and what its failure must say.
type caught struct {
	spec    string   // the It's text (a table entry's description)
	message []string // substrings of the failure message
}

// faultCase is one deliberate bug of the reference implementation and the smallest
// label-filtered set of specs that must catch it.
type faultCase struct {
	fault  faults.Fault
	filter string
	// log is the component whose log must show the fault injected (the one the fault lives in).
	log  string
	want []caught
}

var faultCases = []faultCase{
	{
		fault: faults.IgnoreParameterDefaults, filter: "VMT-003 && !requires-virtctl", log: "virt-template-apiserver",
		want: []caught{{
			spec:    "substitutes every parameter kind, types ${{X}} values and creates nothing",
			message: []string{"static value", `"tier": ""`},
		}},
	},
	{
		fault: faults.CreateWithoutPermission, filter: "VMT-004 && !requires-virtctl", log: "virt-template-apiserver",
		want: []caught{{
			spec:    "refuses /create with 403 to a user without the create permission",
			message: []string{"VMs after a refused /create", "vm-denied"},
		}},
	},
	{
		fault: faults.KeepSourceMAC, filter: "VMT-002", log: "virt-template-controller",
		want: []caught{
			{spec: "in the VM's namespace", message: []string{"interface default", "02:00:00:aa:bb:cc", "to be empty"}},
			{spec: "in another namespace the user may write to", message: []string{"interface default", "02:00:00:aa:bb:cc", "to be empty"}},
		},
	},
	{
		// VMT-021: the capture policy's source check. Followed to the end, the outsider's
		// capture must be refused at admission (tests/vap_capture.go); the admission specs
		// (tests/vap.go) name the requester, the request, the policy and its message, and
		// that the request was admitted.
		fault: faults.CaptureSkipsSourceCheck, filter: "VMT-021", log: "vmt-sim",
		want: []caught{
			{spec: "ends with a ready template for the owner with the source right, and with nothing for one without",
				message: []string{"must be refused at admission", "without create on virtualmachinetemplaterequests/source",
					"system:serviceaccount:vmt-target-", ":outsider", "it was admitted"}},
			{spec: "denies a cross-namespace request without the source role",
				message: []string{"capturing VirtualMachine vmt-source-", "created by system:serviceaccount:vmt-target-",
					"denied by ValidatingAdmissionPolicy virt-template-vmtr-authz",
					"with binding 'virt-template-vmtr-authz' denied request: User is not allowed to use VirtualMachine vmt-source-",
					"it was admitted (no error)"}},
			{spec: "denies a request when the source role names another VM",
				message: []string{"capturing VirtualMachine vmt-source-", "denied by ValidatingAdmissionPolicy virt-template-vmtr-authz",
					"as a source for VirtualMachineTemplateRequests", "it was admitted (no error)"}},
		},
	},
	{
		// VMT-002: a template of the requested name made by someone else fails the request
		// for good. The fault makes the request Ready=True instead, and the wait for the
		// failure stops at that wrong terminal state at once (wait.Reach), naming it.
		fault: faults.AdoptForeignTemplate, filter: "VMT-002", log: "virt-template-controller",
		want: []caught{{
			spec:    "fails for good when templateName names a template it did not create, and leaves that template untouched",
			message: []string{"wrong terminal state", "finished successfully (Ready=True)", "to fail for good (Failed)"},
		}},
	},
	{
		// VMT-029: a capture keeps Secret, ConfigMap and cloud-init secret references as
		// references. The fault copies them, data and all, into the template's namespace.
		// VMT-029 has one spec; the VMT-003 specs run beside it to show the lane works.
		fault: faults.CopySourceSecrets, filter: "VMT-029 || (VMT-003 && !requires-virtctl)", log: "virt-template-controller",
		want: []caught{{
			spec:    "keeps Secret, ConfigMap and cloud-init secret references as references and copies no data",
			message: []string{"Secret or ConfigMap data copied into", "by the capture", "Secret ", "key token"},
		}},
	},
	{
		// VMT-002 lifecycle: the finalizer of a deleted request removes its snapshot (and so
		// the snapshot's VolumeSnapshots), failed or mid-capture (tests/capture_lifecycle.go).
		// Once the request is gone, a snapshot without a deletionTimestamp stays for good:
		// the waits stop at that wrong terminal state at once (stopOnSnapshotKept).
		fault: faults.KeepSnapshotOnDelete, filter: "VMT-002", log: "virt-template-controller",
		want: []caught{
			{spec: "removes the snapshot of a failed request when the request is deleted",
				message: []string{"the VirtualMachineSnapshot of deleted request", "to be gone", "wrong terminal state",
					"is not being deleted (no deletionTimestamp) although request vmt-", "is gone, its finalizer"}},
			{spec: "leaves nothing of the source's disks when a capture still in progress is deleted",
				message: []string{"wrong terminal state: VirtualMachineSnapshot vmt-source-", "is not being deleted (no deletionTimestamp)",
					"left: VirtualMachineSnapshot vmt-source-", "VolumeSnapshot vmt-source-"}},
		},
	},
	{
		// VMT-001: the VM /create makes is the VM /process renders, field by field.
		fault: faults.CreateDropsMetadata, filter: "VMT-001 && !requires-virtctl && !requires-guest", log: "virt-template-apiserver",
		want: []caught{{
			spec:    "creates exactly the VM /process renders, and answers the same in every served version",
			message: []string{"/create answers that differ from what /process rendered", `metadata.labels.app: rendered \"fedora\", missing from the created VM`, `metadata.annotations.owner: rendered \"bob\", missing from the created VM`},
		}},
	},
	{
		// VMT-017 (parameter substitution, folded into VMT-001): every served version renders
		// the same message. The default profile serves v1beta1 and v1alpha1.
		fault: faults.V1alpha1DropsMessage, filter: "VMT-001 && !requires-virtctl && !requires-guest", log: "virt-template-apiserver",
		want: []caught{{
			spec:    "creates exactly the VM /process renders, and answers the same in every served version",
			message: []string{"v1alpha1 message", "VM vm-same (gold, owner alice) has 3 cores and 1536Mi"},
		}},
	},
	{
		// VMT-005 from the allowed side: view may read templates, never use them. Kubernetes'
		// view role aggregates into edit (and edit into admin), so on a release before
		// AggregatedProcessCreate edit and admin get the rule too and their spec fails as well.
		fault: faults.ViewMayUseTemplates, filter: "VMT-005", log: "vmt-sim",
		want: []caught{
			{spec: "lets view read templates but neither change them nor call /process or /create", message: []string{"view may create virtualmachinetemplates/process", "to be false"}},
			{spec: "lets edit and admin call /process and /create only from the release that grants it", message: []string{"edit may create virtualmachinetemplates/process"}},
		},
	},
	{
		// VMT-006: --local and --file refuse an undeclared key as the server does. The fault
		// lives in the CLI, which has no component log: its banner is on the stderr the
		// failure message shows.
		fault: faults.LocalAcceptsUndeclaredParameters, filter: "VMT-006", log: "",
		want: []caught{{
			spec: "refuses a parameter the template does not declare, locally as on the server",
			message: []string{"--local with -p refuses an undeclared parameter as the server does", "exit code 0",
				"FAULTS INJECTED ON PURPOSE (" + faults.EnvVar + "=" + string(faults.LocalAcceptsUndeclaredParameters) + ")"},
		}},
	},
	{
		// VMT-016: a controller that never reconciles templates fails readiness (after
		// wait.Medium: upstream never sets Ready=False, so only the bound ends the wait).
		fault: faults.NeverReconcileTemplates, filter: "VMT-016", log: "virt-template-controller",
		want: []caught{{
			spec:    "reconciles a new template to Ready",
			message: []string{"to be Ready for generation", "condition Ready=True reason Reconciled"},
		}},
	},
	{
		// VMT-023, disks: a VM must not get a disk cloned from a namespace its service account
		// may not clone from; the wait stops as soon as the DataVolume appears.
		fault: faults.SkipCloneAuthorization, filter: "VMT-023", log: "vmt-sim",
		want: []caught{{
			spec:    "gives a VM no disk cloned from a namespace its service account may not clone from, until it may",
			message: []string{"wrong terminal state", "-root is created", "has insufficient permissions in clone source namespace vmt-golden-restricted-"},
		}},
	},
}

// faultsTestedElsewhere are the faults whose self-test needs more than a failed spec with a
// message, and the test that has it.
var faultsTestedElsewhere = map[faults.Fault]string{
	faults.NeverAnswer:       "TestNoWaitWithoutABound (bounds_test.go): the specs must fail within the request interval",
	faults.FailVMDataVolumes: "TestWrongTerminalStateEndsTheWait (terminal_test.go): the specs must fail at the terminal state, far within their intervals",
}

// TestReferenceFaultsAreCaught is issue 6's "done when": breaking the reference
// implementation on purpose (VMT_REFERENCE_FAULTS, package reference/faults) makes the
// specs that cover the broken behaviour fail, each time, and the run names them. Each fault
// gets its own hermetic lane (the components read the variable once, at start) running only
// the scenario that should catch it. Specs of the same run that do not touch the fault must
// still pass: the lane itself works and the failure is the fault's. That the same specs pass
// without any fault is what the tier1 lane shows on every run.
func TestReferenceFaultsAreCaught(t *testing.T) {
	if err := local.CheckAssets(local.DefaultAssetsDir()); err != nil {
		t.Fatal(err)
	}
	if len(faultCases)+len(faultsTestedElsewhere) != len(faults.Known) {
		t.Fatalf("%d fault cases and %d tested elsewhere for %d known faults %q: every fault needs a case", len(faultCases), len(faultsTestedElsewhere), len(faults.Known), faults.Known)
	}
	for _, f := range faults.Known {
		if _, ok := faultsTestedElsewhere[f]; !ok && !slices.ContainsFunc(faultCases, func(fc faultCase) bool { return fc.fault == f }) {
			t.Fatalf("fault %s has no case", f)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), faultsTimeout)
	defer cancel()
	root := moduleRoot(t, ctx)
	dir := t.TempDir()

	// The lane binaries are built from this checkout: a stale $VMT_BIN_DIR would not know
	// the faults (and would make every case fail for the wrong reason).
	bin := laneBinaries(t, ctx, root, dir)
	suite := compileSuite(t, ctx, root, dir)

	for _, fc := range faultCases {
		t.Run(string(fc.fault), func(t *testing.T) {
			runDir := filepath.Join(dir, string(fc.fault))
			report := filepath.Join(runDir, "report.json")
			artifacts := filepath.Join(runDir, "artifacts")
			run := exec.CommandContext(ctx, suite,
				"-ginkgo.label-filter="+fc.filter,
				"-ginkgo.json-report="+report,
				"-ginkgo.no-color",
				"-vmt.provider=local",
				"-vmt.artifacts="+artifacts,
				"-vmt.virtctl="+filepath.Join(bin, "vmt-virtctl"))
			run.Dir = filepath.Join(root, "tests")
			run.Env = append(os.Environ(),
				faults.EnvVar+"="+string(fc.fault),
				local.BinDirEnv+"="+bin,
				"VMT_TEMPLATE_APISERVER_ARGS=", "VMT_ARTIFACTS=", "VMT_COMPONENT_LOGS=", "VMT_CAPABILITIES=")
			began := time.Now()
			out, err := run.CombinedOutput()
			t.Logf("%s=%s, --label-filter=%q: ran in %v", faults.EnvVar, fc.fault, fc.filter, time.Since(began).Round(time.Second))
			if err == nil {
				t.Fatalf("the suite passed with %s injected: no spec of %q catches it\n%s", fc.fault, fc.filter, tail(out))
			}

			specs := ranSpecs(t, report, out)
			failed, passed := map[string]types.SpecReport{}, 0
			for _, s := range specs {
				switch {
				case s.State.Is(types.SpecStatePassed):
					passed++
				case s.State.Is(types.SpecStateFailureStates):
					failed[s.LeafNodeText] = s
				}
			}
			for _, w := range fc.want {
				s, ok := failed[w.spec]
				if !ok {
					t.Errorf("spec %q did not fail with %s injected", w.spec, fc.fault)
					continue
				}
				if s.LeafNodeType != types.NodeTypeIt || s.Failure.FailureNodeType != types.NodeTypeIt {
					t.Errorf("spec %q failed in its %s, not in its body: %s", w.spec, s.Failure.FailureNodeType, s.Failure.Message)
				}
				for _, m := range w.message {
					if !strings.Contains(s.Failure.Message, m) {
						t.Errorf("the failure of %q lacks %q:\n%s", w.spec, m, s.Failure.Message)
					}
				}
				if !strings.Contains(string(out), "[FAIL] ") || !strings.Contains(string(out), w.spec) {
					t.Errorf("the run's output does not name the failed spec %q:\n%s", w.spec, tail(out))
				}
				t.Logf("caught by %q (%s):\n%s", s.FullText(), s.Failure.Location, firstLines(s.Failure.Message, 6))
			}
			if passed == 0 {
				t.Errorf("no spec of %q passed with %s injected: the lane itself may be broken\n%s", fc.filter, fc.fault, tail(out))
			}
			for text, s := range failed {
				if !wanted(fc.want, text) {
					t.Logf("also failed: %q: %s", s.FullText(), firstLines(s.Failure.Message, 2))
				}
			}

			// The fault reached the component through the simulator: its log says so. A
			// fault of the CLI (no log) shows its banner in the failure message instead.
			if fc.log == "" {
				return
			}
			logPath := filepath.Join(artifacts, "provider", fc.log+".log")
			raw, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatalf("no component log: %v", err)
			}
			if banner := "FAULTS INJECTED ON PURPOSE (" + faults.EnvVar + "=" + string(fc.fault) + ")"; !strings.Contains(string(raw), banner) {
				t.Errorf("%s does not show %q", logPath, banner)
			}
		})
	}
}

// ranSpecs are the Its the run did not skip, from its JSON report; a failure outside any It
// (the suite's set-up) fails the test.
func ranSpecs(t *testing.T, path string, out []byte) []types.SpecReport {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no report (%v):\n%s", err, tail(out))
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		t.Fatal(err)
	}
	var its []types.SpecReport
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != types.NodeTypeIt {
				if s.State.Is(types.SpecStateFailureStates) {
					t.Fatalf("%s failed, so no spec could show the fault: %s\n%s", s.LeafNodeType, s.Failure.Message, tail(out))
				}
				continue
			}
			if s.State != types.SpecStateSkipped {
				its = append(its, s)
			}
		}
	}
	if len(its) == 0 {
		t.Fatalf("no spec ran:\n%s", tail(out))
	}
	return its
}

func wanted(want []caught, spec string) bool {
	for _, w := range want {
		if w.spec == spec {
			return true
		}
	}
	return false
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n")
}

// TestEveryP0ScenarioHasAFault is issue 14's "done when" for the self-test: every in-scope P0
// scenario of the catalogue has at least one fault whose lane selects it (its label filter
// matches the scenario's labels), so breaking any P0 behaviour on purpose is shown to turn
// the suite red. Needs no cluster.
func TestEveryP0ScenarioHasAFault(t *testing.T) {
	var filters []func([]string) bool
	for _, fc := range faultCases {
		f, err := types.ParseLabelFilter(fc.filter)
		if err != nil {
			t.Fatalf("fault %s: label filter %q: %v", fc.fault, fc.filter, err)
		}
		filters = append(filters, f)
	}
	p0 := 0
	for _, s := range tiers.Catalogue().InScope() {
		if s.Priority != tiers.P0 {
			continue
		}
		p0++
		covered := slices.ContainsFunc(filters, func(f func([]string) bool) bool { return f(s.Labels()) })
		if !covered {
			t.Errorf("P0 scenario %s (%s) has no fault in faultCases whose lane selects it", s.ID, s.Title)
		}
	}
	if len(faultCases) < 9 || p0 == 0 {
		t.Errorf("%d fault cases over %d P0 scenarios; want at least 9 and one per P0 scenario", len(faultCases), p0)
	}
	t.Logf("%d fault cases (+%d tested elsewhere) cover the %d in-scope P0 scenarios", len(faultCases), len(faultsTestedElsewhere), p0)
}
