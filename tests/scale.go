package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/config"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/scale"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// VMT-024 (STP NFR Performance/Scale): a large number of VMs created from templates succeeds
// without failures, excessive delays or service instability. Every measurement is judged
// against the thresholds of --vmt.scale.* and sits next to a floor measured just before it in
// the same run: as many plain GETs of the same template through the same kube-apiserver, by
// as many clients, so the report shows how far the subresources are from what the cluster
// itself serves. The figures go into the report as "scale:process", "scale:create" and
// "scale:floor" entries, whether or not the spec passes.
//
// Serial: a measurement shares the cluster with nothing else of the suite.
var _ = Describe("Scale of template-based VM creation", tiers.Scenario("VMT-024"), Serial, func() {
	var (
		ns     string
		s      *scaleSettings
		stable func(context.Context)
	)

	BeforeEach(func(ctx SpecContext) {
		s = newScaleSettings()
		ns = namespace.New(ctx)
		By("recording the state of the template components before the run")
		stable = componentsStayUp(ctx)
	})

	processSpec := func(mode string, clients func() int) func(SpecContext) {
		return func(ctx SpecContext) {
			By("creating a template with one required parameter")
			tpl := createTemplate(ctx, ns, scaleTemplate())
			calls := s.cfg.ProcessCalls

			floor := s.measureFloor(ctx, ns, tpl.Name, calls, clients())
			By(fmt.Sprintf("processing it %d times with %d client(s)", calls, clients()))
			s.warmUp(ctx, func(ctx context.Context, i int) (int, error) {
				return s.post(ctx, ns, tpl.Name, core.ProcessSubresource, fmt.Sprintf("warm-%d", i))
			})
			got := scale.Run(ctx, calls, clients(), func(ctx context.Context, i int) (int, error) {
				return s.post(ctx, ns, tpl.Name, core.ProcessSubresource, fmt.Sprintf("vm-%05d", i))
			})
			s.report("scale:process", mode, got, floor)

			By("checking the template components stayed up")
			stable(ctx)
			s.judge(mode+" /process", "calls/s", got, floor, scale.Thresholds{MinRate: s.cfg.MinProcessRate, MaxP99: s.cfg.MaxP99, MaxErrors: s.cfg.MaxErrors})
		}
	}

	It("serves /process at the configured rate and latency to one client calling after another",
		processSpec("sequential", func() int { return 1 }))
	It("serves /process at the configured rate and latency to concurrent clients",
		processSpec("concurrent", func() int { return s.cfg.Clients }))

	createSpec := func(mode string, clients func() int) func(SpecContext) {
		return func(ctx SpecContext) {
			By("creating a template with one required parameter")
			tpl := createTemplate(ctx, ns, scaleTemplate())
			vms := s.cfg.VMs

			floor := s.measureFloor(ctx, ns, tpl.Name, vms, clients())
			By(fmt.Sprintf("creating %d VMs from it through /create with %d client(s)", vms, clients()))
			got := scale.Run(ctx, vms, clients(), func(ctx context.Context, i int) (int, error) {
				return s.post(ctx, ns, tpl.Name, core.CreateSubresource, fmt.Sprintf("vm-%05d", i))
			})
			s.report("scale:create", mode, got, floor)

			By(fmt.Sprintf("checking exactly the %d VMs answered as created exist", vms-got.Errors))
			Expect(vmsIn(ns)(ctx)).To(HaveLen(vms-got.Errors), "VMs in %s after %d /create calls with %d failures", ns, vms, got.Errors)

			By("checking the template components stayed up")
			stable(ctx)
			s.judge(mode+" /create", "VMs/s", got, floor, scale.Thresholds{MinRate: s.cfg.MinCreateRate, MaxP99: s.cfg.MaxP99, MaxErrors: s.cfg.MaxErrors})
		}
	}

	It("creates many VMs from one template through /create, one after another",
		createSpec("sequential", func() int { return 1 }))
	It("creates many VMs from one template through /create with concurrent clients",
		createSpec("concurrent", func() int { return s.cfg.Clients }))
})

// scaleTemplate is the template every measurement uses: the fixtures' smallest VM, named by
// its one required parameter, so each /create makes a distinct VM.
func scaleTemplate() *templatev1beta1.VirtualMachineTemplate {
	return fixtures.Template("scale",
		fixtures.WithParameter("NAME", fixtures.Required()),
		fixtures.WithVMName(fixtures.Ref("NAME")),
	)
}

