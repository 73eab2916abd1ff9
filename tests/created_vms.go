package tests

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/goldenimage"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/framework/sut"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// everyFieldTemplate boots from the DataSource dsNamespace/dsName and renders parameters
// into every part of the VM a caller sees: name, labels (VM and VM template), annotations,
// typed CPU cores, memory, the DataVolumeTemplate's sourceRef, volumes, cloud-init, network
// and the message. Every parameter has a value, so /process and /create of the same
// parameters render the same VM.
func everyFieldTemplate(dsNamespace, dsName string) *templatev1beta1.VirtualMachineTemplate {
	return fixtures.Template("every-field",
		fixtures.WithParameter("NAME", fixtures.Required()),
		fixtures.WithParameter("TIER", fixtures.Value("gold")),
		fixtures.WithParameter("OWNER", fixtures.Value("nobody")),
		fixtures.WithParameter("CORES", fixtures.Value("3")),
		fixtures.WithParameter("MEMORY", fixtures.Value("1536Mi")),
		fixtures.WithParameter("DATA_SOURCE_NAME", fixtures.Value(dsName)),
		fixtures.WithParameter("DATA_SOURCE_NAMESPACE", fixtures.Value(dsNamespace)),
		fixtures.WithVMName(fixtures.Ref("NAME")),
		fixtures.WithVMOptions(
			fixtures.WithVMLabel("app", "fedora"),
			fixtures.WithRootDiskFromDataSource(fixtures.Ref("NAME")+"-root", fixtures.Ref("DATA_SOURCE_NAMESPACE"), fixtures.Ref("DATA_SOURCE_NAME"), goldenimage.Size),
			fixtures.WithCloudInitNoCloud("#cloud-config\nhostname: ${NAME}\n"),
			fixtures.WithPodNetwork(""),
		),
		fixtures.WithField("metadata.labels.tier", fixtures.Ref("TIER")),
		fixtures.WithField("metadata.annotations.owner", fixtures.Ref("OWNER")),
		fixtures.WithField("spec.template.metadata.labels.tier", fixtures.Ref("TIER")),
		fixtures.WithTypedField("spec.template.spec.domain.cpu.cores", "CORES"),
		fixtures.WithField("spec.template.spec.domain.memory.guest", fixtures.Ref("MEMORY")),
		fixtures.WithMessage("VM ${NAME} (${TIER}, owner ${OWNER}) has ${CORES} cores and ${MEMORY}"),
	)
}

// servedSubresourceVersions are the subresources.template.kubevirt.io versions the release
// under test serves (release.ServesV1beta1: v1beta1 and v1alpha1 from v0.2.0, v1alpha1
// before), checked against discovery: a version the release serves and the cluster does not
// fails the spec.
func servedSubresourceVersions() []string {
	GinkgoHelper()
	want := byRelease(release.ServesV1beta1, []string{sut.V1beta1, sut.V1alpha1}, []string{sut.V1alpha1})
	Expect(framework.SUT().APIs.Subresources.Served).To(ContainElements(want),
		"%s versions in discovery; the release serves %v", core.SubresourceGroupName, want)
	return want
}

