package artifacts

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

const specNS = "vmt-abc12"

// served are the kinds the fake cluster serves; every other list answers NotFound, as an
// API server does for a group it does not serve.
var served = map[schema.GroupVersionResource]string{
	{Group: "template.kubevirt.io", Version: "v1beta1", Resource: "virtualmachinetemplates"}:        "VirtualMachineTemplateList",
	{Group: "template.kubevirt.io", Version: "v1beta1", Resource: "virtualmachinetemplaterequests"}: "VirtualMachineTemplateRequestList",
	{Group: "kubevirt.io", Version: "v1", Resource: "virtualmachines"}:                              "VirtualMachineList",
	{Group: "kubevirt.io", Version: "v1", Resource: "kubevirts"}:                                    "KubeVirtList",
	{Version: "v1", Resource: "events"}:                                                             "EventList",
	{Version: "v1", Resource: "pods"}:                                                               "PodList",
	{Version: "v1", Resource: "persistentvolumeclaims"}:                                             "PersistentVolumeClaimList",
}

func obj(apiVersion, kind, ns, name string, extra map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind}}
	u.SetNamespace(ns)
	u.SetName(name)
	for k, v := range extra {
		u.Object[k] = v
	}
	return u
}

func fakeCluster(t *testing.T, bigAnnotation int) *Collector {
	t.Helper()
	tpl := obj("template.kubevirt.io/v1beta1", "VirtualMachineTemplate", specNS, "fedora",
		map[string]any{"status": map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "False", "reason": "Invalid"}}}})
	tpl.SetAnnotations(map[string]string{"big": strings.Repeat("x", bigAnnotation)})
	tpl.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "noise"}})
	objects := []runtime.Object{
		tpl,
		obj("kubevirt.io/v1", "VirtualMachine", specNS, "vm-a", nil),
		obj("v1", "Event", specNS, "late", map[string]any{"lastTimestamp": "2026-01-01T00:00:02Z", "message": "second"}),
		obj("v1", "Event", specNS, "early", map[string]any{"lastTimestamp": "2026-01-01T00:00:01Z", "message": "first"}),
		obj("kubevirt.io/v1", "KubeVirt", "kubevirt", "kubevirt", map[string]any{"spec": map[string]any{"configuration": map[string]any{}}}),
		obj("kubevirt.io/v1", "VirtualMachine", "other-ns", "not-mine", nil),
	}
	listKinds := map[schema.GroupVersionResource]string{}
	for _, k := range append(namespaced, kind{"kubevirts", []string{"kubevirt.io/v1"}}) {
		for _, gvr := range k.gvrs() {
			listKinds[gvr] = "List"
		}
	}
	for gvr, l := range served {
		listKinds[gvr] = l
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, objects...)
	dyn.PrependReactor("list", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if _, ok := served[a.GetResource()]; ok {
			return false, nil, nil
		}
		return true, nil, apierrors.NewNotFound(a.GetResource().GroupResource(), "")
	})
	dyn.PrependReactor("get", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(a.GetResource().GroupResource(), a.(clienttesting.GetAction).GetName())
	})
	kube := kubefake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: specNS, Labels: map[string]string{"spec": "1a2b3c4d"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other-ns", Labels: map[string]string{"spec": "ffffffff"}}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "kubevirt", Name: controllerDeployment}},
	)
	return &Collector{
		Root:             t.TempDir(),
		Limits:           Limits{MaxSpecs: 3, MaxFileBytes: 8 << 10, MaxSpecBytes: 32 << 10},
		Kube:             kube,
		Dynamic:          dyn,
		InstallNamespace: "kubevirt",
	}
}

func failedSpec() Spec {
	return Spec{
		ID: "1a2b3c4d", Scenario: "VMT-003", Text: "Processing a template [VMT-003] substitutes every parameter kind",
		Failure: "Expected\n  <int>: 1\nto equal\n  <int>: 2\nat process.go:42", Start: time.Now(),
		NamespaceSelector: "spec=1a2b3c4d",
	}
}

