package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/vmt-conformance/vmt-conformance/fixtures"
	"github.com/vmt-conformance/vmt-conformance/framework"
	"github.com/vmt-conformance/vmt-conformance/framework/namespace"
	"github.com/vmt-conformance/vmt-conformance/framework/virtctl"
	"github.com/vmt-conformance/vmt-conformance/framework/wait"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/tiers"
)

// cliTemplate has a required NAME, a typed CPU with a default, a generated SUFFIX and a
// message, so every output of `virtctl template process` has something to check.
func cliTemplate() *templatev1beta1.VirtualMachineTemplate {
	return fixtures.Template("cli",
		fixtures.WithParameter("NAME", fixtures.Required()),
		fixtures.WithParameter("CPU", fixtures.Value("1")),
		fixtures.WithParameter("SUFFIX", fixtures.Generated("s-[a-z0-9]{6}")),
		fixtures.WithVMName(fixtures.Ref("NAME")),
		fixtures.WithTypedField("spec.template.spec.domain.cpu.cores", "CPU"),
		fixtures.WithField("metadata.labels.suffix", fixtures.Ref("SUFFIX")),
		fixtures.WithMessage("Start ${NAME} with virtctl start ${NAME}"),
	)
}

// decodeVM parses virtctl's YAML or JSON output as a VirtualMachine.
func decodeVM(out string) *kubevirtv1.VirtualMachine {
	GinkgoHelper()
	vm := &kubevirtv1.VirtualMachine{}
	Expect(yaml.UnmarshalStrict([]byte(out), vm)).To(Succeed(), "virtctl output is a VirtualMachine:\n%s", out)
	Expect(vm.APIVersion).To(Equal(kubevirtv1.GroupVersion.String()))
	Expect(vm.Kind).To(Equal("VirtualMachine"))
	return vm
}

// writeFile writes content (an object is written as YAML) to a file in the spec's temp dir.
func writeFile(name string, content any) string {
	GinkgoHelper()
	data, ok := content.([]byte)
	if !ok {
		var err error
		data, err = yaml.Marshal(content)
		Expect(err).NotTo(HaveOccurred())
	}
	path := filepath.Join(GinkgoT().TempDir(), name)
	Expect(os.WriteFile(path, data, 0o600)).To(Succeed())
	return path
}

// succeed checks a virtctl run finished with exit code 0.
func succeed(res *virtctl.Result) {
	GinkgoHelper()
	Expect(res.Err).NotTo(HaveOccurred(), "%s", res)
}

// exclusiveFlags is cobra's refusal of two flags of one mutually exclusive group, as
// virtctl prints it (flag names in the order the group was declared).
func exclusiveFlags(a, b string) string {
	return "if any flags in the group [" + a + " " + b + "] are set none of the others can be; [" + a + " " + b + "] were all set"
}

// withoutSuffix drops the generated label so server and local results compare.
func withoutSuffix(vm *kubevirtv1.VirtualMachine) *kubevirtv1.VirtualMachine {
	vm = vm.DeepCopy()
	delete(vm.Labels, "suffix")
	return vm
}