// scaleWarmUpCalls are made, and not measured, before a measurement: they open connections and
// fill the authentication and authorization caches along the path, which a long-running
// cluster has warm.
const scaleWarmUpCalls = 10

// scaleSettings are the clients and configuration of one scale spec.
type scaleSettings struct {
	cfg          config.Scale
	subresources *rest.RESTClient // subresources.template.kubevirt.io in the spoken version
	templates    *rest.RESTClient // template.kubevirt.io in the spoken version, for the floor
}

func newScaleSettings() *scaleSettings {
	GinkgoHelper()
	s := &scaleSettings{cfg: framework.Config().Scale}
	s.subresources = scaleRESTClient(schema.GroupVersion{Group: core.SubresourceGroupName, Version: framework.SubresourceVersion()})
	s.templates = scaleRESTClient(schema.GroupVersion{Group: core.GroupName, Version: framework.TemplateVersion()})
	return s
}

// scaleRESTClient is an admin REST client for gv without client-side rate limiting: the
// suite's own limit (100 QPS) would otherwise be what the lane measures.
func scaleRESTClient(gv schema.GroupVersion) *rest.RESTClient {
	GinkgoHelper()
	cfg := rest.CopyConfig(framework.Admin().Config)
	cfg.QPS, cfg.Burst, cfg.RateLimiter = -1, 0, nil
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion()
	cfg.WarningHandler, cfg.WarningHandlerWithContext = rest.NoWarnings{}, nil
	rc, err := rest.RESTClientFor(cfg)
	Expect(err).NotTo(HaveOccurred(), "building a REST client for %s", gv)
	return rc
}

// post calls /process or /create of ns/name with NAME=vmName and returns the status.
func (s *scaleSettings) post(ctx context.Context, ns, name, sub, vmName string) (int, error) {
	body, err := json.Marshal(map[string]any{
		"apiVersion": core.SubresourceGroupName + "/" + framework.SubresourceVersion(), "kind": "ProcessOptions",
		"parameters": map[string]string{"NAME": vmName},
	})
	if err != nil {
		return 0, err
	}
	res := s.subresources.Post().Namespace(ns).Resource(core.PluralResourceName).Name(name).SubResource(sub).
		SetHeader("Content-Type", "application/json").Body(body).Do(ctx)
	var status int
	res.StatusCode(&status)
	return status, res.Error()
}

// get reads ns/name through kube-apiserver: the floor's call.
func (s *scaleSettings) get(ctx context.Context, ns, name string) (int, error) {
	res := s.templates.Get().Namespace(ns).Resource(core.PluralResourceName).Name(name).Do(ctx)
	var status int
	res.StatusCode(&status)
	return status, res.Error()
}

func (s *scaleSettings) warmUp(ctx context.Context, call scale.Call) {
	scale.Run(ctx, scaleWarmUpCalls, 1, call)
}

// measureFloor makes calls GETs of the template with clients clients, reports them and
// returns the figures. A floor with failures means the cluster itself is the problem.
func (s *scaleSettings) measureFloor(ctx context.Context, ns, name string, calls, clients int) scale.Figures {
	GinkgoHelper()
	By(fmt.Sprintf("measuring the floor: %d plain GETs of the template through kube-apiserver with %d client(s)", calls, clients))
	get := func(ctx context.Context, _ int) (int, error) { return s.get(ctx, ns, name) }
	s.warmUp(ctx, get)
	floor := scale.Run(ctx, calls, clients, get)
	AddReportEntry("scale:floor", floor.Row(modeOf(clients), nil))
	GinkgoWriter.Printf("GET floor: %s\n", floor)
	Expect(floor.Errors).To(BeZero(), "plain GETs through kube-apiserver failed, so the cluster cannot carry a scale run: %s", floor)
	return floor
}

func modeOf(clients int) string {
	if clients == 1 {
		return "sequential"
	}
	return "concurrent"
}

func (s *scaleSettings) report(name, mode string, got, floor scale.Figures) {
	AddReportEntry(name, got.Row(mode, &floor))
	GinkgoWriter.Printf("%s %s: %s\n", name, mode, got)
}

// judge fails the spec when the figures miss a threshold, naming each measured value, its
// threshold and the whole measurement beside its floor.
func (s *scaleSettings) judge(what, unit string, got, floor scale.Figures, t scale.Thresholds) {
	GinkgoHelper()
	misses := got.Check(what, unit, t)
	Expect(misses).To(BeEmpty(), "%s missed its thresholds:\n  %s\nmeasured:  %s\nGET floor: %s",
		what, strings.Join(misses, "\n  "), got, floor)
}