// VMT-001 (with VMT-017's parameter substitution, folded in): the VM /create makes is the
// VM /process renders, in every served version of the subresource API.
var _ = Describe("Created VMs and processed output", tiers.Scenario("VMT-001"), func() {
	var ns, dsNamespace, dsName string

	BeforeEach(func(ctx SpecContext) {
		ns = namespace.New(ctx)
		dsNamespace, dsName = goldenimage.DataSource(ctx)
	})

	It("creates exactly the VM /process renders, and answers the same in every served version", func(ctx SpecContext) {
		versions := servedSubresourceVersions()
		tpl := createTemplate(ctx, ns, everyFieldTemplate(dsNamespace, dsName))
		ref := &corev1.ObjectReference{Namespace: ns, Name: tpl.Name}

		var first *subresourcesv1beta1.ProcessedVirtualMachineTemplate
		for _, version := range versions {
			By("processing through " + version + " with the same parameters as the other versions")
			same := callSubresourceVersion(ctx, framework.Admin(), version, ns, tpl.Name, core.ProcessSubresource, params{"NAME": "vm-same", "OWNER": "alice"})
			Expect(same).To(haveStatus(http.StatusOK), "%s /process: %s", version, same)
			Expect(same.Processed.APIVersion).To(Equal(core.SubresourceGroupName+"/"+version), "the answer's version")
			Expect(same.Processed.Kind).To(Equal("ProcessedVirtualMachineTemplate"))
			Expect(same.Processed.Message).To(Equal("VM vm-same (gold, owner alice) has 3 cores and 1536Mi"), "%s message", version)
			Expect(same.Processed.TemplateRef).To(Equal(ref), "%s templateRef", version)
			if first == nil {
				first = same.Processed
			} else {
				Expect(same.Processed.Message).To(Equal(first.Message), "%s message, as %s answers", version, versions[0])
				Expect(vmFieldDiff(first.VirtualMachine, same.Processed.VirtualMachine, nil, nil)).To(BeEmpty(),
					"fields of the VM %s /process renders that differ from %s's", version, versions[0])
			}

			name := "vm-" + version
			By("processing through " + version + " with NAME=" + name)
			processed := callSubresourceVersion(ctx, framework.Admin(), version, ns, tpl.Name, core.ProcessSubresource, params{"NAME": name, "OWNER": "bob"})
			Expect(processed).To(haveStatus(http.StatusOK), "%s /process: %s", version, processed)
			rendered := processed.Processed.VirtualMachine
			expectEveryFieldRendered(rendered, name, dsNamespace, dsName)
			Expect(rendered.Namespace).To(BeEmpty(), "/process leaves the namespace to the caller")

			By("creating through " + version + " with the same parameters")
			created := callSubresourceVersion(ctx, framework.Admin(), version, ns, tpl.Name, core.CreateSubresource, params{"NAME": name, "OWNER": "bob"})
			Expect(created).To(haveStatus(http.StatusOK), "%s /create: %s", version, created)
			Expect(created.Processed.APIVersion).To(Equal(core.SubresourceGroupName+"/"+version), "the answer's version")
			Expect(created.Processed.Message).To(Equal(processed.Processed.Message), "%s /create message, as /process answers", version)
			Expect(created.Processed.TemplateRef).To(Equal(ref), "%s /create templateRef", version)

			// /create places the VM in the template's namespace (the URL's); the rest is what
			// /process rendered.
			want := rendered.DeepCopy()
			want.Namespace = ns
			answer := created.Processed.VirtualMachine
			Expect(answer.UID).NotTo(BeEmpty(), "the /create answer is the created VM")
			Expect(vmFieldDiff(want, answer, serverSetVMFields, clusterAddedVMFields)).To(BeEmpty(),
				"fields of the VM %s /create answers that differ from what /process rendered", version)

			By("reading " + name + " back and comparing it with the rendered VM field by field")
			got, err := getVM(ctx, ns, name)
			Expect(err).NotTo(HaveOccurred())
			Expect(got.UID).To(Equal(answer.UID), "the VM read back is the one /create answered")
			// The typed client drops apiVersion and kind; kube-apiserver stored them.
			got.SetGroupVersionKind(kubevirtv1.VirtualMachineGroupVersionKind)
			Expect(vmFieldDiff(want, got, serverSetVMFields, clusterAddedVMFields)).To(BeEmpty(),
				"fields of the VM read back after %s /create that differ from what /process rendered", version)
		}
		Expect(vmsIn(ns)(ctx)).To(ConsistOf(prefixed("vm-", versions)), "one VM per /create, none from /process")
	})

	It("refuses /create of a name that is taken with 500 and leaves the VM as it was", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, everyFieldTemplate(dsNamespace, dsName))

		By("creating vm-taken with OWNER=alice")
		call := callSubresource(ctx, framework.Admin(), ns, tpl.Name, core.CreateSubresource, params{"NAME": "vm-taken", "OWNER": "alice"})
		Expect(call).To(haveStatus(http.StatusOK), "%s", call)
		before, err := getVM(ctx, ns, "vm-taken")
		Expect(err).NotTo(HaveOccurred())

		for _, version := range servedSubresourceVersions() {
			By("creating vm-taken again through " + version + " with OWNER=mallory")
			again := callSubresourceVersion(ctx, framework.Admin(), version, ns, tpl.Name, core.CreateSubresource, params{"NAME": "vm-taken", "OWNER": "mallory"})
			// Upstream wraps every failed create into 500 InternalError "error creating
			// VirtualMachine: <cause>" (create.go@v0.1.8:88-91; v1beta1/create.go@v0.2.2:86-89,
			// v1alpha1/create.go@v0.2.2:86-89).
			Expect(again).To(haveStatus(http.StatusInternalServerError), "%s", again)
			Expect(apierrors.IsInternalError(again.Err)).To(BeTrue(), "reason InternalError: %s", again)
			Expect(again.Err).To(MatchError(ContainSubstring(`error creating VirtualMachine: virtualmachines.kubevirt.io "vm-taken" already exists`)))
		}

		By("checking the VM is the first one, unchanged, and alone")
		after, err := getVM(ctx, ns, "vm-taken")
		Expect(err).NotTo(HaveOccurred())
		Expect(after.UID).To(Equal(before.UID))
		Expect(after.Labels).To(Equal(before.Labels), "labels after the refused /create")
		Expect(after.Annotations).To(Equal(before.Annotations), "annotations after the refused /create (owner stays alice)")
		Expect(after.Spec).To(Equal(before.Spec), "spec after the refused /create")
		Expect(vmsIn(ns)(ctx)).To(ConsistOf("vm-taken"))
	})

	It("refuses an empty or malformed ProcessOptions body with 400 and creates nothing", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, everyFieldTemplate(dsNamespace, dsName))
		before, err := vmsIn(ns)(ctx)
		Expect(err).NotTo(HaveOccurred())

		// Upstream decodes the body before anything else and answers a body that does not
		// decode with 400 BadRequest "error parsing ProcessOptions: <decoder error>"
		// (process.go@v0.1.8:119-122, process.go@v0.2.2:69-72; YAML or JSON, so an empty body
		// is the decoder's EOF).
		bodies := []struct{ what, body, cause string }{
			{"an empty body", "", "EOF"},
			{"JSON cut short", `{"parameters": {"NAME": `, "unexpected EOF"},
			{"parameters as a list", `{"parameters": ["NAME=vm-x"]}`, "cannot unmarshal array"},
		}
		for _, version := range servedSubresourceVersions() {
			for _, sub := range []string{core.ProcessSubresource, core.CreateSubresource} {
				for _, b := range bodies {
					By("posting " + b.what + " to " + version + " /" + sub)
					call := postSubresource(ctx, framework.Admin(), version, ns, tpl.Name, sub, []byte(b.body))
					Expect(call).To(haveStatus(http.StatusBadRequest), "%s %s /%s: %s", b.what, version, sub, call)
					Expect(apierrors.IsBadRequest(call.Err)).To(BeTrue(), "reason BadRequest: %s", call)
					Expect(call.Err).To(MatchError(HavePrefix("error parsing ProcessOptions: ")))
					Expect(call.Err).To(MatchError(ContainSubstring(b.cause)))
				}
			}
		}
		Expect(vmsIn(ns)(ctx)).To(Equal(before), "VMs after the refused calls")
	})
})

