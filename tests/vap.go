package tests

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/inforce"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/rbac"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// Upstream's names: the aggregated ClusterRole for the phony source subresource, and the
// ValidatingAdmissionPolicy (and its binding) that checks who may capture.
const (
	sourceRoleName = "virt-template-virtualmachinetemplaterequest-source-role"
	capturePolicy  = "virt-template-vmtr-authz"
)

// VMT-021: the cluster decides at admission who may start a capture (virt-template.md §5.2).
var _ = Describe("Capture request admission", tiers.Scenario("VMT-021"), func() {
	var source, target string
	var requester *rbac.Persona

	BeforeEach(func(ctx SpecContext) {
		source = namespace.New(ctx, "source")
		target = namespace.New(ctx, "target")
		createObject(ctx, withNamespace(fixtures.VM("source-vm"), source))
		requester = rbac.ServiceAccount(ctx, target, "requester")
		awaitCapturePolicy(ctx, target)
	})

	// request creates a VMTR in target as the requester, capturing sourceNS/source-vm.
	request := func(ctx context.Context, sourceNS string) error {
		req := fixtures.Request(sourceNS, "source-vm", fixtures.WithRequestNamespace(target))
		err := requester.Clients.Client.Create(ctx, req)
		if err == nil {
			DeferCleanup(deleteIgnoringNotFound, ctrlObject(req))
		}
		return err
	}
	inTarget := func(ctx context.Context, rules ...rbacv1.PolicyRule) { requester.Grant(ctx, target, rules...) }
	inSource := func(ctx context.Context, rules ...rbacv1.PolicyRule) { requester.Grant(ctx, source, rules...) }
	expectDenied := func(ctx context.Context, sourceNS, message string) {
		GinkgoHelper()
		err := request(ctx, sourceNS)
		Expect(err).To(beDeniedByCapturePolicy(message),
			"a VirtualMachineTemplateRequest in %s capturing VirtualMachine %s/source-vm, created by %s", target, sourceNS, requester.User)
		list := &templatev1beta1.VirtualMachineTemplateRequestList{}
		Expect(framework.Admin().Client.List(ctx, list, ctrlInNamespace(target))).To(Succeed())
		Expect(list.Items).To(BeEmpty(), "a denied request is never stored")
	}
	sourceDenied := func() string {
		return fmt.Sprintf("User is not allowed to use VirtualMachine %s/source-vm as a source for VirtualMachineTemplateRequests", source)
	}

	It("denies a cross-namespace request without the source role", func(ctx SpecContext) {
		inTarget(ctx, rbac.ManageRequests(), rbac.CreateDataVolumes(), rbac.CreateTemplates())
		expectDenied(ctx, source, sourceDenied())
	})

	It("denies a request when the source role names another VM", func(ctx SpecContext) {
		inTarget(ctx, rbac.ManageRequests(), rbac.CreateDataVolumes(), rbac.CreateTemplates())
		inSource(ctx, rbac.RequestSource("other-vm"))
		expectDenied(ctx, source, sourceDenied())
	})

	It("denies a request by a user who cannot create DataVolumes in the target namespace", func(ctx SpecContext) {
		inTarget(ctx, rbac.ManageRequests(), rbac.CreateTemplates())
		inSource(ctx, rbac.RequestSource("source-vm"))
		expectDenied(ctx, source, "User is not allowed to create DataVolumes in namespace "+target)
	})

	It("denies a request by a user who cannot create templates in the target namespace", func(ctx SpecContext) {
		inTarget(ctx, rbac.ManageRequests(), rbac.CreateDataVolumes())
		inSource(ctx, rbac.RequestSource("source-vm"))
		expectDenied(ctx, source, "User is not allowed to create VirtualMachineTemplates in namespace "+target)
	})

	It("allows a request when the source role names the VM", func(ctx SpecContext) {
		inTarget(ctx, rbac.ManageRequests(), rbac.CreateDataVolumes(), rbac.CreateTemplates())
		inSource(ctx, rbac.RequestSource("source-vm"))
		Expect(request(ctx, source)).To(Succeed())
	})

	It("allows a request when the source role names no VM", func(ctx SpecContext) {
		inTarget(ctx, rbac.ManageRequests(), rbac.CreateDataVolumes(), rbac.CreateTemplates())
		inSource(ctx, rbac.RequestSource())
		Expect(request(ctx, source)).To(Succeed())
	})

	It("allows a request through upstream's aggregated source ClusterRole", func(ctx SpecContext) {
		inTarget(ctx, rbac.ManageRequests(), rbac.CreateDataVolumes(), rbac.CreateTemplates())
		requester.BindClusterRole(ctx, source, sourceRoleName, rbac.RequestSource("source-vm"))
		Expect(request(ctx, source)).To(Succeed())
	})

	It("allows a same-namespace request without the source role", func(ctx SpecContext) {
		createObject(ctx, withNamespace(fixtures.VM("source-vm"), target))
		inTarget(ctx, rbac.ManageRequests(), rbac.CreateDataVolumes(), rbac.CreateTemplates())
		Expect(request(ctx, target)).To(Succeed())
	})
})