// VMT-006: render a template with the CLI and create the VM with standard tooling
// (virt-template.md §8).
var _ = Describe("virtctl template process", tiers.Scenario("VMT-006"), func() {
	var ns string

	BeforeEach(func(ctx SpecContext) {
		ns = namespace.New(ctx)
	})

	It("processes a cluster template on the server with -p values", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, cliTemplate())

		By("running virtctl template process NAME -p NAME=vm-a -p CPU=3")
		res := virtctl.Template(ctx, []string{"process", tpl.Name, "-n", ns, "-p", "NAME=vm-a", "-p", "CPU=3"})
		succeed(res)

		By("parsing stdout as a VirtualMachine with the values applied")
		vm := decodeVM(res.Stdout)
		Expect(vm.Name).To(Equal("vm-a"))
		Expect(vm.Spec.Template.Spec.Domain.CPU.Cores).To(BeEquivalentTo(3))
		Expect(vm.Labels).To(HaveKeyWithValue("suffix", MatchRegexp(`^s-[a-z0-9]{6}$`)))
		Expect(res.Stderr).To(ContainSubstring("Start vm-a with virtctl start vm-a"), "the message goes to stderr")
		Consistently(vmsIn(ns)).WithContext(ctx).WithTimeout(wait.Settle).Should(BeEmpty(), "process creates nothing")
	})

	It("gives the same VM with --local as on the server, except generated values", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, cliTemplate())

		By("processing on the server and with --local")
		server := virtctl.Template(ctx, []string{"process", tpl.Name, "-n", ns, "-p", "NAME=vm-a"})
		succeed(server)
		local := virtctl.Template(ctx, []string{"process", "--name", tpl.Name, "--local", "-n", ns, "-p", "NAME=vm-a"})
		succeed(local)

		serverVM, localVM := decodeVM(server.Stdout), decodeVM(local.Stdout)
		Expect(withoutSuffix(localVM)).To(Equal(withoutSuffix(serverVM)))
		Expect(localVM.Labels["suffix"]).To(MatchRegexp(`^s-[a-z0-9]{6}$`))
	})

	It("processes a template file and a template on stdin without the cluster", func(ctx SpecContext) {
		path := writeFile("template.yaml", cliTemplate())

		By("running virtctl template process -f FILE")
		fromFile := virtctl.Template(ctx, []string{"process", "-f", path, "-p", "NAME=vm-file"})
		succeed(fromFile)
		Expect(decodeVM(fromFile.Stdout).Name).To(Equal("vm-file"))

		By("running virtctl template process -f - with the template on stdin")
		data, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		fromStdin := virtctl.Template(ctx, []string{"process", "-f", "-", "-p", "NAME=vm-stdin"}, virtctl.WithStdin(string(data)))
		succeed(fromStdin)
		Expect(decodeVM(fromStdin.Stdout).Name).To(Equal("vm-stdin"))

		By("processing a v1alpha1 template file")
		alpha := writeFile("template-v1alpha1.yaml", fixtures.TemplateV1alpha1(cliTemplate()))
		fromAlpha := virtctl.Template(ctx, []string{"process", "-f", alpha, "-p", "NAME=vm-alpha"})
		succeed(fromAlpha)
		Expect(decodeVM(fromAlpha.Stdout).Name).To(Equal("vm-alpha"))
	})

	It("reads values from --params-file and prints JSON with -o json", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, cliTemplate())
		paramsFile := writeFile("params.yaml", map[string]string{"NAME": "vm-params", "CPU": "2"})

		res := virtctl.Template(ctx, []string{"process", tpl.Name, "-n", ns, "--params-file", paramsFile, "-o", "json"})
		succeed(res)
		Expect(json.Valid([]byte(res.Stdout))).To(BeTrue(), "-o json prints JSON:\n%s", res.Stdout)
		vm := decodeVM(res.Stdout)
		Expect(vm.Name).To(Equal("vm-params"))
		Expect(vm.Spec.Template.Spec.Domain.CPU.Cores).To(BeEquivalentTo(2))
	})

	It("prints the parameter set with --print-params", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, cliTemplate())

		res := virtctl.Template(ctx, []string{"process", tpl.Name, "-n", ns, "--print-params"})
		succeed(res)
		var printed []templatev1beta1.Parameter
		Expect(yaml.UnmarshalStrict([]byte(res.Stdout), &printed)).To(Succeed(), "--print-params output:\n%s", res.Stdout)
		Expect(printed).To(Equal(tpl.Spec.Parameters))
	})

	// The exclusions are cobra flag groups (MarkFlagsMutuallyExclusive in NewCommand) and the
	// positional-name checks of validateArgs, both in kubevirt/kubevirt
	// pkg/virtctl/template/process/process.go@v1.8.4:114-119,235-255 and @v1.9.0 (same
	// lines); cobra v1.9.1 words a group as "if any flags in the group [a b] are set none of
	// the others can be; [a b] were all set" (flag_groups.go:204; the set sorted by name).
	// The template "cli" exists, so a "not found" can never pass for a refusal.
	DescribeTable("refuses flag combinations that cannot work together, naming them",
		func(ctx SpecContext, args []string, message string) {
			createTemplate(ctx, ns, cliTemplate())
			path := writeFile("template.yaml", cliTemplate())
			paramsFile := writeFile("params.yaml", map[string]string{"NAME": "x"})
			for i, a := range args {
				switch a {
				case "FILE":
					args[i] = path
				case "PARAMS":
					args[i] = paramsFile
				}
			}
			res := virtctl.Template(ctx, append([]string{"process", "-n", ns}, args...))
			Expect(res.Err).To(HaveOccurred(), "%s", res)
			Expect(res.ExitCode).To(Equal(1), "%s", res)
			Expect(res.Stderr).To(ContainSubstring(message), "%s", res)
			Expect(res.Stderr).NotTo(ContainSubstring("not found"), "%s", res)
			Expect(res.Stdout).To(BeEmpty(), "%s", res)
			Expect(vmsIn(ns)(ctx)).To(BeEmpty())
		},
		Entry("--file with --name", []string{"-f", "FILE", "--name", "cli"}, exclusiveFlags("file", "name")),
		Entry("--file with --local", []string{"-f", "FILE", "--local"}, exclusiveFlags("file", "local")),
		Entry("--file with --create", []string{"-f", "FILE", "--create"}, exclusiveFlags("create", "file")),
		Entry("-p with --params-file", []string{"cli", "-p", "NAME=x", "--params-file", "PARAMS"}, exclusiveFlags("param", "params-file")),
		Entry("--create with --local", []string{"cli", "--create", "--local"}, exclusiveFlags("create", "local")),
		Entry("--create with --print-params", []string{"cli", "--create", "--print-params"}, exclusiveFlags("create", "print-params")),
		Entry("a name with --file", []string{"cli", "-f", "FILE"}, "only one of name or file can be provided"),
		Entry("a name with --name", []string{"cli", "--name", "cli"}, "provide name either from positional argument or from flag"),
		Entry("neither a name nor a file", []string{"-p", "NAME=x"}, "name or file must be provided"),
	)

	// A key the template does not declare is refused wherever the template is processed:
	// the server answers 409 (MergeParameters in processTemplate,
	// internal/apiserver/storage/virtualmachinetemplate/process.go@v0.1.8, @v0.2.2) and local
	// processing merges with the same engine function before rendering (processLocal in
	// kubevirt/kubevirt pkg/virtctl/template/process/process.go@v1.8.4 and @v1.9.0:407-410,
	// "error merging template parameters: …").
	It("refuses a parameter the template does not declare, locally as on the server", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, cliTemplate())
		path := writeFile("template.yaml", cliTemplate())
		undeclared := writeFile("params.yaml", map[string]string{"NAME": "vm-a", "UNDECLARED": "x"})
		const engineText = "parameter UNDECLARED not found in template"

		By("processing on the server with -p UNDECLARED=x")
		server := virtctl.Template(ctx, []string{"process", tpl.Name, "-n", ns, "-p", "NAME=vm-a", "-p", "UNDECLARED=x"})
		Expect(server.Err).To(HaveOccurred(), "the server refuses an undeclared parameter: %s", server)
		Expect(server.Stderr).To(ContainSubstring("error processing remote VirtualMachineTemplate %s/%s: Operation cannot be fulfilled on", ns, tpl.Name), "%s", server)
		Expect(server.Stderr).To(ContainSubstring(engineText), "%s", server)

		for _, run := range []struct {
			what string
			args []string
		}{
			{"--local with -p", []string{"process", tpl.Name, "--local", "-n", ns, "-p", "NAME=vm-a", "-p", "UNDECLARED=x"}},
			{"--local with --params-file", []string{"process", tpl.Name, "--local", "-n", ns, "--params-file", undeclared}},
			{"-f FILE with -p", []string{"process", "-f", path, "-p", "NAME=vm-a", "-p", "UNDECLARED=x"}},
			{"-f FILE with --params-file", []string{"process", "-f", path, "--params-file", undeclared}},
		} {
			By("processing locally, " + run.what)
			res := virtctl.Template(ctx, run.args)
			Expect(res.Err).To(HaveOccurred(), "%s refuses an undeclared parameter as the server does: %s", run.what, res)
			Expect(res.ExitCode).To(Equal(1), "%s", res)
			Expect(res.Stderr).To(ContainSubstring("error merging template parameters: "+engineText), "%s: %s", run.what, res)
			Expect(res.Stdout).To(BeEmpty(), "%s prints no VM: %s", run.what, res)
		}
	})

	It("pipes its output into kubectl create -f -", func(ctx SpecContext) {
		tpl := createTemplate(ctx, ns, cliTemplate())

		By("processing the template")
		res := virtctl.Template(ctx, []string{"process", tpl.Name, "-n", ns, "-p", "NAME=vm-piped"})
		succeed(res)

		By("creating the output with kubectl create -f -")
		out, err := kubectl(ctx, res.Stdout, "create", "-n", ns, "-f", "-")
		Expect(err).NotTo(HaveOccurred(), "kubectl create: %s", out)
		Expect(out).To(ContainSubstring("virtualmachine.kubevirt.io/vm-piped created"))
		got, err := getVM(ctx, ns, "vm-piped")
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Spec.Template.Spec.Domain.CPU.Cores).To(BeEquivalentTo(1))
	})
})

