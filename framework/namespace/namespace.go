// Package namespace gives every spec its own generated namespace, labelled back to the spec
// and the run, and deleted by DeferCleanup (kept when the spec failed and
// --vmt.keep-on-failure is set).
package namespace

import (
	"context"
	"fmt"
	"hash/fnv"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vmt-conformance/vmt-conformance/framework"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Labels put on every namespace (and, by the fixtures, on cluster-scoped objects) the suite
// creates, so a dump or a manual clean-up finds them.
const (
	LabelE2E      = "vmt-conformance.io/e2e"
	LabelRun      = "vmt-conformance.io/run"
	LabelScenario = "vmt-conformance.io/scenario"
	LabelSpec     = "vmt-conformance.io/spec"
	AnnotSpecText = "vmt-conformance.io/spec-text"
)

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
	labels := map[string]string{
		LabelE2E:  "true",
		LabelRun:  framework.RunID(),
		LabelSpec: SpecHash(spec.FullText()),
	}
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
			return
		}
		// Deletion is not awaited: the namespace controller finishes it while the next spec runs.
		err := framework.Admin().Kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		Expect(client.IgnoreNotFound(err)).To(Succeed(), "deleting namespace %s", name)
	})
	return name
}

// SpecHash is a short stable label value for a spec's full text.
func SpecHash(text string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(text))
	return fmt.Sprintf("%08x", h.Sum32())
}
