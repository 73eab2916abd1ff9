// Package artifacts writes a bounded dump for each failed spec, under
// <artifacts dir>/failures/<spec dir>/, before the spec's namespaces are deleted: every object
// of the spec's namespaces with its status (templates, requests, VMs, VMIs, DataVolumes, PVCs,
// snapshots and their contents, pods, events), the KubeVirt CR, the template CRDs and
// APIServices, the template Deployments, and the template components' logs (pod logs on a
// real cluster, log files on the local lane) since the spec started.
//
// Every dump is bounded three ways (config.Dumps): the number of failed specs dumped per run
// (claimed through files, so parallel Ginkgo processes share the count), the size of one file,
// and the size of one spec's whole dump. What a bound cut is listed in the dump's index.txt.
package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// FailuresDir is the directory below the artifacts directory that holds the dumps.
const FailuresDir = "failures"

// IndexFile lists what a dump holds and what its bounds cut.
const IndexFile = "index.txt"

// DumpTimeout bounds the collection of one dump (the suite's hook uses it as NodeTimeout).
const DumpTimeout = 60 * time.Second

// Bounds of what one dump asks the cluster for.
const (
	// listLimit bounds the objects of one kind listed per namespace.
	listLimit = 500
	// podLogTailLines bounds the lines of one container's log fetched from the cluster.
	podLogTailLines = 2000
	// indexReserve is kept out of the spec budget for index.txt.
	indexReserve = 8 << 10
	// slotsDir holds one file per dumped spec: the run-wide count, shared by processes.
	slotsDir = ".slots"
)

// Limits bound the dumps (config.Dumps holds the configured values).
type Limits struct {
	// MaxSpecs is how many failed specs of a run get a dump; 0 dumps none.
	MaxSpecs int
	// MaxFileBytes caps one file; MaxSpecBytes caps one spec's dump, index included.
	MaxFileBytes, MaxSpecBytes int64
}

func (l Limits) validate() error {
	switch {
	case l.MaxSpecs < 0:
		return fmt.Errorf("artifacts: MaxSpecs %d is negative", l.MaxSpecs)
	case l.MaxFileBytes < 1 || l.MaxSpecBytes < 1:
		return fmt.Errorf("artifacts: MaxFileBytes (%d) and MaxSpecBytes (%d) must be positive", l.MaxFileBytes, l.MaxSpecBytes)
	}
	return nil
}

// Collector writes the dumps of one run.
type Collector struct {
	// Root is the artifacts directory; dumps go to Root/failures/.
	Root   string
	Limits Limits
	// Kube and Dynamic are admin clients of the cluster under test.
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// InstallNamespace is where KubeVirt and the template Deployments run.
	InstallNamespace string
	// ComponentLogs are log files, or directories of *.log files, of the template
	// components when they do not run as pods (the local lane).
	ComponentLogs []string
}

// Spec is the failed spec a dump is for.
type Spec struct {
	// ID is short and stable for the spec's text (namespace.SpecHash); it ends the dump's
	// directory name, so a rerun of the same spec lands next to its earlier dump.
	ID string
	// Scenario is the spec's scenario id (VMT-003), or "".
	Scenario string
	// Text is the spec's full text; Failure its failure message and location.
	Text, Failure string
	// Start is when the spec started: pod logs are fetched from then on.
	Start time.Time
	// NamespaceSelector selects the spec's namespaces (its namespaces carry labels naming
	// the spec and the run); Namespaces adds namespaces known by name.
	NamespaceSelector string
	Namespaces        []string
	// LogMarks are the sizes of the component log files when the spec started (Mark), so
	// only what the spec's time wrote is dumped.
	LogMarks LogMarks
}

// Result says where a dump went and what its bounds did.
type Result struct {
	// Dir is the dump's directory; empty when the run's cap of dumped specs was reached.
	Dir string
	// Bytes and Files count what was written, index included.
	Bytes int64
	Files int
	// Cut lists files shortened or left out by the size caps.
	Cut []string
	// Problems are collection errors (a kind not served, a log not readable); the dump
	// still holds everything else.
	Problems []string
}

