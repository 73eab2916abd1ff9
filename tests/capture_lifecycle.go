package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	kubevirtv1 "kubevirt.io/api/core/v1"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// Lifecycle of a capture request (VMTR), read from upstream's request controller
// internal/controller/virtualmachinetemplaterequest_controller.go at v0.1.8 and v0.2.2 (the
// two differ only in API version, TTL, templateLabels and the NAME generator; see
// framework/release):
//   - getTemplate: a template of the requested name without the request's UID label fails
//     the request for good: Progressing=False/Failed, Ready=False/Failed "existing
//     VirtualMachineTemplate <ns>/<name> was not created by this request"; nothing else is
//     done (no snapshot), the template is not touched.
//   - getTemplateName: spec.templateName, else the request's own name.
//   - handleDeletion: the finalizer template.kubevirt.io/snapshot-cleanup deletes the
//     request's VirtualMachineSnapshot (KubeVirt then deletes its content and VolumeSnapshots);
//     cloneSnapshotContent creates the DataVolumes with the request as controller, so they are
//     garbage-collected with it until setDataVolumeOwnerReferences hands them to the template.
//   - handleTTL (v0.2.0+): a request Ready=True is deleted ttlSecondsAfterFinished after the
//     Ready condition's lastTransitionTime.
//   - getBackendStoragePVCName: the volume backup named "persistent-state-for…" (KubeVirt's
//     backend storage for persistent EFI/TPM) is neither cloned nor given a DataVolumeTemplate.
//   - createTemplate: the expanded source VM spec as it is (volumes that are not volume
//     backups, such as Secret, ConfigMap and cloud-init volumes, keep their references).

// requestSnapshots lists the VirtualMachineSnapshots of the request with UID uid in ns.
func requestSnapshots(ns string, uid types.UID) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		list := &snapshotv1beta1.VirtualMachineSnapshotList{}
		err := framework.Admin().Client.List(ctx, list, ctrlclient.InNamespace(ns),
			ctrlclient.MatchingLabels{templatev1beta1.LabelRequestUID: string(uid)})
		names := []string{}
		for _, s := range list.Items {
			names = append(names, s.Name)
		}
		return names, err
	}
}

// requestDataVolumes lists the DataVolumes labelled with the request's UID in ns.
func requestDataVolumes(ctx context.Context, ns string, uid types.UID) ([]cdiv1beta1.DataVolume, error) {
	list := &cdiv1beta1.DataVolumeList{}
	err := framework.Admin().Client.List(ctx, list, ctrlclient.InNamespace(ns),
		ctrlclient.MatchingLabels{templatev1beta1.LabelRequestUID: string(uid)})
	return list.Items, err
}

// diskLeftovers names what is left in a namespace of the disks a capture copies: the
// VirtualMachineSnapshots, VirtualMachineSnapshotContents and VolumeSnapshots in sourceNS,
// the DataVolumes labelled with the request's UID and the PVCs in targetNS (where only
// the capture makes claims).
func diskLeftovers(sourceNS, targetNS string, uid types.UID) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		var left []string
		snaps, err := requestSnapshots(sourceNS, uid)(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range snaps {
			left = append(left, "VirtualMachineSnapshot "+sourceNS+"/"+s)
		}
		contents := &snapshotv1beta1.VirtualMachineSnapshotContentList{}
		if err := framework.Admin().Client.List(ctx, contents, ctrlclient.InNamespace(sourceNS)); err != nil {
			return nil, err
		}
		for _, c := range contents.Items {
			left = append(left, "VirtualMachineSnapshotContent "+sourceNS+"/"+c.Name)
		}
		vs := &unstructured.UnstructuredList{}
		vs.SetAPIVersion("snapshot.storage.k8s.io/v1")
		vs.SetKind("VolumeSnapshotList")
		if err := framework.Admin().Client.List(ctx, vs, ctrlclient.InNamespace(sourceNS)); err != nil {
			return nil, err
		}
		for _, v := range vs.Items {
			left = append(left, "VolumeSnapshot "+sourceNS+"/"+v.GetName())
		}
		dvs, err := requestDataVolumes(ctx, targetNS, uid)
		if err != nil {
			return nil, err
		}
		for _, dv := range dvs {
			left = append(left, "DataVolume "+targetNS+"/"+dv.Name)
		}
		pvcs := &corev1.PersistentVolumeClaimList{}
		if err := framework.Admin().Client.List(ctx, pvcs, ctrlclient.InNamespace(targetNS)); err != nil {
			return nil, err
		}
		for _, p := range pvcs.Items {
			left = append(left, "PersistentVolumeClaim "+targetNS+"/"+p.Name)
		}
		return left, nil
	}
}

