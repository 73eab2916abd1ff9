// Package namespace gives every spec its own generated namespace, labelled back to the spec
// and the run, and deleted by DeferCleanup (kept when the spec failed and
// --vmt.keep-on-failure is set).
package namespace

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/cleanup"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Labels put on every namespace (and, by the fixtures, on cluster-scoped objects) the suite
// creates, so a dump or a manual clean-up finds them.
const (
	LabelE2E      = cleanup.LabelE2E
	LabelRun      = cleanup.LabelRun
	LabelScenario = "vmt-conformance.io/scenario"
	LabelSpec     = "vmt-conformance.io/spec"
	AnnotSpecText = "vmt-conformance.io/spec-text"
	// AnnotKept marks an object kept on purpose beyond its run (--vmt.keep-on-failure, the
	// upgrade-pre state); its value says why. The cleanup check lists such objects instead
	// of counting them as leftovers, and later runs leave them alone (framework/cleanup).
	AnnotKept = cleanup.AnnotKept
)

// RunLabels are the labels every namespace and cluster-scoped object the suite creates
// carries: they tie it to this run, so the cleanup check (and a later run) finds it.
func RunLabels() map[string]string {
	return RunLabelsOf(framework.RunID())
}

// RunLabelsOf are RunLabels for run runID, for process 1 before the run's session starts.
func RunLabelsOf(runID string) map[string]string {
	return map[string]string{LabelE2E: "true", LabelRun: runID}
}

// AddRunLabels puts RunLabels on obj (keeping its other labels).
func AddRunLabels(obj metav1.Object) {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	for k, v := range RunLabels() {
		labels[k] = v
	}
	obj.SetLabels(labels)
}

var scenarioID = regexp.MustCompile(`^VMT-\d{3}$`)

// New creates a namespace for the current spec and registers its deletion. prefix (optional)
// names its role, e.g. "source" when a spec needs a second namespace.
func New(ctx context.Context, prefix ...string) string {
	GinkgoHelper()
	spec := CurrentSpecReport()
	generate := "vmt-"
	if len(prefix) > 0 && prefix[0] != "" {
		generate += prefix[0] + "-"
	}
	labels := RunLabels()
	labels[LabelSpec] = SpecHash(spec.FullText())
	for _, l := range spec.Labels() {
		if scenarioID.MatchString(l) {
			labels[LabelScenario] = l
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: generate,
		Labels:       labels,
		Annotations:  map[string]string{AnnotSpecText: spec.FullText()},
	}}
	created, err := framework.Admin().Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "creating the spec's namespace")
	name := created.Name
	DeferCleanup(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() && framework.Config().KeepOnFailure {
			AddReportEntry("kept namespace", name)
			GinkgoWriter.Printf("keeping namespace %s of the failed spec (--vmt.keep-on-failure)\n", name)
			Expect(Keep(ctx, name, "--vmt.keep-on-failure: its spec failed")).To(Succeed())
			return
		}
		// Deletion is not awaited: the namespace controller finishes it while the next spec runs.
		err := framework.Admin().Kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		Expect(client.IgnoreNotFound(err)).To(Succeed(), "deleting namespace %s", name)
	})
	return name
}

// Keep marks namespace name as kept on purpose (AnnotKept = why): the cleanup check lists it
// as kept and later runs do not delete it.
func Keep(ctx context.Context, name, why string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{AnnotKept: why}}})
	if err != nil {
		return err
	}
	_, err = framework.Admin().Kube.CoreV1().Namespaces().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("marking namespace %s as kept: %w", name, err)
	}
	return nil
}

// SpecHash is a short stable label value for a spec's full text.
func SpecHash(text string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(text))
	return fmt.Sprintf("%08x", h.Sum32())
}