// Capped reports that the run's cap of dumped specs was reached, so nothing was written.
func (r Result) Capped() bool { return r.Dir == "" }

// Summary is the one line the spec's report carries.
func (r Result) Summary(limits Limits) string {
	if r.Capped() {
		return fmt.Sprintf("no dump: the run already dumped %d failed specs (--vmt.dump.max-specs)", limits.MaxSpecs)
	}
	s := fmt.Sprintf("%s (%d files, %s", r.Dir, r.Files, humanBytes(r.Bytes))
	if len(r.Cut) > 0 {
		s += fmt.Sprintf(", %d cut by the size caps", len(r.Cut))
	}
	if len(r.Problems) > 0 {
		s += fmt.Sprintf(", %d collection problems", len(r.Problems))
	}
	return s + "; see index.txt)"
}

// LogMarks are component log sizes at a point in time, by path.
type LogMarks map[string]int64

// Mark records the current size of every component log file, for Spec.LogMarks.
func (c *Collector) Mark() LogMarks {
	marks := LogMarks{}
	for _, f := range c.logFiles() {
		if info, err := os.Stat(f); err == nil {
			marks[f] = info.Size()
		}
	}
	return marks
}

// Dump writes the dump of spec, unless the run already dumped Limits.MaxSpecs specs. Errors
// reading single kinds or logs are recorded in the Result and the index, not returned: a dump
// with holes beats none. The error is for what makes any dump impossible.
func (c *Collector) Dump(ctx context.Context, spec Spec) (Result, error) {
	if err := c.Limits.validate(); err != nil {
		return Result{}, err
	}
	if c.Root == "" {
		return Result{}, errors.New("artifacts: no artifacts directory")
	}
	root := filepath.Join(c.Root, FailuresDir)
	ok, err := claimSlot(root, c.Limits.MaxSpecs)
	if err != nil || !ok {
		return Result{}, err
	}
	dir := filepath.Join(root, DirName(spec))
	if err := os.RemoveAll(dir); err != nil { // a rerun of the same spec replaces its dump
		return Result{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, err
	}
	reserve := min(int64(indexReserve), c.Limits.MaxSpecBytes/4)
	b := &budget{dir: dir, left: c.Limits.MaxSpecBytes - reserve, maxFile: c.Limits.MaxFileBytes}

	namespaces, err := c.namespaces(ctx, spec)
	if err != nil {
		b.problem("listing the spec's namespaces: %v", err)
	}
	b.write("spec.txt", []byte(specText(spec, namespaces)), keepHead)
	for _, ns := range namespaces {
		c.dumpNamespace(ctx, b, ns)
	}
	// Most telling first: when the spec cap runs out, cluster-wide state is what goes.
	c.dumpKubeVirt(ctx, b)
	c.dumpComponentLogFiles(b, spec.LogMarks)
	c.dumpPodLogs(ctx, b, spec.Start)
	c.dumpTemplateInstall(ctx, b)

	b.left += reserve
	b.maxFile = reserve
	b.write(IndexFile, []byte(b.index(spec, c.Limits)), keepHead)
	return Result{Dir: dir, Bytes: b.written, Files: len(b.files), Cut: b.cut, Problems: b.problems}, nil
}

// claimSlot takes one of max dump slots of the run in root; false when all are taken.
func claimSlot(root string, max int) (bool, error) {
	dir := filepath.Join(root, slotsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("creating %s: %w", dir, err)
	}
	for i := range max {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprint(i)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return false, err
		}
		return true, f.Close()
	}
	return false, nil
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// maxDirText bounds the part of a dump's directory name taken from the spec text.
const maxDirText = 80

// DirName is the dump directory of spec: scenario, the spec text made file-name safe and
// shortened, and the spec id, e.g. "VMT-003_processing-a-template-substitutes-every_1a2b3c4d".
func DirName(spec Spec) string {
	text := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(spec.Text), "-"), "-")
	if len(text) > maxDirText {
		text = strings.TrimRight(text[:maxDirText], "-")
	}
	parts := []string{}
	for _, p := range []string{spec.Scenario, text, unsafeChars.ReplaceAllString(strings.ToLower(spec.ID), "")} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "spec"
	}
	return strings.Join(parts, "_")
}