// ocpTemplate is an OpenShift Template with one VM and parameters of every kind, built
// from the same VM a native template would embed.
func ocpTemplate(opts ...fixtures.OpenShiftTemplateOption) *unstructured.Unstructured {
	native := fixtures.Template("ocp-fedora",
		fixtures.WithParameter("NAME", fixtures.Required()),
		fixtures.WithVMName(fixtures.Ref("NAME")),
		fixtures.WithTypedField("spec.template.spec.domain.cpu.cores", "CPU"),
		fixtures.WithField("metadata.labels.password", fixtures.Ref("PASSWORD")),
	)
	base := []fixtures.OpenShiftTemplateOption{
		fixtures.WithOpenShiftLabel("app", "fedora"),
		fixtures.WithOpenShiftAnnotation("description", "Fedora VM"),
		fixtures.WithOpenShiftMessage("Log in to ${NAME}"),
		fixtures.WithOpenShiftParameter("NAME", fixtures.Required(), fixtures.DisplayName("VM name"), fixtures.Description("Name of the VM")),
		fixtures.WithOpenShiftParameter("CPU", fixtures.Value("2"), fixtures.DisplayName("CPU cores")),
		fixtures.WithOpenShiftParameter("PASSWORD", fixtures.Generated("[a-zA-Z0-9]{12}"), fixtures.Description("Login password")),
		fixtures.WithOpenShiftObject(native.Spec.VirtualMachine),
	}
	return fixtures.OpenShiftTemplate("ocp-fedora", append(base, opts...)...)
}