// expectEveryFieldRendered checks the VM everyFieldTemplate renders for NAME=name, OWNER=bob
// and the defaults, before any comparison relies on it.
func expectEveryFieldRendered(vm *kubevirtv1.VirtualMachine, name, dsNamespace, dsName string) {
	GinkgoHelper()
	Expect(vm).NotTo(BeNil())
	Expect(vm.Name).To(Equal(name))
	Expect(vm.Labels).To(Equal(map[string]string{"app": "fedora", "tier": "gold"}), "VM labels")
	Expect(vm.Annotations).To(Equal(map[string]string{"owner": "bob"}), "VM annotations")
	spec := vm.Spec.Template.Spec
	Expect(vm.Spec.Template.ObjectMeta.Labels).To(HaveKeyWithValue("tier", "gold"), "VM template labels")
	Expect(spec.Domain.CPU).To(HaveField("Cores", BeEquivalentTo(3)), "typed ${{CORES}}")
	Expect(spec.Domain.Memory).NotTo(BeNil())
	Expect(spec.Domain.Memory.Guest.String()).To(Equal("1536Mi"))
	Expect(vm.Spec.DataVolumeTemplates).To(HaveLen(1))
	dvt := vm.Spec.DataVolumeTemplates[0]
	Expect(dvt.Name).To(Equal(name + "-root"))
	Expect(dvt.Spec.SourceRef).NotTo(BeNil())
	Expect(*dvt.Spec.SourceRef).To(And(HaveField("Kind", "DataSource"), HaveField("Name", dsName), HaveField("Namespace", HaveValue(Equal(dsNamespace)))))
	Expect(spec.Volumes).To(ContainElement(HaveField("VolumeSource.DataVolume.Name", name+"-root")))
	Expect(spec.Volumes).To(ContainElement(HaveField("VolumeSource.CloudInitNoCloud.UserData", "#cloud-config\nhostname: "+name+"\n")))
}

func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}
