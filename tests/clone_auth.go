package tests

import (
	"fmt"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework/goldenimage"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/rbac"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// cloneRefusedMessage is what KubeVirt's VM controller reports in the VM's Failure
// condition (reason FailedCreate) when the VM's service account may not clone a
// DataVolumeTemplate's source: "Error encountered while creating DataVolumes: …"
// (pkg/virt-controller/watch/vm/vm.go@v1.8.4 and @v1.9.0, sync), "not authorized to create
// DataVolume: …" (same file, handleCloneDataVolume; the event UnauthorizedDataVolumeCreate
// says the same) and CDI's reason "User … has insufficient permissions in clone source
// namespace …" (containerized-data-importer-api pkg/apis/core/v1beta1/authorize_utils.go, as
// vendored by both releases). No DataVolume is created.
func cloneRefusedMessage(vmNamespace, sourceNamespace string) string {
	return fmt.Sprintf("Error encountered while creating DataVolumes: not authorized to create DataVolume: User system:serviceaccount:%s:default has insufficient permissions in clone source namespace %s",
		vmNamespace, sourceNamespace)
}

// vmFailureMessage is the message of a VM's Failure condition ("" without one).
func vmFailureMessage(vm *kubevirtv1.VirtualMachine) string {
	for _, c := range vm.Status.Conditions {
		if c.Type == kubevirtv1.VirtualMachineFailure && c.Status == "True" {
			return c.Message
		}
	}
	return ""
}

// VMT-023, disks: a template cannot smuggle a disk out of a namespace the VM's namespace may
// not clone from; the clone permission is checked for the VM, not for the template.
var _ = Describe("No namespace bypass through template disks", tiers.Scenario("VMT-023"), func() {
	It("gives a VM no disk cloned from a namespace its service account may not clone from, until it may", func(ctx SpecContext) {
		own := namespace.New(ctx, "own")
		restrictedNS, restrictedDS := goldenimage.RestrictedDataSource(ctx)
		createObject(ctx, withNamespace(fixtures.Instancetype("u1.small", 1, "2Gi"), own))

		By("creating, in the user's namespace, a template whose root disk clones from the restricted golden image")
		tpl := createTemplate(ctx, own, goldenTemplate(restrictedNS, restrictedDS))
		awaitTemplateReady(ctx, own, tpl.Name)

		By("granting a user /create and VMs in its own namespace only")
		user := rbac.User("restricted-disk-user")
		user.Grant(ctx, own, rbac.CreateFromTemplates(tpl.Name), rbac.ManageVMs(), rbac.CreateDataVolumes())

		By("creating the VM through /create")
		call := callSubresource(ctx, user.Clients, own, tpl.Name, core.CreateSubresource, params{"NAME": "vm-restricted"})
		Expect(call).To(haveStatus(http.StatusOK), "%s", call)
		disk := "vm-restricted-root"

		By("waiting for KubeVirt to refuse the clone on the VM, without a DataVolume")
		want := cloneRefusedMessage(own, restrictedNS)
		Eventually(func(ctx SpecContext) (*kubevirtv1.VirtualMachine, error) {
			if _, err := dataVolumeGetter(own, disk)(ctx); err == nil {
				return nil, StopTrying(wait.StopMessage("DataVolume "+own+"/"+disk, "created",
					"no DataVolume cloned from "+restrictedNS+" (the VM's service account may not clone from it) and the VM's Failure condition: "+want))
			} else if !apierrors.IsNotFound(err) {
				return nil, err
			}
			return vmGetter(own, "vm-restricted")(ctx)
		}).WithContext(ctx).WithTimeout(wait.Medium).Should(WithTransform(vmFailureMessage, Equal(want)),
			"VM %s/vm-restricted to report the refused clone", own)

		By("granting the VM's service account the clone permission in the golden image's namespace")
		rbac.DefaultServiceAccount(own).Grant(ctx, restrictedNS, rbac.CloneDataVolumes())

		By("waiting for the disk to be cloned")
		awaitDataVolumeSucceeded(ctx, own, disk)
	})
})