// expectConverted checks a converted template against the OpenShift Template it came from.
func expectConverted(out string, ocp *unstructured.Unstructured) *templatev1beta1.VirtualMachineTemplate {
	GinkgoHelper()
	vmt := &templatev1beta1.VirtualMachineTemplate{}
	Expect(yaml.UnmarshalStrict([]byte(out), vmt)).To(Succeed(), "convert output:\n%s", out)
	// The CLI speaks its KubeVirt's generation, as the suite does: virtctl 1.8 prints
	// v1alpha1, 1.9 v1beta1 (the Go type reads both: their schemas are the same).
	Expect(vmt.APIVersion).To(Equal(core.GroupName+"/"+framework.TemplateVersion()), "the template API version the CLI speaks")
	Expect(vmt.Kind).To(Equal("VirtualMachineTemplate"))
	Expect(vmt.Name).To(Equal(ocp.GetName()))
	Expect(vmt.Namespace).To(Equal(ocp.GetNamespace()))
	Expect(vmt.Labels).To(Equal(ocp.GetLabels()))
	Expect(vmt.Annotations).To(Equal(ocp.GetAnnotations()))
	Expect(vmt.Spec.Message).To(Equal(ocp.Object["message"]))

	By("comparing every parameter field for field")
	var wantParams []templatev1beta1.Parameter
	raw, err := json.Marshal(ocp.Object["parameters"])
	Expect(err).NotTo(HaveOccurred())
	Expect(json.Unmarshal(raw, &wantParams)).To(Succeed())
	Expect(vmt.Spec.Parameters).To(Equal(wantParams))

	By("comparing spec.virtualMachine with the Template's single object")
	var gotVM map[string]any
	Expect(json.Unmarshal(vmt.Spec.VirtualMachine.Raw, &gotVM)).To(Succeed())
	Expect(gotVM).To(Equal(ocp.Object["objects"].([]any)[0]))
	return vmt
}

