// Package featuregate flips the Template capability the way an admin does — on the
// HyperConverged CR when the cluster has one, otherwise on the KubeVirt CR (featureGates,
// disabledFeatureGates, virtTemplateDeployment.enabled) — waits until the template
// components agree, and restores the state it found. Cluster-wide: Serial specs only.
package featuregate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/framework/inforce"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
)

// Gate is KubeVirt's feature gate that deploys virt-template.
const Gate = "Template"

// Deployments are the template components virt-operator deploys in the install namespace.
var Deployments = []string{"virt-template-apiserver", "virt-template-controller"}

// CRDs are the template CRDs.
var CRDs = []string{core.PluralResourceName + "." + core.GroupName, core.PluralRequestResourceName + "." + core.GroupName}

// Admission objects virt-operator deploys with virt-template, named as in its bundle
// (kubevirt/kubevirt pkg/virt-operator/resource/generate/components/data/virt-template/
// install-virt-operator.yaml@v1.8.4 and @v1.9.0, from virt-template's config/webhook and
// config/admission).
const (
	// WebhookConfiguration holds the template webhooks (vvirtualmachinetemplate-<version>.kb.io).
	WebhookConfiguration = "virt-template-validating-webhook-configuration"
	// RequestPolicy is the ValidatingAdmissionPolicy on VirtualMachineTemplateRequests and the
	// name of its binding.
	RequestPolicy = "virt-template-vmtr-authz"
)

// APIServices are the aggregated subresource API's APIServices: one per version the
// system under test served when the run began (framework.SUT; v1alpha1 and v1beta1 from
// virt-template v0.2.0, release.ServesV1beta1, v1alpha1 only before).
func APIServices() []string {
	var names []string
	for _, version := range framework.SUT().APIs.Subresources.Served {
		names = append(names, version+"."+core.SubresourceGroupName)
	}
	return names
}

var (
	kubeVirts      = schema.GroupVersionResource{Group: "kubevirt.io", Version: "v1", Resource: "kubevirts"}
	hyperConverged = schema.GroupVersionResource{Group: "hco.kubevirt.io", Version: "v1beta1", Resource: "hyperconvergeds"}
	apiServices    = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	crds           = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	deployments    = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	webhookConfigs = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}
	policies       = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"}
	policyBindings = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings"}
)

// Component is one object virt-operator deploys for the Template capability.
type Component struct {
	Kind      string
	Namespace string // "" for cluster-scoped objects
	Name      string
	gvr       schema.GroupVersionResource
}

func (c Component) String() string {
	if c.Namespace == "" {
		return c.Kind + " " + c.Name
	}
	return c.Kind + " " + c.Namespace + "/" + c.Name
}

// Get reads the component live.
func (c Component) Get(ctx context.Context) (*unstructured.Unstructured, error) {
	res := framework.Admin().Dynamic.Resource(c.gvr)
	if c.Namespace != "" {
		return res.Namespace(c.Namespace).Get(ctx, c.Name, metav1.GetOptions{})
	}
	return res.Get(ctx, c.Name, metav1.GetOptions{})
}

// Components are the objects virt-operator deploys while the Template capability is on and
// deletes when it is turned off, in both KubeVirt v1.8.4 and v1.9.0: with the gate off the
// install strategy no longer holds virt-template's resources (pkg/virt-operator/resource/
// generate/install/strategy.go@v1.8.4:644, @v1.9.0:661: only when
// VirtTemplateDeploymentEnabled), the reconciler deletes the template Deployments
// (resource/apply/reconcile.go@v1.8.4:630-642, @v1.9.0:630-642) and
// deleteObjectsNotInInstallStrategy (reconcile.go@v1.8.4:680, @v1.9.0:680) deletes the
// webhook configurations, APIServices, ValidatingAdmissionPolicyBindings and -Policies and
// CRDs no longer in the strategy (then Deployments, Services, RBAC). Deleting the CRDs
// deletes every template and request. The two releases do not differ here.
func Components() []Component {
	ns := framework.Config().InstallNamespace
	var out []Component
	for _, name := range Deployments {
		out = append(out, Component{Kind: "Deployment", Namespace: ns, Name: name, gvr: deployments})
	}
	for _, name := range APIServices() {
		out = append(out, Component{Kind: "APIService", Name: name, gvr: apiServices})
	}
	out = append(out,
		Component{Kind: "ValidatingWebhookConfiguration", Name: WebhookConfiguration, gvr: webhookConfigs},
		Component{Kind: "ValidatingAdmissionPolicy", Name: RequestPolicy, gvr: policies},
		Component{Kind: "ValidatingAdmissionPolicyBinding", Name: RequestPolicy, gvr: policyBindings},
	)
	for _, name := range CRDs {
		out = append(out, Component{Kind: "CustomResourceDefinition", Name: name, gvr: crds})
	}
	return out
}