// deleteRequestAndAwaitGone deletes a request and waits (wait.Medium) until it is gone: its
// finalizer has run.
func deleteRequestAndAwaitGone(ctx context.Context, req *templatev1beta1.VirtualMachineTemplateRequest) {
	GinkgoHelper()
	Expect(framework.Admin().Client.Delete(ctx, req)).To(Succeed(), "deleting request %s/%s", req.Namespace, req.Name)
	Eventually(func(ctx context.Context) error {
		_, err := requestGetter(req.Namespace, req.Name)(ctx)
		return err
	}).WithContext(ctx).WithTimeout(wait.Medium).Should(WithTransform(apierrors.IsNotFound, BeTrue()),
		"request %s/%s to be gone (finalizer %s done)", req.Namespace, req.Name, templatev1beta1.FinalizerSnapshotCleanup)
}

// stopOnSnapshotKept wraps a getter of what a deleted request leaves behind (requestSnapshots,
// diskLeftovers) for a wait after deleteRequestAndAwaitGone. Upstream's finalizer deletes the
// request's VirtualMachineSnapshot before it lets the request go (handleDeletion calls
// deleteSnapshot, then removes the finalizer template.kubevirt.io/snapshot-cleanup:
// internal/controller/virtualmachinetemplaterequest_controller.go@v0.1.8 and @v0.2.2:201-219),
// and nothing else deletes that snapshot. Once the request is gone, a snapshot of it in
// snapshotNS without a deletionTimestamp stays for good: the wait stops at once (StopTrying),
// naming the snapshot and what was left.
func stopOnSnapshotKept(snapshotNS string, req *templatev1beta1.VirtualMachineTemplateRequest,
	get func(context.Context) ([]string, error)) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		left, err := get(ctx)
		if err != nil || len(left) == 0 {
			return left, err
		}
		list := &snapshotv1beta1.VirtualMachineSnapshotList{}
		if err := framework.Admin().Client.List(ctx, list, ctrlclient.InNamespace(snapshotNS),
			ctrlclient.MatchingLabels{templatev1beta1.LabelRequestUID: string(req.UID)}); err != nil {
			return left, err
		}
		for _, snap := range list.Items {
			if snap.DeletionTimestamp != nil {
				continue
			}
			// The precondition, checked again: the request (this UID) is gone.
			if cur, gerr := requestGetter(req.Namespace, req.Name)(ctx); gerr == nil && cur.UID == req.UID {
				return left, nil
			} else if gerr != nil && !apierrors.IsNotFound(gerr) {
				return left, gerr
			}
			state := fmt.Sprintf("not being deleted (no deletionTimestamp) although request %s/%s is gone, its finalizer %s done",
				req.Namespace, req.Name, templatev1beta1.FinalizerSnapshotCleanup)
			return left, StopTrying(wait.StopMessage(fmt.Sprintf("VirtualMachineSnapshot %s/%s", snapshotNS, snap.Name), state,
				fmt.Sprintf("what deleted request %s/%s left to be gone; left: %s", req.Namespace, req.Name, strings.Join(left, ", "))))
		}
		return left, nil
	}
}