func (c *Collector) namespaces(ctx context.Context, spec Spec) ([]string, error) {
	names := slices.Clone(spec.Namespaces)
	var err error
	if spec.NamespaceSelector != "" {
		var list *corev1.NamespaceList
		list, err = c.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: spec.NamespaceSelector})
		if err == nil {
			for _, ns := range list.Items {
				names = append(names, ns.Name)
			}
		}
	}
	sort.Strings(names)
	return slices.Compact(names), err
}

func specText(spec Spec, namespaces []string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "spec:       %s\n", spec.Text)
	fmt.Fprintf(&s, "scenario:   %s\n", spec.Scenario)
	fmt.Fprintf(&s, "id:         %s\n", spec.ID)
	fmt.Fprintf(&s, "started:    %s\n", spec.Start.UTC().Format(time.RFC3339))
	fmt.Fprintf(&s, "namespaces: %s\n", strings.Join(namespaces, ", "))
	fmt.Fprintf(&s, "failure:\n%s\n", indent(spec.Failure))
	return s.String()
}

// namespaced are the kinds dumped from each of the spec's namespaces, most telling first:
// when the spec budget runs out, what is cut is the tail of this list.
var namespaced = []kind{
	{"virtualmachinetemplates", []string{"template.kubevirt.io/v1beta1", "template.kubevirt.io/v1alpha1"}},
	{"virtualmachinetemplaterequests", []string{"template.kubevirt.io/v1beta1", "template.kubevirt.io/v1alpha1"}},
	{"virtualmachines", []string{"kubevirt.io/v1"}},
	{"virtualmachineinstances", []string{"kubevirt.io/v1"}},
	{"datavolumes", []string{"cdi.kubevirt.io/v1beta1"}},
	{"persistentvolumeclaims", []string{"v1"}},
	{"virtualmachinesnapshots", []string{"snapshot.kubevirt.io/v1beta1", "snapshot.kubevirt.io/v1alpha1"}},
	{"virtualmachinesnapshotcontents", []string{"snapshot.kubevirt.io/v1beta1", "snapshot.kubevirt.io/v1alpha1"}},
	{"virtualmachinerestores", []string{"snapshot.kubevirt.io/v1beta1", "snapshot.kubevirt.io/v1alpha1"}},
	{"volumesnapshots", []string{"snapshot.storage.k8s.io/v1"}},
	{"datasources", []string{"cdi.kubevirt.io/v1beta1"}},
	{"virtualmachineinstancetypes", []string{"instancetype.kubevirt.io/v1beta1"}},
	{"virtualmachinepreferences", []string{"instancetype.kubevirt.io/v1beta1"}},
	{"templates", []string{"template.openshift.io/v1"}},
	{"pods", []string{"v1"}},
	{"events", []string{"v1"}},
}

// kind is a resource and the group/versions to try, preferred first.
type kind struct {
	resource string
	versions []string
}

func (k kind) gvrs() []schema.GroupVersionResource {
	out := make([]schema.GroupVersionResource, len(k.versions))
	for i, v := range k.versions {
		gv, _ := schema.ParseGroupVersion(v)
		out[i] = gv.WithResource(k.resource)
	}
	return out
}

// list lists k in namespace ns ("" = cluster scope), trying its versions in order; served is
// false when no version is served.
func (c *Collector) list(ctx context.Context, k kind, ns string, opts metav1.ListOptions) (items []unstructured.Unstructured, served bool, err error) {
	opts.Limit = listLimit
	for _, gvr := range k.gvrs() {
		var l *unstructured.UnstructuredList
		if ns == "" {
			l, err = c.Dynamic.Resource(gvr).List(ctx, opts)
		} else {
			l, err = c.Dynamic.Resource(gvr).Namespace(ns).List(ctx, opts)
		}
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, true, fmt.Errorf("listing %s: %w", gvr.GroupResource(), err)
		}
		return l.Items, true, nil
	}
	return nil, false, nil
}