// beDeniedByCapturePolicy matches the error of a create that upstream's capture policy
// denied with message: kube-apiserver answers 403 (the validation's reason Forbidden) and
// "ValidatingAdmissionPolicy '<policy>' with binding '<binding>' denied request: <message>"
// (k8s.io/apiserver pkg/admission/plugin/policy/validating/dispatcher.go). The messages are
// the validations' messageExpressions in config/admission/vmtr_authz_vap.yaml@v0.1.8 and
// @v0.2.2 (the same at both tags), the binding is vmtr_authz_vapb.yaml, both named
// virt-template-vmtr-authz by the kustomize namePrefix. An admitted request (nil) or
// another error fails saying what was expected and what was seen.
func beDeniedByCapturePolicy(message string) OmegaMatcher {
	return &capturePolicyDenial{want: fmt.Sprintf("ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s",
		capturePolicy, capturePolicy, message)}
}

type capturePolicyDenial struct{ want string }

func (m *capturePolicyDenial) Match(actual any) (bool, error) {
	if actual == nil {
		return false, nil
	}
	err, ok := actual.(error)
	if !ok {
		return false, fmt.Errorf("beDeniedByCapturePolicy expects an error, got %T", actual)
	}
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), m.want), nil
}

func (m *capturePolicyDenial) FailureMessage(actual any) string {
	seen := "it was admitted (no error): the request was stored"
	if err, ok := actual.(error); ok && err != nil {
		code := 0
		if status, ok := err.(apierrors.APIStatus); ok {
			code = int(status.Status().Code)
		}
		seen = fmt.Sprintf("it got HTTP %d, reason %q:\n\t%v", code, apierrors.ReasonForError(err), err)
	}
	return fmt.Sprintf("Expected the create to be denied by ValidatingAdmissionPolicy %s (403, reason Forbidden) with\n\t%s\nbut %s",
		capturePolicy, m.want, seen)
}

func (m *capturePolicyDenial) NegatedFailureMessage(actual any) string {
	return fmt.Sprintf("Expected the create not to be denied by ValidatingAdmissionPolicy %s with\n\t%s\nbut it was: %v", capturePolicy, m.want, actual)
}

// awaitCapturePolicy waits (wait.Medium: the policy may have just been redeployed, VMT-015)
// until the capture policy and its binding are in force in kube-apiserver, so that an
// admitted request means the policy allowed it. The probe is a dry-run request by a service
// account that may create requests in ns and nothing else, which the policy must deny.
func awaitCapturePolicy(ctx context.Context, ns string) {
	GinkgoHelper()
	prober := rbac.ServiceAccount(ctx, ns, "policy-probe")
	prober.Grant(ctx, ns, rbac.ManageRequests())
	Expect(inforce.PolicyDenies(ctx, wait.Medium, capturePolicy, func(ctx context.Context) error {
		req := fixtures.Request(ns, "policy-probe", fixtures.WithRequestNamespace(ns))
		return prober.Clients.Client.Create(ctx, req, ctrlclient.DryRunAll)
	})).To(Succeed())
}