// VMT-002: what a capture request leaves behind, and what it refuses to touch.
var _ = Describe("Capture request lifecycle", tiers.Scenario("VMT-002"), func() {
	It("fails for good when templateName names a template it did not create, and leaves that template untouched", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		createObject(ctx, withNamespace(fixtures.VM("source-vm"), ns))

		By("creating a template named taken by hand")
		createObject(ctx, withNamespace(fixtures.Template("taken", fixtures.WithVMName(fixtures.Ref("NAME")),
			fixtures.WithParameter("NAME", fixtures.Required()), fixtures.WithTemplateLabel("owner", "someone-else")), ns))
		before := awaitTemplateReady(ctx, ns, "taken")

		By("requesting a capture into the template name taken")
		req := createObject(ctx, fixtures.Request(ns, "source-vm", fixtures.WithRequestNamespace(ns), fixtures.WithTemplateName("taken")))
		failed := awaitRequestFailed(ctx, ns, req.Name, templatev1beta1.ReasonFailed)
		Expect(readyMessage(failed)).To(Equal(fmt.Sprintf("existing VirtualMachineTemplate %s/taken was not created by this request", ns)))
		Expect(failed.Status.TemplateRef).To(BeNil(), "status.templateRef of a request that made no template")

		By("checking the template is as it was, field by field")
		after, err := templateGetter(ns, "taken")(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(after.UID).To(Equal(before.UID))
		Expect(after.ResourceVersion).To(Equal(before.ResourceVersion), "nothing wrote the template")
		Expect(after.Labels).To(Equal(before.Labels))
		Expect(after.Labels).NotTo(HaveKey(templatev1beta1.LabelRequestUID))
		Expect(after.Annotations).To(Equal(before.Annotations))
		Expect(after.OwnerReferences).To(Equal(before.OwnerReferences))
		Expect(after.Spec).To(Equal(before.Spec))

		By("checking the request took no snapshot and cloned nothing")
		Expect(requestSnapshots(ns, req.UID)(ctx)).To(BeEmpty())
		Expect(requestDataVolumes(ctx, ns, req.UID)).To(BeEmpty())
	})

	It("names the template after the request without templateName; deleting the template collects the DataVolumes it cloned",
		tiers.Requires(tiers.RequiresSnapshotStorage), func(ctx SpecContext) {
			ns := namespace.New(ctx)
			createRunningSource(ctx, ns, "unnamed-source")

			By("requesting a template without templateName, as request self-named")
			req := createObject(ctx, fixtures.Request(ns, "unnamed-source", fixtures.WithRequestNamespace(ns), fixtures.WithRequestName("self-named")))
			done := awaitRequestDone(ctx, ns, req.Name)
			Expect(done.Status.TemplateRef.Name).To(Equal("self-named"))

			By("checking the template self-named and its content")
			tpl := awaitTemplateReady(ctx, ns, "self-named")
			Expect(tpl.Labels).To(HaveKeyWithValue(templatev1beta1.LabelRequestUID, string(req.UID)))
			Expect(tpl.Spec.Parameters).To(ContainElement(expectedCapturedName().Parameter))
			vm := decodeCapturedVM(tpl)
			Expect(vm.Name).To(Equal(fixtures.Ref("NAME")))
			Expect(vm.Spec.Template.Spec.Volumes).To(ConsistOf(
				HaveField("Name", "rootdisk"),
				SatisfyAll(HaveField("Name", "data"), HaveField("DataVolume.Name", "unnamed-source-data-"+fixtures.Ref("NAME"))),
			))
			dvs, err := requestDataVolumes(ctx, ns, req.UID)
			Expect(err).NotTo(HaveOccurred())
			Expect(dvs).To(HaveLen(1), "one DataVolume cloned, for the data disk")
			Expect(vm.Spec.DataVolumeTemplates).To(ConsistOf(SatisfyAll(
				HaveField("Name", "unnamed-source-data-"+fixtures.Ref("NAME")),
				HaveField("Spec.Source.PVC", Equal(&cdiv1beta1.DataVolumeSourcePVC{Namespace: ns, Name: dvs[0].Name})),
			)))

			By("checking the template controls the cloned DataVolume")
			owner := metav1.GetControllerOf(&dvs[0])
			Expect(owner).NotTo(BeNil(), "DataVolume %s has a controller", dvs[0].Name)
			Expect(*owner).To(SatisfyAll(
				HaveField("APIVersion", HavePrefix(templatev1beta1.GroupVersion.Group+"/")),
				HaveField("Kind", "VirtualMachineTemplate"), HaveField("Name", "self-named"), HaveField("UID", tpl.UID),
				HaveField("BlockOwnerDeletion", HaveValue(BeTrue()))))
			Expect(dvs[0].OwnerReferences).To(HaveLen(1), "the request no longer owns DataVolume %s", dvs[0].Name)

			By("deleting the template and waiting for its DataVolume and claim to be collected")
			claim := &corev1.PersistentVolumeClaim{}
			Expect(framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: dvs[0].Name}, claim)).To(Succeed(),
				"the claim of DataVolume %s", dvs[0].Name)
			Expect(metav1.IsControlledBy(claim, &dvs[0])).To(BeTrue(), "claim %s is controlled by its DataVolume", claim.Name)
			Expect(framework.Admin().Client.Delete(ctx, tpl)).To(Succeed())
			// The garbage collector deletes a dependent only through its owner references: a
			// DataVolume that is not being deleted and no longer names the template as owner is
			// left for good, and the wait stops at once.
			Eventually(func(ctx context.Context) ([]string, error) {
				var left []string
				dvs, err := requestDataVolumes(ctx, ns, req.UID)
				for _, dv := range dvs {
					left = append(left, "DataVolume "+dv.Name)
				}
				pvc := &corev1.PersistentVolumeClaim{}
				if perr := framework.Admin().Client.Get(ctx, ctrlclient.ObjectKeyFromObject(claim), pvc); perr == nil {
					left = append(left, "PersistentVolumeClaim "+pvc.Name)
				}
				for _, dv := range dvs {
					ownedByTemplate := slices.ContainsFunc(dv.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == tpl.UID })
					if dv.DeletionTimestamp == nil && !ownedByTemplate {
						return left, StopTrying(wait.StopMessage("DataVolume "+ns+"/"+dv.Name,
							fmt.Sprintf("not being deleted and not owned by deleted template %s/self-named (owners: %v), so the garbage collector will not delete it", ns, dv.OwnerReferences),
							"the DataVolumes of deleted template "+ns+"/self-named to be collected; left: "+strings.Join(left, ", ")))
					}
				}
				return left, err
			}).WithContext(ctx).WithTimeout(wait.Medium).Should(BeEmpty(), "the DataVolumes of deleted template %s/self-named to be collected", ns)
			Expect(requestGetter(ns, req.Name)(ctx)).To(HaveField("Name", req.Name), "the request stays")
		})

	It("removes the snapshot of a failed request when the request is deleted", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		req := createObject(ctx, fixtures.Request(ns, "no-such-vm", fixtures.WithRequestNamespace(ns)))
		awaitRequestFailed(ctx, ns, req.Name, templatev1beta1.ReasonFailed)
		Expect(requestSnapshots(ns, req.UID)(ctx)).To(HaveLen(1), "the failed request's VirtualMachineSnapshot stays until the request goes")

		By("deleting the failed request")
		deleteRequestAndAwaitGone(ctx, req)
		Eventually(stopOnSnapshotKept(ns, req, requestSnapshots(ns, req.UID))).WithContext(ctx).WithTimeout(wait.Medium).Should(BeEmpty(),
			"the VirtualMachineSnapshot of deleted request %s/%s to be gone", ns, req.Name)
	})

	It("leaves nothing of the source's disks when a capture still in progress is deleted", tiers.Requires(tiers.RequiresSnapshotStorage), func(ctx SpecContext) {
		source := namespace.New(ctx, "source")
		target := namespace.New(ctx, "target")
		createRunningSource(ctx, source, "busy-source")

		By("forbidding claims in the target namespace, so the cloned DataVolumes never fill")
		createObject(ctx, &corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Name: "no-claims", Namespace: target},
			Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePersistentVolumeClaims: resource.MustParse("0")}},
		})
		// kube-apiserver enforces a quota only once the quota controller has computed its status.
		Eventually(func(ctx context.Context) (corev1.ResourceList, error) {
			q := &corev1.ResourceQuota{}
			err := framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: target, Name: "no-claims"}, q)
			return q.Status.Hard, err
		}).WithContext(ctx).WithTimeout(wait.Medium).Should(HaveKey(corev1.ResourcePersistentVolumeClaims),
			"ResourceQuota %s/no-claims to be in force (status.hard computed by the quota controller)", target)
		req := createObject(ctx, fixtures.Request(source, "busy-source", fixtures.WithRequestNamespace(target)))

		By("waiting for the capture to wait for its DataVolume")
		Eventually(requestGetter(target, req.Name)).WithContext(ctx).WithTimeout(wait.Long).Should(wait.Reach(SatisfyAll(
			wait.HaveCondition(templatev1beta1.ConditionReady, "False", templatev1beta1.ReasonWaiting),
			WithTransform(readyMessage, HavePrefix("Waiting for DataVolume "+target+"/"))),
			requestSucceeded, requestFailedForGood), "request %s/%s to wait for its DataVolume", target, req.Name)
		Expect(diskLeftovers(source, target, req.UID)(ctx)).To(SatisfyAll(
			ContainElement(HavePrefix("VirtualMachineSnapshot ")), ContainElement(HavePrefix("VolumeSnapshot ")),
			ContainElement(HavePrefix("DataVolume "))), "what the capture has made so far")

		By("deleting the request mid-capture")
		deleteRequestAndAwaitGone(ctx, req)
		Eventually(stopOnSnapshotKept(source, req, diskLeftovers(source, target, req.UID))).WithContext(ctx).WithTimeout(wait.Medium).Should(BeEmpty(),
			"the snapshot, its content and VolumeSnapshots in %s and the DataVolumes in %s of deleted request %s to be gone", source, target, req.Name)
		templates := &templatev1beta1.VirtualMachineTemplateList{}
		Expect(framework.Admin().Client.List(ctx, templates, ctrlclient.InNamespace(target))).To(Succeed())
		Expect(templates.Items).To(BeEmpty(), "no template from a deleted capture")
	})

	It("captures a VM with persistent EFI without its backend storage volume", tiers.Requires(tiers.RequiresSnapshotStorage), func(ctx SpecContext) {
		ns := namespace.New(ctx)

		By("creating a running VM with persistent EFI and a data disk")
		createObject(ctx, withNamespace(fixtures.VM("efi-source",
			fixtures.WithRunStrategy(kubevirtv1.RunStrategyAlways),
			fixtures.WithBlankDataVolumeDisk("data", "efi-source-data", "1Gi"),
			fixtures.WithPersistentEFI(),
		), ns))
		awaitVMReady(ctx, ns, "efi-source")
		// KubeVirt keeps the EFI variables in a PVC labelled persistent-state-for=<vm>
		// (pkg/storage/backend-storage/backend-storage.go@v1.8.0, @v1.9.0).
		backend := &corev1.PersistentVolumeClaimList{}
		Expect(framework.Admin().Client.List(ctx, backend, ctrlclient.InNamespace(ns), ctrlclient.MatchingLabels{"persistent-state-for": "efi-source"})).To(Succeed())
		Expect(backend.Items).To(HaveLen(1), "the backend storage PVC of efi-source")

		By("capturing it")
		req := createObject(ctx, fixtures.Request(ns, "efi-source", fixtures.WithRequestNamespace(ns), fixtures.WithTemplateName("efi-captured")))
		awaitRequestDone(ctx, ns, req.Name)
		tpl := awaitTemplateReady(ctx, ns, "efi-captured")
		vm := decodeCapturedVM(tpl)

		By("checking the template clones the data disk and not the backend storage")
		type persistentState struct{ DataVolumeTemplates, DataVolumes OmegaMatcher }
		want := byRelease(release.SkipsPersistentState,
			persistentState{
				DataVolumeTemplates: ConsistOf(HaveField("Name", "efi-source-data-"+fixtures.Ref("NAME"))),
				DataVolumes:         HaveLen(1),
			},
			persistentState{
				DataVolumeTemplates: ConsistOf(HaveField("Name", "efi-source-data-"+fixtures.Ref("NAME")),
					HaveField("Name", "persistent-state-for-efi-source-"+fixtures.Ref("NAME"))),
				DataVolumes: HaveLen(2),
			})
		Expect(vm.Spec.DataVolumeTemplates).To(want.DataVolumeTemplates)
		Expect(requestDataVolumes(ctx, ns, req.UID)).To(want.DataVolumes)
		Expect(vm.Spec.Template.Spec.Domain.Firmware).To(HaveField("Bootloader.EFI.Persistent", HaveValue(BeTrue())), "the template keeps persistent EFI")

		By("creating a VM from the template: it gets backend storage of its own")
		call := callSubresource(ctx, framework.Admin(), ns, "efi-captured", core.CreateSubresource, params{"NAME": "efi-from-template"})
		Expect(call.Err).NotTo(HaveOccurred(), "%s", call)
		awaitVMReady(ctx, ns, "efi-from-template")
		own := &corev1.PersistentVolumeClaimList{}
		Expect(framework.Admin().Client.List(ctx, own, ctrlclient.InNamespace(ns), ctrlclient.MatchingLabels{"persistent-state-for": "efi-from-template"})).To(Succeed())
		Expect(own.Items).To(ConsistOf(HaveField("Name", Not(Equal(backend.Items[0].Name)))), "a fresh backend storage PVC for the new VM")
	})
})

