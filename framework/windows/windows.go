// Package windows is the Windows fixture: the Windows golden-image DataSource given by
// --vmt.windows-image (there is no public image to provision) and the settings a Windows
// template carries (EFI with Secure Boot, a persistent vTPM, Hyper-V enlightenments, SATA
// root disk, pod network).
package windows

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
	kubevirtv1 "kubevirt.io/api/core/v1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/config"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
)

// Memory and CPUs of a Windows guest (Windows 11 needs 4Gi and 2 cores).
const (
	Memory = "4Gi"
	CPUs   = 2
	// RootDiskSize is the size of the cloned root disk.
	RootDiskSize = "64Gi"
)

// DataSource returns the configured Windows DataSource once it is Ready. Specs reaching
// here carry requires-windows-image, so a missing flag is a configuration error.
func DataSource(ctx context.Context) (string, string) {
	GinkgoHelper()
	ref := framework.Config().WindowsImage
	Expect(ref).NotTo(BeEmpty(), "requires-windows-image specs need --vmt.windows-image=namespace/name (VMT_WINDOWS_IMAGE)")
	ns, name := config.SplitRef(ref)
	Eventually(func(ctx context.Context) (*cdiv1beta1.DataSource, error) {
		ds := &cdiv1beta1.DataSource{}
		return ds, framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, ds)
	}).WithContext(ctx).WithTimeout(wait.Long).Should(wait.Reach(wait.HaveCondition("Ready", "True"), wait.DataSourceFailed), "Windows DataSource %s to be Ready", ref)
	return ns, name
}

// Settings are the VM options of a Windows guest.
func Settings() []fixtures.VMOption {
	return []fixtures.VMOption{
		fixtures.WithMemory(Memory),
		fixtures.WithCPUCores(CPUs),
		fixtures.WithEFI(true),
		fixtures.WithTPM(true),
		fixtures.WithHyperV(),
		fixtures.WithDiskBus("rootdisk", kubevirtv1.DiskBusSATA),
		fixtures.WithPodNetwork(""),
	}
}
