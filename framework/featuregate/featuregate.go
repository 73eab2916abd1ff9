// Package featuregate flips the Template capability the way an admin does — on the
// HyperConverged CR when the cluster has one, otherwise on the KubeVirt CR (featureGates,
// disabledFeatureGates, virtTemplateDeployment.enabled) — waits until the template
// components agree, and restores the state it found. Cluster-wide: Serial specs only.
package featuregate

import (
	"context"
	"encoding/json"
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
)

// Names of the CRs the package edits.
const (
	KubeVirtName       = "kubevirt"
	HyperConvergedName = "kubevirt-hyperconverged"
)

// SetTemplate turns the Template capability on or off, registers a DeferCleanup that puts
// back the configuration found (and waits for it), and waits until the components match
// the new state. It fails outside a Serial spec.
func SetTemplate(ctx context.Context, enabled bool) {
	GinkgoHelper()
	Expect(CurrentSpecReport().IsSerial).To(BeTrue(), "featuregate.SetTemplate changes the whole cluster: decorate the spec with Serial")
	target := target()
	original, err := target.get(ctx)
	Expect(err).NotTo(HaveOccurred(), "reading %s", target)
	wasEnabled := target.enabled(original)
	DeferCleanup(func(ctx SpecContext) {
		By(fmt.Sprintf("restoring the Template capability on %s to enabled=%t", target, wasEnabled))
		Expect(target.restore(ctx, original)).To(Succeed(), "restoring %s", target)
		AwaitComponents(ctx, wasEnabled)
	})
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
// served, both webhooks denying what they must (framework/inforce); or, when not, until all
// of them are gone and discovery no longer serves the subresource API.
func AwaitComponents(ctx context.Context, enabled bool) {
	GinkgoHelper()
	ns := framework.Config().InstallNamespace
	for _, name := range Deployments {
		get := func(ctx context.Context) (*appsv1.Deployment, error) {
			return framework.Admin().Kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		}
		if enabled {
			Eventually(get).WithContext(ctx).WithTimeout(wait.Long).Should(wait.HaveCondition("Available", "True"), "Deployment %s/%s to be Available", ns, name)
		} else {
			Eventually(ignoreFound(get)).WithContext(ctx).WithTimeout(wait.Long).Should(BeTrue(), "Deployment %s/%s to be removed", ns, name)
		}
	}
	admin := framework.Admin()
	disco := admin.Kube.Discovery()
	for _, name := range APIServices() {
		if enabled {
			Expect(inforce.APIService(ctx, admin.Dynamic, disco, wait.Long, name)).To(Succeed())
			continue
		}
		get := func(ctx context.Context) (*unstructured.Unstructured, error) {
			return admin.Dynamic.Resource(apiServices).Get(ctx, name, metav1.GetOptions{})
		}
		Eventually(ignoreFound(get)).WithContext(ctx).WithTimeout(wait.Long).Should(BeTrue(), "APIService %s to be removed", name)
		version, group, _ := strings.Cut(name, ".")
		Expect(inforce.Unserved(ctx, disco, wait.Medium, group+"/"+version)).To(Succeed())
	}
	if !enabled {
		return
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
	for _, version := range framework.SUT().APIs.Template.Served {
		webhook, obj := "vvirtualmachinetemplate-"+version+".kb.io", probes[version]
		if obj == nil {
			continue // a version this suite has no types for
		}
		Expect(inforce.WebhookDenies(ctx, wait.Medium, webhook, func(ctx context.Context) error {
			return admin.Client.Create(ctx, obj.DeepCopyObject().(ctrlclient.Object), ctrlclient.DryRunAll)
		})).To(Succeed())
	}
}

// ignoreFound turns a getter into "is it gone?", keeping other errors.
func ignoreFound[T any](get func(context.Context) (T, error)) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		_, err := get(ctx)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
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