// VMT-028: a finished request is kept for its TTL and deleted after it.
var _ = Describe("Capture request TTL honoured", tiers.Scenario("VMT-028"), func() {
	It("keeps a finished request until ttlSecondsAfterFinished has passed, then deletes it", tiers.Requires(tiers.RequiresSnapshotStorage), func(ctx SpecContext) {
		const ttlSeconds = 3
		ns := namespace.New(ctx)
		createRunningSource(ctx, ns, "ttl3-source")
		req := createObject(ctx, fixtures.Request(ns, "ttl3-source", fixtures.WithRequestNamespace(ns),
			fixtures.WithTemplateName("ttl3-captured"), fixtures.WithTTLSecondsAfterFinished(ttlSeconds)))
		done := awaitRequestDone(ctx, ns, req.Name)
		ready := meta.FindStatusCondition(done.Status.Conditions, templatev1beta1.ConditionReady)
		Expect(ready).NotTo(BeNil())
		// handleTTL: expiry is the Ready condition's lastTransitionTime plus the TTL
		// (virtualmachinetemplaterequest_controller.go@v0.2.2:221-244). A second of slack
		// for clocks that are not the controller's.
		expiry := ready.LastTransitionTime.Add(ttlSeconds * time.Second)
		keptUntil := expiry.Add(-time.Second)

		By("checking the request stays until its TTL is nearly over")
		Consistently(func(ctx context.Context) (string, error) {
			_, err := requestGetter(ns, req.Name)(ctx)
			switch {
			case apierrors.IsNotFound(err):
				return fmt.Sprintf("deleted %v before its TTL expired (Ready since %s, TTL %ds)",
					time.Until(expiry).Round(time.Millisecond), ready.LastTransitionTime.UTC().Format(time.RFC3339), ttlSeconds), nil
			case err != nil:
				return "", err
			case !time.Now().Before(keptUntil):
				return "present", StopTrying("the TTL is nearly over").Successfully()
			}
			return "present", nil
		}).WithContext(ctx).WithTimeout(wait.Short).Should(Equal("present"), "request %s/%s to stay for its TTL", ns, req.Name)

		By("checking the request is deleted after its TTL and the template stays")
		Eventually(func(ctx context.Context) error {
			_, err := requestGetter(ns, req.Name)(ctx)
			return err
		}).WithContext(ctx).WithTimeout(wait.Medium).Should(WithTransform(apierrors.IsNotFound, BeTrue()), "request %s/%s to be deleted after its TTL", ns, req.Name)
		awaitTemplateReady(ctx, ns, "ttl3-captured")
	})
})