var openShiftTemplates = schema.GroupVersionResource{Group: "template.openshift.io", Version: "v1", Resource: "templates"}

// VMT-007: convert an OpenShift Template with one VM into a native template without losing
// parameters (virt-template.md §8).
var _ = Describe("virtctl template convert", tiers.Scenario("VMT-007"), func() {
	var ns string

	BeforeEach(func(ctx SpecContext) {
		ns = namespace.New(ctx)
	})

	It("converts a Template file without losing parameters", func(ctx SpecContext) {
		ocp := ocpTemplate(fixtures.WithOpenShiftNamespace(ns))
		path := writeFile("ocp.yaml", ocp.Object)

		By("running virtctl template convert -f FILE")
		res := virtctl.Template(ctx, []string{"convert", "-f", path})
		succeed(res)
		vmt := expectConverted(res.Stdout, ocp)

		By("creating the converted template and processing it")
		createTemplate(ctx, ns, vmt)
		out := process(ctx, ns, vmt.Name, params{"NAME": "vm-converted"})
		Expect(out.VirtualMachine.Name).To(Equal("vm-converted"))
		Expect(out.VirtualMachine.Spec.Template.Spec.Domain.CPU.Cores).To(BeEquivalentTo(2), "the Template's CPU default")
		Expect(out.VirtualMachine.Labels).To(HaveKeyWithValue("password", MatchRegexp(`^[a-zA-Z0-9]{12}$`)), "the Template's generator")
		Expect(out.Message).To(Equal("Log in to vm-converted"))
	})

	It("converts a Template read from the cluster", tiers.Requires(tiers.RequiresOpenShift), func(ctx SpecContext) {
		ocp := ocpTemplate(fixtures.WithOpenShiftNamespace(ns))
		By("creating the OpenShift Template in the namespace")
		created, err := framework.Admin().Dynamic.Resource(openShiftTemplates).Namespace(ns).Create(ctx, ocp, createOpts)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(deleteIgnoringNotFound, ctrlObject(created))

		By("running virtctl template convert NAME")
		res := virtctl.Template(ctx, []string{"convert", ocp.GetName(), "-n", ns})
		succeed(res)
		vmt := expectConverted(res.Stdout, ocp)

		By("applying the output and processing the native template")
		out, err := kubectl(ctx, res.Stdout, "create", "-f", "-")
		Expect(err).NotTo(HaveOccurred(), "kubectl create: %s", out)
		processed := process(ctx, ns, vmt.Name, params{"NAME": "vm-from-cluster"})
		Expect(processed.VirtualMachine.Name).To(Equal("vm-from-cluster"))
		Expect(processed.VirtualMachine.Spec.Template.Spec.Domain.CPU.Cores).To(BeEquivalentTo(2))
	})

	DescribeTable("refuses a Template without exactly one object",
		func(ctx SpecContext, objects int) {
			opts := []fixtures.OpenShiftTemplateOption{}
			for i := 0; i < objects; i++ {
				opts = append(opts, fixtures.WithOpenShiftObject(fixtures.VM("extra")))
			}
			ocp := fixtures.OpenShiftTemplate("ocp-bad", opts...)
			res := virtctl.Template(ctx, []string{"convert", "-f", writeFile("ocp.yaml", ocp.Object)})
			Expect(res.Err).To(HaveOccurred(), "%s", res)
			Expect(res.Stderr).To(ContainSubstring("template must contain exactly one object, found %d", objects))
			Expect(res.Stdout).NotTo(ContainSubstring("VirtualMachineTemplate"))
		},
		Entry("no object", 0),
		Entry("two objects", 2),
	)
})