func TestDumpHoldsTheSpecsObjectsClusterStateAndLogs(t *testing.T) {
	c := fakeCluster(t, 100)
	logDir := t.TempDir()
	logFile := filepath.Join(logDir, "virt-template-controller.log")
	writeFile(t, logFile, "before the spec\n")
	c.ComponentLogs = []string{logDir}
	spec := failedSpec()
	spec.LogMarks = c.Mark()
	appendFile(t, logFile, "reconcile error: boom\n")

	res, err := c.Dump(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Capped() {
		t.Fatal("first dump was capped")
	}
	want := filepath.Join(c.Root, FailuresDir, "VMT-003_processing-a-template-vmt-003-substitutes-every-parameter-kind_1a2b3c4d")
	if res.Dir != want {
		t.Fatalf("dump dir %s, want %s", res.Dir, want)
	}
	tpl := read(t, res.Dir, "namespaces/"+specNS+"/virtualmachinetemplates.yaml")
	for _, s := range []string{"name: fedora", "reason: Invalid", "kind: List"} {
		if !strings.Contains(tpl, s) {
			t.Errorf("virtualmachinetemplates.yaml lacks %q:\n%s", s, tpl)
		}
	}
	if strings.Contains(tpl, "managedFields") {
		t.Error("managedFields were dumped")
	}
	events := read(t, res.Dir, "namespaces/"+specNS+"/events.yaml")
	if strings.Index(events, "first") > strings.Index(events, "second") {
		t.Errorf("events not in time order:\n%s", events)
	}
	if _, err := os.Stat(filepath.Join(res.Dir, "namespaces", "other-ns")); err == nil {
		t.Error("a namespace of another spec was dumped")
	}
	if kv := read(t, res.Dir, "cluster/kubevirt.yaml"); !strings.Contains(kv, "name: kubevirt") {
		t.Errorf("KubeVirt CR missing:\n%s", kv)
	}
	if log := read(t, res.Dir, "logs/virt-template-controller.log"); log != "reconcile error: boom\n" {
		t.Errorf("component log since the spec started = %q", log)
	}
	spectxt := read(t, res.Dir, "spec.txt")
	for _, s := range []string{"VMT-003", "at process.go:42", specNS} {
		if !strings.Contains(spectxt, s) {
			t.Errorf("spec.txt lacks %q:\n%s", s, spectxt)
		}
	}
	index := read(t, res.Dir, IndexFile)
	for _, s := range []string{"virtualmachineinstances", "Deployment kubevirt/virt-template-apiserver does not exist", "customresourcedefinitions virtualmachinetemplates.template.kubevirt.io does not exist"} {
		if !strings.Contains(index, s) {
			t.Errorf("index.txt lacks %q:\n%s", s, index)
		}
	}
	if got := res.Summary(c.Limits); !strings.HasPrefix(got, res.Dir+" (") {
		t.Errorf("summary %q does not start with the dump's directory", got)
	}
}

func TestDumpStaysWithinItsCaps(t *testing.T) {
	c := fakeCluster(t, 20<<10) // one template bigger than a file may be
	c.Limits = Limits{MaxSpecs: 1, MaxFileBytes: 4 << 10, MaxSpecBytes: 10 << 10}
	logDir := t.TempDir()
	for _, name := range []string{"a.log", "b.log", "c.log", "d.log"} {
		writeFile(t, filepath.Join(logDir, name), strings.Repeat("log line\n", 2000)+"LAST LINE\n")
	}
	c.ComponentLogs = []string{logDir}

	res, err := c.Dump(context.Background(), failedSpec())
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	err = filepath.WalkDir(res.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > c.Limits.MaxFileBytes {
			t.Errorf("%s is %d bytes, over the file cap %d", path, info.Size(), c.Limits.MaxFileBytes)
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > c.Limits.MaxSpecBytes || total != res.Bytes {
		t.Errorf("dump holds %d bytes (result says %d), cap %d", total, res.Bytes, c.Limits.MaxSpecBytes)
	}
	if tpl := read(t, res.Dir, "namespaces/"+specNS+"/virtualmachinetemplates.yaml"); !strings.HasSuffix(tpl, "by the dump's size caps]\n") {
		t.Errorf("the cut template list does not say it was cut: ...%s", tpl[len(tpl)-100:])
	}
	if log := read(t, res.Dir, "logs/a.log"); !strings.HasSuffix(log, "LAST LINE\n") || !strings.Contains(log, "cut to") {
		t.Errorf("a cut log keeps its latest lines and says it was cut; got ...%q", log[len(log)-40:])
	}
	index := read(t, res.Dir, IndexFile)
	if !strings.Contains(index, "left out, the spec's dump reached its size cap") {
		t.Errorf("index does not list what the spec cap left out:\n%s", index)
	}
	if len(res.Cut) == 0 {
		t.Error("result lists nothing cut")
	}
}

func TestOnlyMaxSpecsFailuresAreDumped(t *testing.T) {
	c := fakeCluster(t, 10)
	c.Limits.MaxSpecs = 2
	for i, wantCapped := range []bool{false, false, true} {
		spec := failedSpec()
		spec.ID = []string{"aaaa0001", "aaaa0002", "aaaa0003"}[i]
		res, err := c.Dump(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		if res.Capped() != wantCapped {
			t.Fatalf("dump %d: capped=%t, want %t", i+1, res.Capped(), wantCapped)
		}
		if wantCapped && !strings.Contains(res.Summary(c.Limits), "already dumped 2 failed specs") {
			t.Errorf("capped summary %q", res.Summary(c.Limits))
		}
	}
	dirs, _ := os.ReadDir(filepath.Join(c.Root, FailuresDir))
	var dumps int
	for _, d := range dirs {
		if d.Name() != slotsDir {
			dumps++
		}
	}
	if dumps != 2 {
		t.Errorf("%d dump directories, want 2", dumps)
	}
}

func TestBadInputIsRefused(t *testing.T) {
	c := fakeCluster(t, 10)
	c.Limits.MaxFileBytes = 0
	if _, err := c.Dump(context.Background(), failedSpec()); err == nil || !strings.Contains(err.Error(), "must be positive") {
		t.Errorf("zero file cap: err = %v", err)
	}
	c = fakeCluster(t, 10)
	c.Root = ""
	if _, err := c.Dump(context.Background(), failedSpec()); err == nil || !strings.Contains(err.Error(), "no artifacts directory") {
		t.Errorf("no root: err = %v", err)
	}
}

func TestDirName(t *testing.T) {
	cases := map[string]Spec{
		"VMT-001_a-b-c_00ff":                   {Scenario: "VMT-001", Text: "  A / b: [c] ", ID: "00FF"},
		"spec":                                 {},
		strings.Repeat("x", maxDirText) + "_1": {Text: strings.Repeat("x", 200), ID: "1"},
	}
	for want, spec := range cases {
		if got := DirName(spec); got != want {
			t.Errorf("DirName(%+v) = %q, want %q", spec, got, want)
		}
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, dir, rel string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatalf("dump lacks %s: %v", rel, err)
	}
	return string(raw)
}
