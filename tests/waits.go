package tests

import (
	"context"
	"fmt"
	"strings"

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

// awaitTemplateReady waits for the controller's Ready=True/Reconciled on a template. Its
// only wrong terminal state is being deleted: upstream's template controller never sets
// Ready=False (internal/controller/virtualmachinetemplate_controller.go@v0.2.2:62-66).
func awaitTemplateReady(ctx context.Context, ns, name string) *templatev1beta1.VirtualMachineTemplate {
	GinkgoHelper()
	Eventually(templateGetter(ns, name)).WithContext(ctx).WithTimeout(wait.Medium).
		Should(wait.Reach(wait.HaveCondition(templatev1beta1.ConditionReady, "True", templatev1beta1.ReasonReconciled), wait.Deleting),
			"template %s/%s to be Ready", ns, name)
	t, err := templateGetter(ns, name)(ctx)
	Expect(err).NotTo(HaveOccurred())
	return t
}

// Terminal states of a VirtualMachineTemplateRequest. Upstream stops reconciling a request
// once Progressing is False (shouldReconcile, internal/controller/
// virtualmachinetemplaterequest_controller.go@v0.1.8 and @v0.2.2): Ready=True with
// Progressing=False/Reconciled is success for good, Progressing=False with any other reason
// (Failed, InvalidConfiguration) failure for good. Neither changes afterwards.
var (
	requestFailedForGood = wait.Terminal("failed for good (Progressing=False, reason not Reconciled)", SatisfyAll(
		wait.HaveCondition(templatev1beta1.ConditionProgressing, "False"),
		Not(wait.HaveCondition(templatev1beta1.ConditionProgressing, "False", templatev1beta1.ReasonReconciled))))
	requestSucceeded = wait.Terminal("finished successfully (Ready=True)",
		wait.HaveCondition(templatev1beta1.ConditionReady, "True"))
)

// awaitRequestDone waits for a finished capture: Ready=True/Reconciled,
// Progressing=False/Reconciled and status.templateRef set (stp-scenarios.md §1 "VMTR done").
// A request that fails for good stops the wait at once with its conditions.
func awaitRequestDone(ctx context.Context, ns, name string) *templatev1beta1.VirtualMachineTemplateRequest {
	GinkgoHelper()
	Eventually(requestGetter(ns, name)).WithContext(ctx).WithTimeout(wait.Long).Should(wait.Reach(SatisfyAll(
		wait.HaveCondition(templatev1beta1.ConditionReady, "True", templatev1beta1.ReasonReconciled),
		wait.HaveCondition(templatev1beta1.ConditionProgressing, "False", templatev1beta1.ReasonReconciled),
		WithTransform(func(r *templatev1beta1.VirtualMachineTemplateRequest) string {
			if r.Status.TemplateRef == nil {
				return ""
			}
			return r.Status.TemplateRef.Name
		}, Not(BeEmpty())),
	), requestFailedForGood, wait.Deleting), "request %s/%s to finish", ns, name)
	r, err := requestGetter(ns, name)(ctx)
	Expect(err).NotTo(HaveOccurred())
	return r
}

// awaitRequestFailed waits for a request to fail for good with reason: Ready=False and
// Progressing=False, both with reason. A request that finishes successfully instead, or
// fails for good with another reason, stops the wait at once with its conditions.
func awaitRequestFailed(ctx context.Context, ns, name, reason string) *templatev1beta1.VirtualMachineTemplateRequest {
	GinkgoHelper()
	Eventually(requestGetter(ns, name)).WithContext(ctx).WithTimeout(wait.Long).Should(wait.Reach(SatisfyAll(
		wait.HaveCondition(templatev1beta1.ConditionReady, "False", reason),
		wait.HaveCondition(templatev1beta1.ConditionProgressing, "False", reason),
	), requestSucceeded, wait.Terminal("failed for good with another reason than "+reason, SatisfyAll(
		wait.HaveCondition(templatev1beta1.ConditionProgressing, "False"),
		Not(wait.HaveCondition(templatev1beta1.ConditionProgressing, "False", reason)))), wait.Deleting),
		"request %s/%s to fail for good (%s)", ns, name, reason)
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

// awaitVMReady waits (wait.VMStart) until the VM is ready. It stops at once when the VM
// cannot become ready: it is being deleted, or a DataVolume of it failed (vmStartGetter).
func awaitVMReady(ctx context.Context, ns, name string) *kubevirtv1.VirtualMachine {
	GinkgoHelper()
	Eventually(vmStartGetter(ns, name)).WithContext(ctx).WithTimeout(wait.VMStart).
		Should(wait.Reach(beReadyVM(), wait.Deleting), "VM %s/%s to be ready", ns, name)
	vm, err := getVM(ctx, ns, name)
	Expect(err).NotTo(HaveOccurred())
	return vm
}

// awaitDataVolumeSucceeded waits (wait.Long) for a DataVolume to reach phase Succeeded
// with Ready=True, and stops at once when it is Failed or being deleted.
func awaitDataVolumeSucceeded(ctx context.Context, ns, name string) {
	GinkgoHelper()
	Eventually(dataVolumeGetter(ns, name)).WithContext(ctx).WithTimeout(wait.Long).Should(wait.Reach(SatisfyAll(
		wait.HavePhase(string(cdiv1beta1.Succeeded)),
		wait.HaveCondition("Ready", "True"),
	), wait.DataVolumeFailed, wait.Deleting), "DataVolume %s/%s to succeed", ns, name)
}

// snapshotKeptAfterDone: upstream deletes a request's VirtualMachineSnapshot in the
// reconcile whose status patch reports the request done (Reconcile calls deleteSnapshot
// before the deferred patch, internal/controller/virtualmachinetemplaterequest_controller.go
// @v0.1.8 and @v0.2.2:143-181) and reconciles a finished request no more (shouldReconcile):
// once the request is done, a snapshot of it without a deletionTimestamp stays for good.
var snapshotKeptAfterDone = wait.Terminal("holding a snapshot that is not being deleted although the request is done",
	ContainElement(HaveField("ObjectMeta.DeletionTimestamp", BeNil())))

// vmStartGetter is vmGetter for a VM awaited to run: it stops the wait (gomega StopTrying)
// when the VM reports printableStatus DataVolumeError for a DataVolume in phase Failed,
// which KubeVirt never recovers from (wait.DataVolumeFailed; printableStatus from
// pkg/virt-controller/watch/vm/vm.go setPrintableStatus and pkg/storage/types/dv.go
// HasDataVolumeErrors @v1.8.0). DataVolumeError for an importer that stopped on an error is
// not terminal: CDI restarts the importer.
func vmStartGetter(ns, name string) func(context.Context) (*kubevirtv1.VirtualMachine, error) {
	return func(ctx context.Context) (*kubevirtv1.VirtualMachine, error) {
		vm, err := getVM(ctx, ns, name)
		if err != nil || vm.Status.PrintableStatus != kubevirtv1.VirtualMachineStatusDataVolumeError || vm.Spec.Template == nil {
			return vm, err
		}
		for _, v := range vm.Spec.Template.Spec.Volumes {
			if v.DataVolume == nil {
				continue
			}
			dv, err := dataVolumeGetter(ns, v.DataVolume.Name)(ctx)
			if err != nil || dv.Status.Phase != cdiv1beta1.Failed {
				continue
			}
			state := fmt.Sprintf("printableStatus DataVolumeError: its DataVolume %s is in phase Failed (conditions: %s)",
				dv.Name, strings.ReplaceAll(wait.ConditionsLastSeen(dv), "\n", "; "))
			return vm, StopTrying(wait.StopMessage(fmt.Sprintf("VM %s/%s", ns, name), state, beReadyVM().FailureMessage(vm)))
		}
		return vm, nil
	}
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