func (c *Collector) dumpNamespace(ctx context.Context, b *budget, ns string) {
	var notServed []string
	if obj, err := c.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil {
		u, _ := toUnstructured(obj, "v1", "Namespace")
		b.writeYAML(filepath.Join("namespaces", ns, "namespace.yaml"), []unstructured.Unstructured{u})
	} else {
		b.problem("namespace %s: %v", ns, err)
	}
	for _, k := range namespaced {
		items, served, err := c.list(ctx, k, ns, metav1.ListOptions{})
		switch {
		case err != nil:
			b.problem("namespace %s: %v", ns, err)
		case !served:
			notServed = append(notServed, k.resource)
		case len(items) > 0:
			if k.resource == "events" {
				sortEvents(items)
			}
			b.writeYAML(filepath.Join("namespaces", ns, k.resource+".yaml"), items)
		}
	}
	if len(notServed) > 0 {
		b.note("namespace %s: not served by this cluster: %s", ns, strings.Join(notServed, ", "))
	}
}

// Template component names, as upstream and reference/config name them.
const (
	apiServerDeployment  = "virt-template-apiserver"
	controllerDeployment = "virt-template-controller"
)

var templateDeployments = []string{apiServerDeployment, controllerDeployment}

// templateCRDs are the template API's CRDs; their schemas are left out of the dump.
var templateCRDs = []string{"virtualmachinetemplates.template.kubevirt.io", "virtualmachinetemplaterequests.template.kubevirt.io"}

// templateAPIServices are the subresource API's APIServices.
var templateAPIServices = []string{"v1alpha1.subresources.template.kubevirt.io", "v1beta1.subresources.template.kubevirt.io"}

// dumpKubeVirt writes the KubeVirt CR(s): gates, virtTemplateDeployment, conditions.
func (c *Collector) dumpKubeVirt(ctx context.Context, b *budget) {
	kv := kind{"kubevirts", []string{"kubevirt.io/v1"}}
	if items, served, err := c.list(ctx, kv, "", metav1.ListOptions{}); err != nil {
		b.problem("%v", err)
	} else if served {
		b.writeYAML(filepath.Join("cluster", "kubevirt.yaml"), items)
	} else {
		b.note("the KubeVirt CRD is not installed")
	}
}

// dumpTemplateInstall writes the state of the template install: CRDs (without schemas),
// APIServices (availability) and the component Deployments.
func (c *Collector) dumpTemplateInstall(ctx context.Context, b *budget) {
	crds := c.named(ctx, b, schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}, templateCRDs)
	for i := range crds {
		if versions, ok, _ := unstructured.NestedSlice(crds[i].Object, "spec", "versions"); ok {
			for _, v := range versions {
				if m, ok := v.(map[string]any); ok {
					delete(m, "schema") // the schema is in the repository; the state is what matters
				}
			}
			_ = unstructured.SetNestedSlice(crds[i].Object, versions, "spec", "versions")
		}
	}
	b.writeYAML(filepath.Join("cluster", "template-crds.yaml"), crds)
	b.writeYAML(filepath.Join("cluster", "template-apiservices.yaml"),
		c.named(ctx, b, schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}, templateAPIServices))

	var deployments []unstructured.Unstructured
	for _, name := range templateDeployments {
		d, err := c.Kube.AppsV1().Deployments(c.InstallNamespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			b.note("Deployment %s/%s does not exist", c.InstallNamespace, name)
			continue
		}
		if err != nil {
			b.problem("Deployment %s/%s: %v", c.InstallNamespace, name, err)
			continue
		}
		u, _ := toUnstructured(d, "apps/v1", "Deployment")
		deployments = append(deployments, u)
	}
	b.writeYAML(filepath.Join("cluster", "template-deployments.yaml"), deployments)
}

// named gets the cluster-scoped objects names of gvr; missing ones are noted.
func (c *Collector) named(ctx context.Context, b *budget, gvr schema.GroupVersionResource, names []string) []unstructured.Unstructured {
	var out []unstructured.Unstructured
	for _, name := range names {
		u, err := c.Dynamic.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			b.note("%s %s does not exist", gvr.Resource, name)
		case err != nil:
			b.problem("%s %s: %v", gvr.Resource, name, err)
		default:
			out = append(out, *u)
		}
	}
	return out
}