var requestCreated = regexp.MustCompile(`(?m)^virtualmachinetemplaterequest\.template\.kubevirt\.io/(\S+) created$`)

// VMT-008: start a capture from the CLI (virt-template.md §8). Waiting for the capture to
// finish needs the controller and snapshot storage (tests/capture_cli.go).
var _ = Describe("virtctl template create", tiers.Scenario("VMT-008"), func() {
	It("creates a request for a VM in another namespace with the template name asked for", func(ctx SpecContext) {
		source := namespace.New(ctx, "source")
		target := namespace.New(ctx, "target")
		createObject(ctx, withNamespace(fixtures.VM("golden-vm", fixtures.WithBlankDataVolumeDisk("data", "golden-vm-data", "1Gi")), source))

		By("running virtctl template create --vm-name golden-vm --vm-namespace SOURCE --name captured -n TARGET")
		res := virtctl.Template(ctx, []string{"create", "--vm-name", "golden-vm", "--vm-namespace", source, "--name", "captured", "-n", target})
		succeed(res)
		Expect(res.Stdout).To(MatchRegexp(requestCreated.String()))
		name := requestCreated.FindStringSubmatch(res.Stdout)[1]

		By("reading the request the CLI created")
		req := &templatev1beta1.VirtualMachineTemplateRequest{}
		Expect(framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: target, Name: name}, req)).To(Succeed())
		DeferCleanup(deleteIgnoringNotFound, ctrlObject(req))
		Expect(req.GenerateName).To(Equal("golden-vm-"))
		Expect(req.Name).To(HavePrefix("golden-vm-"))
		Expect(req.Spec.VirtualMachineRef).To(Equal(templatev1beta1.VirtualMachineReference{Namespace: source, Name: "golden-vm"}))
		Expect(req.Spec.TemplateName).To(Equal("captured"))
	})

	It("defaults the VM namespace to the current namespace and the template name to none", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		createObject(ctx, withNamespace(fixtures.VM("golden-vm"), ns))

		res := virtctl.Template(ctx, []string{"create", "--vm-name", "golden-vm", "-n", ns})
		succeed(res)
		name := requestCreated.FindStringSubmatch(res.Stdout)
		Expect(name).To(HaveLen(2), "stdout names the request:\n%s", res.Stdout)

		req := &templatev1beta1.VirtualMachineTemplateRequest{}
		Expect(framework.Admin().Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name[1]}, req)).To(Succeed())
		DeferCleanup(deleteIgnoringNotFound, ctrlObject(req))
		Expect(req.Spec.VirtualMachineRef).To(Equal(templatev1beta1.VirtualMachineReference{Namespace: ns, Name: "golden-vm"}))
		Expect(req.Spec.TemplateName).To(BeEmpty())
	})

	It("requires --vm-name", func(ctx SpecContext) {
		ns := namespace.New(ctx)
		res := virtctl.Template(ctx, []string{"create", "-n", ns})
		Expect(res.Err).To(HaveOccurred(), "%s", res)
		// MarkFlagRequired(vmNameFlag) in kubevirt/kubevirt pkg/virtctl/template/create/create.go
		// @v1.8.4:75 and @v1.9.0:75; cobra v1.9.1's wording (command.go:1198).
		Expect(res.ExitCode).To(Equal(1), "%s", res)
		Expect(res.Stderr).To(ContainSubstring(`required flag(s) "vm-name" not set`), "%s", res)
		list := &templatev1beta1.VirtualMachineTemplateRequestList{}
		Expect(framework.Admin().Client.List(ctx, list, ctrlInNamespace(ns))).To(Succeed())
		Expect(list.Items).To(BeEmpty())
	})
})