// Names of the CRs the package edits.
const (
	KubeVirtName       = "kubevirt"
	HyperConvergedName = "kubevirt-hyperconverged"
)

// restoring is true while a spec has a restore of the configuration pending: Serial specs
// run one at a time, so one flag per process suffices.
var restoring bool

// SetTemplate turns the Template capability on or off and waits until the components match
// the new state. Its first call in a spec registers a DeferCleanup that puts back the
// configuration found then (and waits for it); later calls in the same spec (toggling)
// restore nothing more, so a spec that ends in the state it found costs no extra toggle.
// It fails outside a Serial spec.
func SetTemplate(ctx context.Context, enabled bool) {
	GinkgoHelper()
	Expect(CurrentSpecReport().IsSerial).To(BeTrue(), "featuregate.SetTemplate changes the whole cluster: decorate the spec with Serial")
	target := target()
	original, err := target.get(ctx)
	Expect(err).NotTo(HaveOccurred(), "reading %s", target)
	if !restoring {
		restoring = true
		wasEnabled := target.enabled(original)
		DeferCleanup(func(ctx SpecContext) {
			defer func() { restoring = false }()
			By(fmt.Sprintf("restoring the Template capability on %s to enabled=%t", target, wasEnabled))
			Expect(target.restore(ctx, original)).To(Succeed(), "restoring %s", target)
			AwaitComponents(ctx, wasEnabled)
		})
	}
	By(fmt.Sprintf("setting the Template capability on %s to enabled=%t", target, enabled))
	Expect(target.set(ctx, original, enabled)).To(Succeed(), "changing %s", target)
	AwaitComponents(ctx, enabled)
}

// Enabled reports whether the configuration has the Template capability on.
func Enabled(ctx context.Context) (bool, error) {
	t := target()
	obj, err := t.get(ctx)
	if err != nil {
		return false, err
	}
	return t.enabled(obj), nil
}

// AwaitComponents waits (wait.Long) until the Deployments are Available and the template API
// is in force when enabled: both CRDs Established and served, both APIServices Available and
// served, both webhooks denying what they must (framework/inforce); or, when not, until every
// component (Components) is gone and discovery no longer serves the subresource API
// (AwaitRemoved).
func AwaitComponents(ctx context.Context, enabled bool) {
	GinkgoHelper()
	if !enabled {
		AwaitRemoved(ctx)
		return
	}
	ns := framework.Config().InstallNamespace
	for _, name := range Deployments {
		get := func(ctx context.Context) (*appsv1.Deployment, error) {
			return framework.Admin().Kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		}
		// A Deployment past its progress deadline will not become Available by itself.
		Eventually(get).WithContext(ctx).WithTimeout(wait.Long).Should(wait.Reach(wait.HaveCondition("Available", "True"),
			wait.Terminal("past its progress deadline (Progressing=False/ProgressDeadlineExceeded)", wait.HaveCondition("Progressing", "False", "ProgressDeadlineExceeded")),
			wait.Deleting,
		), "Deployment %s/%s to be Available", ns, name)
	}
	admin := framework.Admin()
	disco := admin.Kube.Discovery()
	for _, name := range APIServices() {
		Expect(inforce.APIService(ctx, admin.Dynamic, disco, wait.Long, name)).To(Succeed())
	}
	for _, crd := range CRDs {
		Expect(inforce.CRD(ctx, admin.Dynamic, disco, wait.Long, crd)).To(Succeed())
	}
	// A template with an undefined reference: upstream's webhooks deny it in every version
	// the run began with (one webhook per served version: release.AdmissionCoversV1beta1).
	probe := fixtures.Template("webhook-probe", fixtures.WithField("metadata.labels.app", fixtures.Ref("UNDEFINED")))
	probe.Namespace = ns
	probes := map[string]ctrlclient.Object{
		"v1beta1":  probe, // the admin client sends the v1beta1 type as v1beta1 where it is served
		"v1alpha1": fixtures.TemplateV1alpha1(probe),
	}
	// Each version's webhook matches every version (matchPolicy Equivalent, the default in
	// config/webhook/manifests.yaml) and kube-apiserver calls them in parallel, so a probe is
	// denied by whichever answers first: any template webhook's denial shows the webhook
	// server in force for that version (both entries exist: VMT-016 checks the configuration).
	for _, version := range framework.SUT().APIs.Template.Served {
		obj := probes[version]
		if obj == nil {
			continue // a version this suite has no types for
		}
		Expect(inforce.Probe(ctx, wait.Medium, "a template webhook to deny the "+version+" probe", func(ctx context.Context) error {
			err := admin.Client.Create(ctx, obj.DeepCopyObject().(ctrlclient.Object), ctrlclient.DryRunAll)
			switch {
			case err == nil:
				return errors.New("the probe was admitted")
			case strings.Contains(err.Error(), `admission webhook "vvirtualmachinetemplate-`) && strings.Contains(err.Error(), "denied the request"):
				return nil
			default:
				return fmt.Errorf("the probe failed otherwise: %w", err)
			}
		})).To(Succeed())
	}
}