// componentsStayUp records the template components' state and returns a check that it has
// not changed. It works on clusters with pods and on the hermetic lane (components as
// processes, no pods): a restart shows as a pod with more restarts or a new uid, as a
// Deployment that was unavailable in between (its Available condition's transition time
// moves), as the subresource APIService that became unavailable, or as the KubeVirt CR that
// went Degraded.
func componentsStayUp(ctx context.Context) func(context.Context) {
	GinkgoHelper()
	before := componentState(ctx)
	Expect(before).To(ContainElement(HavePrefix("Deployment ")),
		"the template components (Deployments %s) are not in namespace %s (--vmt.install-namespace)", strings.Join(templateDeployments, ", "), framework.Config().InstallNamespace)
	GinkgoWriter.Printf("template components before the run:\n  %s\n", strings.Join(before, "\n  "))
	return func(ctx context.Context) {
		GinkgoHelper()
		Expect(componentState(ctx)).To(Equal(before), "the template components restarted or became unavailable during the run")
	}
}

// templateDeployments are upstream's Deployments of the template components.
var templateDeployments = []string{"virt-template-apiserver", "virt-template-controller"}

// componentState is one line per thing that changes when a component restarts.
func componentState(ctx context.Context) []string {
	GinkgoHelper()
	install := framework.Config().InstallNamespace
	admin := framework.Admin()
	var out []string
	for _, name := range templateDeployments {
		dep, err := admin.Kube.AppsV1().Deployments(install).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			out = append(out, fmt.Sprintf("no Deployment %s/%s: %v", install, name, err))
			continue
		}
		line := fmt.Sprintf("Deployment %s: generation %d observed %d, replicas %d ready %d available %d unavailable %d",
			name, dep.Generation, dep.Status.ObservedGeneration, dep.Status.Replicas, dep.Status.ReadyReplicas, dep.Status.AvailableReplicas, dep.Status.UnavailableReplicas)
		for _, c := range dep.Status.Conditions {
			if c.Type == "Available" {
				line += fmt.Sprintf(", Available=%s since %s", c.Status, c.LastTransitionTime.UTC().Format("15:04:05"))
			}
		}
		out = append(out, line)
		selector, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
		Expect(err).NotTo(HaveOccurred(), "the selector of Deployment %s/%s", install, name)
		pods, err := admin.Kube.CoreV1().Pods(install).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		Expect(err).NotTo(HaveOccurred(), "listing the pods of Deployment %s/%s", install, name)
		for _, p := range pods.Items {
			out = append(out, fmt.Sprintf("Pod %s (uid %s): %d restarts", p.Name, p.UID, restarts(p)))
		}
	}
	apiService, err := admin.Dynamic.Resource(apiServices).Get(ctx, "v1beta1."+core.SubresourceGroupName, metav1.GetOptions{})
	if err != nil {
		out = append(out, fmt.Sprintf("no APIService v1beta1.%s: %v", core.SubresourceGroupName, err))
	} else {
		out = append(out, "APIService v1beta1."+core.SubresourceGroupName+": "+conditionLine(apiService, "Available"))
	}
	kvs, err := admin.KubeVirt.KubevirtV1().KubeVirts(install).List(ctx, metav1.ListOptions{})
	if err != nil {
		return append(out, fmt.Sprintf("no KubeVirt CRs in %s: %v", install, err))
	}
	for _, kv := range kvs.Items {
		var parts []string
		for _, c := range kv.Status.Conditions {
			if c.Type == "Available" || c.Type == "Degraded" {
				parts = append(parts, fmt.Sprintf("%s=%s since %s", c.Type, c.Status, c.LastTransitionTime.UTC().Format("15:04:05")))
			}
		}
		sort.Strings(parts)
		out = append(out, fmt.Sprintf("KubeVirt %s: %s", kv.Name, strings.Join(parts, ", ")))
	}
	return out
}

func restarts(p corev1.Pod) int32 {
	var n int32
	for _, c := range p.Status.ContainerStatuses {
		n += c.RestartCount
	}
	return n
}

// conditionLine is "Type=Status since hh:mm:ss" of an unstructured object's condition.
func conditionLine(obj *unstructured.Unstructured, condType string) string {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == condType {
			return fmt.Sprintf("%s=%v since %v", condType, m["status"], m["lastTransitionTime"])
		}
	}
	return condType + " not reported"
}
