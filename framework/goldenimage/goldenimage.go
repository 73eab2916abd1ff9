// Package goldenimage gives specs a Ready golden image: the DataSource named by
// --vmt.golden-image, or one this run provisions once, shared by every Ginkgo process, in
// the namespace "vmt-golden-images-<run id>" (a DataVolume importing fixtures'
// container disk and a DataSource on its PVC). Specs only read it.
package goldenimage

import (
	"context"
	"errors"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/config"
	"github.com/vmt-conformance/vmt-conformance/framework/inforce"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/rbac"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
)

// Name of the provisioned DataSource and of its DataVolume.
const Name = "vmt-fedora"

// readerName names the Role and RoleBinding that let every user read and clone the images.
const readerName = "vmt-golden-images-reader"

// Size of the provisioned image.
const Size = "5Gi"

// Namespace is where this run provisions its golden image.
func Namespace() string { return "vmt-golden-images-" + framework.RunID() }

// RestrictedNamespace is where this run provisions its restricted golden image: a namespace
// without the clone grant, so only cluster admins may read or clone from it.
func RestrictedNamespace() string { return "vmt-golden-restricted-" + framework.RunID() }

// RestrictedDataSource returns the namespace and name of a Ready DataSource that no user or
// service account but the cluster admins may clone from (no datavolumes/source grant, no
// pods or PVCs access in its namespace), provisioned once per run (also with
// --vmt.golden-image) and shared like DataSource. Specs use it to check that a VM whose disks
// clone from it does not get them (CDI's clone authorization, KubeVirt's
// DataVolumeTemplate check). Before returning it proves, with a SubjectAccessReview, that
// service accounts may not clone from it.
func RestrictedDataSource(ctx context.Context) (string, string) {
	GinkgoHelper()
	ns := RestrictedNamespace()
	provisionImage(ctx, ns)
	awaitReady(ctx, ns, Name)
	anySA := inforce.Accesses("vmt-e2e:restricted-golden-image", []string{"system:serviceaccounts", "system:authenticated"}, ns,
		rbac.CloneDataVolumes())
	Expect(inforce.Denied(ctx, framework.Admin().Kube, wait.Short, anySA...)).To(Succeed(), "the restricted golden image must not be clonable by service accounts")
	return ns, Name
}

// DataSource returns the namespace and name of a Ready golden-image DataSource, adopting
// the configured one or provisioning this run's. Safe to call from every spec and process:
// creation tolerates AlreadyExists, and readiness is awaited with wait.Long.
func DataSource(ctx context.Context) (string, string) {
	GinkgoHelper()
	ns, name := config.SplitRef(framework.Config().GoldenImage)
	if framework.Config().GoldenImage == "" {
		ns, name = Namespace(), Name
		provision(ctx, ns)
	}
	awaitReady(ctx, ns, name)
	return ns, name
}

func awaitReady(ctx context.Context, ns, name string) {
	GinkgoHelper()
	Eventually(func(ctx context.Context) (*cdiv1beta1.DataSource, error) {
		ds := &cdiv1beta1.DataSource{}
		return ds, framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, ds)
	}).WithContext(ctx).WithTimeout(wait.Long).Should(wait.Reach(wait.HaveCondition("Ready", "True"), wait.DataSourceFailed), "golden-image DataSource %s/%s to be Ready", ns, name)
}

// provisionImage creates ns with the golden image's DataVolume and DataSource (tolerating
// AlreadyExists) and no access for anyone but admins.
func provisionImage(ctx context.Context, ns string) {
	GinkgoHelper()
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: namespace.RunLabels()}}
	dv := fixtures.ImportDataVolume(Name, "docker://"+fixtures.DefaultContainerDisk, Size)
	dv.Namespace = ns
	ds := fixtures.DataSource(Name, ns, Name)
	ds.Namespace = ns
	for _, obj := range []ctrlclient.Object{nsObj, dv, ds} {
		err := framework.Admin().Client.Create(ctx, obj)
		if !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred(), "provisioning the golden image in %s: creating %T %s", ns, obj, obj.GetName())
		}
	}
}

func provision(ctx context.Context, ns string) {
	GinkgoHelper()
	provisionImage(ctx, ns)
	// Every user may read and clone the golden images, as in OpenShift's
	// openshift-virtualization-os-images namespace (os-images.kubevirt.io:view bound to
	// system:authenticated): KubeVirt checks datavolumes/source for a VM's DataVolumeTemplates.
	reader := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: readerName}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"cdi.kubevirt.io"}, Resources: []string{"datasources", "datavolumes"}, Verbs: []string{"get", "list", "watch"}},
		rbac.CloneDataVolumes(),
	}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: readerName},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: readerName},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:authenticated"}}}
	for _, obj := range []ctrlclient.Object{reader, binding} {
		err := framework.Admin().Client.Create(ctx, obj)
		if !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred(), "provisioning the golden image: creating %T %s", obj, obj.GetName())
		}
	}
	// Any authenticated user stands for every spec's personas and VM service accounts.
	anyUser := inforce.Accesses("vmt-e2e:golden-image-reader", []string{"system:authenticated"}, ns, reader.Rules...)
	Expect(inforce.Allowed(ctx, framework.Admin().Kube, wait.Short, anyUser...)).To(Succeed(), "golden images readable by every user")
}

// Cleanup deletes this run's golden-image namespaces, if any; the suite calls it once after
// every process finished (also after a failed set-up).
func Cleanup(ctx context.Context) error {
	if framework.Admin() == nil {
		return nil // the suite never connected: nothing was provisioned
	}
	var errs []error
	for _, ns := range []string{Namespace(), RestrictedNamespace()} {
		err := framework.Admin().Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting golden-image namespace %s: %w", ns, err))
		}
	}
	return errors.Join(errs...)
}