// AwaitRemoved waits (wait.Long) until every component (Components) is gone and discovery
// no longer serves the subresource API. It stops at once, naming what is left, when it is
// clear the removal will not happen: the configuration turned the capability on again, or
// virt-operator reports that it has reconciled the KubeVirt CR's current generation
// (status.observedGeneration, Available=True) while a component is still there and not
// being deleted.
func AwaitRemoved(ctx context.Context) {
	GinkgoHelper()
	comps := Components()
	var left []string
	Eventually(func(ctx context.Context) ([]string, error) {
		left = left[:0]
		for _, c := range comps {
			obj, err := c.Get(ctx)
			switch {
			case apierrors.IsNotFound(err):
				continue
			case err != nil:
				return nil, fmt.Errorf("reading %s: %w", c, err)
			case obj.GetDeletionTimestamp() != nil:
				left = append(left, c.String()+" (being deleted)")
			default:
				left = append(left, c.String())
			}
		}
		if len(left) == 0 {
			return nil, nil
		}
		if why := removalWillNotHappen(ctx, left); why != "" {
			return left, StopTrying(wait.StopMessage("the Template capability's components", why,
				"every component removed; still there: "+strings.Join(left, ", ")))
		}
		return left, nil
	}).WithContext(ctx).WithTimeout(wait.Long).Should(BeEmpty(), "the Template capability's components to be removed")
	disco := framework.Admin().Kube.Discovery()
	for _, name := range APIServices() {
		version, group, _ := strings.Cut(name, ".")
		Expect(inforce.Unserved(ctx, disco, wait.Medium, group+"/"+version)).To(Succeed())
	}
}

// removalWillNotHappen says why the components left will stay ("" when they may still go).
func removalWillNotHappen(ctx context.Context, left []string) string {
	if on, err := Enabled(ctx); err == nil && on {
		return "enabled again in " + target().String()
	}
	kv, err := framework.Admin().Dynamic.Resource(kubeVirts).Namespace(framework.Config().InstallNamespace).Get(ctx, KubeVirtName, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	disabled, _, _ := unstructured.NestedStringSlice(kv.Object, "spec", "configuration", "developerConfiguration", "disabledFeatureGates")
	deploy, found, _ := unstructured.NestedBool(kv.Object, "spec", "configuration", "virtTemplateDeployment", "enabled")
	if !slices.Contains(disabled, Gate) && (!found || deploy) {
		return "" // the KubeVirt CR does not (yet) say off: HCO may still be propagating
	}
	observed, found, _ := unstructured.NestedInt64(kv.Object, "status", "observedGeneration")
	if !found || observed != kv.GetGeneration() || !hasCondition(kv, "Available", "True") {
		return ""
	}
	for _, l := range left {
		if !strings.HasSuffix(l, "(being deleted)") {
			return fmt.Sprintf("still there although virt-operator reports generation %d of KubeVirt %s reconciled and Available", observed, KubeVirtName)
		}
	}
	return ""
}

func hasCondition(u *unstructured.Unstructured, t, status string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == t && m["status"] == status {
			return true
		}
	}
	return false
}

