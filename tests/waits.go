package tests

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gcustom"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	kubevirtv1 "kubevirt.io/api/core/v1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"

	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// Getters for Eventually: the last value is printed when a wait fails.

func templateGetter(ns, name string) func(context.Context) (*templatev1beta1.VirtualMachineTemplate, error) {
	return func(ctx context.Context) (*templatev1beta1.VirtualMachineTemplate, error) {
		t := &templatev1beta1.VirtualMachineTemplate{}
		return t, framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, t)
	}
}

func requestGetter(ns, name string) func(context.Context) (*templatev1beta1.VirtualMachineTemplateRequest, error) {
	return func(ctx context.Context) (*templatev1beta1.VirtualMachineTemplateRequest, error) {
		r := &templatev1beta1.VirtualMachineTemplateRequest{}
		return r, framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, r)
	}
}

func vmGetter(ns, name string) func(context.Context) (*kubevirtv1.VirtualMachine, error) {
	return func(ctx context.Context) (*kubevirtv1.VirtualMachine, error) { return getVM(ctx, ns, name) }
}

func dataVolumeGetter(ns, name string) func(context.Context) (*cdiv1beta1.DataVolume, error) {
	return func(ctx context.Context) (*cdiv1beta1.DataVolume, error) {
		dv := &cdiv1beta1.DataVolume{}
		return dv, framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, dv)
	}
}

// awaitTemplateReady waits for the controller's Ready=True/Reconciled on a template.
func awaitTemplateReady(ctx context.Context, ns, name string) *templatev1beta1.VirtualMachineTemplate {
	GinkgoHelper()
	Eventually(templateGetter(ns, name)).WithContext(ctx).WithTimeout(wait.Medium).
		Should(wait.HaveCondition(templatev1beta1.ConditionReady, "True", templatev1beta1.ReasonReconciled), "template %s/%s to be Ready", ns, name)
	t, err := templateGetter(ns, name)(ctx)
	Expect(err).NotTo(HaveOccurred())
	return t
}

// awaitRequestDone waits for a finished capture: Ready=True/Reconciled,
// Progressing=False/Reconciled and status.templateRef set (stp-scenarios.md §1 "VMTR done").
func awaitRequestDone(ctx context.Context, ns, name string) *templatev1beta1.VirtualMachineTemplateRequest {
	GinkgoHelper()
	Eventually(requestGetter(ns, name)).WithContext(ctx).WithTimeout(wait.Long).Should(SatisfyAll(
		wait.HaveCondition(templatev1beta1.ConditionReady, "True", templatev1beta1.ReasonReconciled),
		wait.HaveCondition(templatev1beta1.ConditionProgressing, "False", templatev1beta1.ReasonReconciled),
		WithTransform(func(r *templatev1beta1.VirtualMachineTemplateRequest) string {
			if r.Status.TemplateRef == nil {
				return ""
			}
			return r.Status.TemplateRef.Name
		}, Not(BeEmpty())),
	), "request %s/%s to finish", ns, name)
	r, err := requestGetter(ns, name)(ctx)
	Expect(err).NotTo(HaveOccurred())
	return r
}

// beReadyVM matches a VM the cluster reports ready (status.ready, printableStatus Running).
// The failure message shows the status last seen.
func beReadyVM() OmegaMatcher {
	return gcustom.MakeMatcher(func(vm *kubevirtv1.VirtualMachine) (bool, error) {
		return vm.Status.Ready && vm.Status.PrintableStatus == kubevirtv1.VirtualMachineStatusRunning, nil
	}).WithTemplate("Expected VM {{.Actual.Namespace}}/{{.Actual.Name}} to be ready (status.ready, printableStatus Running); last seen: ready={{.Actual.Status.Ready}} printableStatus={{.Actual.Status.PrintableStatus}} conditions:{{range .Actual.Status.Conditions}} {{.Type}}={{.Status}} ({{.Reason}}: {{.Message}});{{end}}")
}

// awaitVMReady waits (wait.VMStart) until the VM is ready.
func awaitVMReady(ctx context.Context, ns, name string) *kubevirtv1.VirtualMachine {
	GinkgoHelper()
	Eventually(vmGetter(ns, name)).WithContext(ctx).WithTimeout(wait.VMStart).Should(beReadyVM(), "VM %s/%s to be ready", ns, name)
	vm, err := getVM(ctx, ns, name)
	Expect(err).NotTo(HaveOccurred())
	return vm
}

// awaitDataVolumeSucceeded waits (wait.Long) for a DataVolume to reach phase Succeeded
// with Ready=True.
func awaitDataVolumeSucceeded(ctx context.Context, ns, name string) {
	GinkgoHelper()
	Eventually(dataVolumeGetter(ns, name)).WithContext(ctx).WithTimeout(wait.Long).Should(SatisfyAll(
		WithTransform(func(dv *cdiv1beta1.DataVolume) cdiv1beta1.DataVolumePhase { return dv.Status.Phase }, Equal(cdiv1beta1.Succeeded)),
		wait.HaveCondition("Ready", "True"),
	), "DataVolume %s/%s to succeed", ns, name)
}

// startVM sets runStrategy Always, as `virtctl start` does for a halted VM.
func startVM(ctx context.Context, ns, name string) {
	GinkgoHelper()
	// Controllers write the VM's status meanwhile: retry conflicts.
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		vm, err := getVM(ctx, ns, name)
		if err != nil {
			return err
		}
		always := kubevirtv1.RunStrategyAlways
		vm.Spec.RunStrategy = &always
		return framework.Admin().Client.Update(ctx, vm)
	})).To(Succeed(), "starting VM %s/%s", ns, name)
}