// logFiles expands ComponentLogs: files as given, directories to their *.log files.
func (c *Collector) logFiles() []string {
	var out []string
	for _, p := range c.ComponentLogs {
		info, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(p, "*.log"))
		out = append(out, matches...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// logContextBytes is how much of a component log before the spec's start a dump shows when
// the component wrote nothing during the spec (its last words may be why).
const logContextBytes = 4 << 10

// dumpComponentLogFiles writes, per component log file, what was written since the spec
// started (its mark), at most the file cap's worth of the end; when nothing was, the end of
// what came before.
func (c *Collector) dumpComponentLogFiles(b *budget, marks LogMarks) {
	for _, path := range c.logFiles() {
		mark, marked := marks[path]
		data, err := readFrom(path, mark, b.maxFile)
		if err == nil && len(data) == 0 && marked && mark > 0 {
			data, err = readFrom(path, max(0, mark-logContextBytes), logContextBytes)
			data = append([]byte("[nothing logged since the spec started; the end of the log before it:]\n"), data...)
		}
		if err != nil {
			b.problem("component log %s: %v", path, err)
			continue
		}
		if len(data) == 0 {
			b.note("component log %s is empty", path)
			continue
		}
		b.write(filepath.Join("logs", filepath.Base(path)), data, keepTail)
	}
}

// readFrom reads path from offset, at most the last limit bytes (plus what marks the cut).
func readFrom(path string, offset, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if offset > info.Size() { // rotated or truncated since the mark
		offset = 0
	}
	if skip := info.Size() - offset - limit; skip > 0 {
		offset += skip
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if offset > 0 && int64(len(data)) >= limit { // we start mid-file: say so, keepTail trims
		data = append([]byte(fmt.Sprintf("[... earlier lines left out: the log holds %d bytes before this]\n", offset)), data...)
	}
	return data, nil
}

// dumpPodLogs writes the logs of the template Deployments' pods since the spec started.
func (c *Collector) dumpPodLogs(ctx context.Context, b *budget, since time.Time) {
	for _, name := range templateDeployments {
		d, err := c.Kube.AppsV1().Deployments(c.InstallNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil || d.Spec.Selector == nil {
			continue // noted by dumpCluster
		}
		selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			b.problem("Deployment %s selector: %v", name, err)
			continue
		}
		pods, err := c.Kube.CoreV1().Pods(c.InstallNamespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			b.problem("pods of %s: %v", name, err)
			continue
		}
		for _, pod := range pods.Items {
			for _, ctr := range pod.Spec.Containers {
				opts := &corev1.PodLogOptions{Container: ctr.Name, TailLines: ptr(int64(podLogTailLines)), Timestamps: true}
				if !since.IsZero() {
					opts.SinceTime = &metav1.Time{Time: since}
				}
				raw, err := c.Kube.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, opts).Do(ctx).Raw()
				if err != nil {
					b.problem("log of %s/%s: %v", pod.Name, ctr.Name, err)
					continue
				}
				b.write(filepath.Join("logs", pod.Name+"_"+ctr.Name+".log"), raw, keepTail)
			}
		}
	}
}

func sortEvents(items []unstructured.Unstructured) {
	when := func(u unstructured.Unstructured) string {
		for _, f := range [][]string{{"lastTimestamp"}, {"eventTime"}, {"metadata", "creationTimestamp"}} {
			if s, ok, _ := unstructured.NestedString(u.Object, f...); ok && s != "" {
				return s
			}
		}
		return ""
	}
	sort.SliceStable(items, func(i, j int) bool { return when(items[i]) < when(items[j]) })
}

func toUnstructured(obj any, apiVersion, kind string) (unstructured.Unstructured, error) {
	raw, err := yaml.Marshal(obj)
	if err != nil {
		return unstructured.Unstructured{}, err
	}
	u := unstructured.Unstructured{}
	if err := yaml.Unmarshal(raw, &u.Object); err != nil {
		return u, err
	}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	return u, nil
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func ptr[T any](v T) *T { return &v }