// secretLeftovers names the Secrets and ConfigMaps of ns whose data holds one of values.
func secretLeftovers(ctx context.Context, ns string, values []string) []string {
	GinkgoHelper()
	var found []string
	secrets := &corev1.SecretList{}
	Expect(framework.Admin().Client.List(ctx, secrets, ctrlclient.InNamespace(ns))).To(Succeed())
	for _, s := range secrets.Items {
		for k, v := range s.Data {
			if containsAny(string(v), values) {
				found = append(found, fmt.Sprintf("Secret %s/%s key %s", ns, s.Name, k))
			}
		}
	}
	cms := &corev1.ConfigMapList{}
	Expect(framework.Admin().Client.List(ctx, cms, ctrlclient.InNamespace(ns))).To(Succeed())
	for _, c := range cms.Items {
		for k, v := range c.Data {
			if containsAny(v, values) {
				found = append(found, fmt.Sprintf("ConfigMap %s/%s key %s", ns, c.Name, k))
			}
		}
	}
	return found
}

func containsAny(s string, values []string) bool {
	for _, v := range values {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}

// VMT-029: no Secret or ConfigMap content travels through a capture or a VM made from its
// template; references stay references.
var _ = Describe("Secrets and ConfigMaps through capture and VM creation", tiers.Scenario("VMT-029"), func() {
	It("keeps Secret, ConfigMap and cloud-init secret references as references and copies no data",
		tiers.Requires(tiers.RequiresSnapshotStorage), func(ctx SpecContext) {
			source := namespace.New(ctx, "source")
			target := namespace.New(ctx, "target")
			suffix := utilrand.String(8)
			userData := "#cloud-config\npassword: vmt-userdata-" + suffix
			networkData := "version: 2 # vmt-networkdata-" + suffix
			token := "vmt-token-" + suffix
			setting := "vmt-setting-" + suffix
			values := []string{userData, networkData, token, setting}

			By("creating Secrets and a ConfigMap in the source namespace")
			for name, data := range map[string]map[string][]byte{
				"vm-userdata":    {"userdata": []byte(userData)},
				"vm-networkdata": {"networkdata": []byte(networkData)},
				"app-secret":     {"token": []byte(token)},
			} {
				createObject(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: source}, Data: data})
			}
			createObject(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app-config", Namespace: source}, Data: map[string]string{"setting": setting}})

			By("creating a running VM that mounts them and takes cloud-init data from Secrets")
			createObject(ctx, withNamespace(fixtures.VM("secret-source",
				fixtures.WithRunStrategy(kubevirtv1.RunStrategyAlways),
				fixtures.WithBlankDataVolumeDisk("data", "secret-source-data", "1Gi"),
				fixtures.WithSecretDisk("app-secret-disk", "app-secret"),
				fixtures.WithConfigMapDisk("app-config-disk", "app-config"),
				fixtures.WithCloudInitSecretRefs("vm-userdata", "vm-networkdata"),
			), source))
			awaitVMReady(ctx, source, "secret-source")

			By("capturing it into another namespace")
			req := createObject(ctx, fixtures.Request(source, "secret-source", fixtures.WithRequestNamespace(target), fixtures.WithTemplateName("secret-captured")))
			awaitRequestDone(ctx, target, req.Name)
			tpl := awaitTemplateReady(ctx, target, "secret-captured")

			By("checking the template references the Secrets and ConfigMap by name only")
			// createTemplate rewrites only volume backups (PVC and DataVolume volumes) and
			// keeps every other volume as the source has it
			// (virtualmachinetemplaterequest_controller.go@v0.1.8, @v0.2.2 transformVolume).
			wantReferences := ContainElements(
				Equal(kubevirtv1.Volume{Name: "app-secret-disk", VolumeSource: kubevirtv1.VolumeSource{Secret: &kubevirtv1.SecretVolumeSource{SecretName: "app-secret"}}}),
				Equal(kubevirtv1.Volume{Name: "app-config-disk", VolumeSource: kubevirtv1.VolumeSource{ConfigMap: &kubevirtv1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"}}}}),
				Equal(kubevirtv1.Volume{Name: "cloudinitdisk", VolumeSource: kubevirtv1.VolumeSource{CloudInitNoCloud: &kubevirtv1.CloudInitNoCloudSource{
					UserDataSecretRef: &corev1.LocalObjectReference{Name: "vm-userdata"}, NetworkDataSecretRef: &corev1.LocalObjectReference{Name: "vm-networkdata"}}}}),
			)
			vm := decodeCapturedVM(tpl)
			Expect(vm.Spec.Template.Spec.Volumes).To(HaveLen(5))
			Expect(vm.Spec.Template.Spec.Volumes).To(wantReferences)
			Expect(vm.Spec.DataVolumeTemplates).To(ConsistOf(HaveField("Name", "secret-source-data-"+fixtures.Ref("NAME"))),
				"only the data disk is cloned")
			raw, err := json.Marshal(tpl)
			Expect(err).NotTo(HaveOccurred())
			Expect(containsAny(string(raw), values)).To(BeFalse(), "template %s/%s holds Secret or ConfigMap data:\n%s", target, tpl.Name, raw)
			Expect(secretLeftovers(ctx, target, values)).To(BeEmpty(), "Secret or ConfigMap data copied into %s by the capture", target)

			By("processing the template and creating a VM from it in the target namespace")
			processed := callSubresource(ctx, framework.Admin(), target, "secret-captured", core.ProcessSubresource, params{"NAME": "secret-vm"})
			Expect(processed.Err).NotTo(HaveOccurred(), "%s", processed)
			answer, err := json.Marshal(processed.Processed)
			Expect(err).NotTo(HaveOccurred())
			Expect(containsAny(string(answer), values)).To(BeFalse(), "/process answer holds Secret or ConfigMap data:\n%s", answer)
			created := callSubresource(ctx, framework.Admin(), target, "secret-captured", core.CreateSubresource, params{"NAME": "secret-vm"})
			Expect(created.Err).NotTo(HaveOccurred(), "%s", created)
			got, err := getVM(ctx, target, "secret-vm")
			Expect(err).NotTo(HaveOccurred())
			Expect(got.Spec.Template.Spec.Volumes).To(wantReferences, "the created VM references the Secrets and ConfigMap by name")
			vmJSON, err := json.Marshal(got)
			Expect(err).NotTo(HaveOccurred())
			Expect(containsAny(string(vmJSON), values)).To(BeFalse(), "VM %s/secret-vm holds Secret or ConfigMap data:\n%s", target, vmJSON)
			Expect(secretLeftovers(ctx, target, values)).To(BeEmpty(), "Secret or ConfigMap data copied into %s by VM creation", target)
		})
})