// configTarget is the CR that owns the gate.
type configTarget struct {
	gvr       schema.GroupVersionResource
	namespace string
	name      string
	hco       bool
}

func (t configTarget) String() string {
	return fmt.Sprintf("%s %s/%s", t.gvr.Resource, t.namespace, t.name)
}

func target() configTarget {
	ns := framework.Config().InstallNamespace
	if framework.Capabilities().Has(cluster.HCO) {
		return configTarget{gvr: hyperConverged, namespace: ns, name: HyperConvergedName, hco: true}
	}
	return configTarget{gvr: kubeVirts, namespace: ns, name: KubeVirtName}
}

func (t configTarget) get(ctx context.Context) (*unstructured.Unstructured, error) {
	return framework.Admin().Dynamic.Resource(t.gvr).Namespace(t.namespace).Get(ctx, t.name, metav1.GetOptions{})
}

// HCO: spec.featureGates.template (bool). KubeVirt: the gate listed in featureGates, not in
// disabledFeatureGates, and virtTemplateDeployment.enabled not false.
func (t configTarget) enabled(obj *unstructured.Unstructured) bool {
	if t.hco {
		on, _, _ := unstructured.NestedBool(obj.Object, "spec", "featureGates", "template")
		return on
	}
	gates, _, _ := unstructured.NestedStringSlice(obj.Object, "spec", "configuration", "developerConfiguration", "featureGates")
	disabled, _, _ := unstructured.NestedStringSlice(obj.Object, "spec", "configuration", "developerConfiguration", "disabledFeatureGates")
	deploy, found, _ := unstructured.NestedBool(obj.Object, "spec", "configuration", "virtTemplateDeployment", "enabled")
	return slices.Contains(gates, Gate) && !slices.Contains(disabled, Gate) && (!found || deploy)
}

// set writes the gate with a JSON merge patch computed from the original object.
func (t configTarget) set(ctx context.Context, original *unstructured.Unstructured, enabled bool) error {
	var patch map[string]any
	if t.hco {
		patch = map[string]any{"spec": map[string]any{"featureGates": map[string]any{"template": enabled}}}
	} else {
		dev := func(key string) []string {
			l, _, _ := unstructured.NestedStringSlice(original.Object, "spec", "configuration", "developerConfiguration", key)
			return slices.DeleteFunc(l, func(g string) bool { return g == Gate })
		}
		gates, disabled := dev("featureGates"), dev("disabledFeatureGates")
		if enabled {
			gates = append(gates, Gate)
		} else {
			disabled = append(disabled, Gate)
		}
		patch = map[string]any{"spec": map[string]any{"configuration": map[string]any{
			"developerConfiguration": map[string]any{"featureGates": gates, "disabledFeatureGates": disabled},
			// null removes the switch: its default follows the gate.
			"virtTemplateDeployment": nil,
		}}}
	}
	return t.patch(ctx, patch)
}

// restore writes back the original values of every field set touches.
func (t configTarget) restore(ctx context.Context, original *unstructured.Unstructured) error {
	var patch map[string]any
	if t.hco {
		v, found, _ := unstructured.NestedFieldCopy(original.Object, "spec", "featureGates", "template")
		if !found {
			v = nil
		}
		patch = map[string]any{"spec": map[string]any{"featureGates": map[string]any{"template": v}}}
	} else {
		field := func(path ...string) any {
			v, found, _ := unstructured.NestedFieldCopy(original.Object, path...)
			if !found {
				return nil
			}
			return v
		}
		patch = map[string]any{"spec": map[string]any{"configuration": map[string]any{
			"developerConfiguration": map[string]any{
				"featureGates":         field("spec", "configuration", "developerConfiguration", "featureGates"),
				"disabledFeatureGates": field("spec", "configuration", "developerConfiguration", "disabledFeatureGates"),
			},
			"virtTemplateDeployment": field("spec", "configuration", "virtTemplateDeployment"),
		}}}
	}
	return t.patch(ctx, patch)
}

func (t configTarget) patch(ctx context.Context, patch map[string]any) error {
	raw, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	_, err = framework.Admin().Dynamic.Resource(t.gvr).Namespace(t.namespace).Patch(ctx, t.name, types.MergePatchType, raw, metav1.PatchOptions{})
	return err
}
