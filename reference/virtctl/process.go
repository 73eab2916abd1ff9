package virtctl

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/engine"
)

// Flag names of process; convert and create reuse the shared ones.
const (
	flagName        = "name"
	flagFile        = "file"
	flagOutput      = "output"
	flagParam       = "param"
	flagParamsFile  = "params-file"
	flagLocal       = "local"
	flagCreate      = "create"
	flagPrintParams = "print-params"
)

type processCommand struct {
	conn *connection

	name        string
	file        string
	output      string
	params      map[string]string
	paramsFile  string
	local       bool
	create      bool
	printParams bool

	namespace string
}

func newProcessCommand(conn *connection) *cobra.Command {
	p := &processCommand{conn: conn}
	cmd := &cobra.Command{
		Use:   "process [name]",
		Short: "Process a VirtualMachineTemplate and return the created VirtualMachine object.",
		Long: `Process a VirtualMachineTemplate into a VirtualMachine.

Where the template comes from and where it is processed:
  NAME (or --name)       the template NAME in the current namespace, processed by the
                         cluster: POST .../virtualmachinetemplates/NAME/process of
                         subresources.template.kubevirt.io/v1beta1. Needs "create" on
                         virtualmachinetemplates/process, not "get" on the template.
  NAME --local           the template is read from the cluster (needs "get" on
                         template.kubevirt.io virtualmachinetemplates) and processed here.
  --file FILE, --file -  a template in a YAML or JSON file, or on stdin, processed here;
                         no cluster is contacted. v1alpha1 and v1beta1 files are accepted.
  NAME --create          the cluster processes the template and creates the VirtualMachine
                         in the template's namespace (.../NAME/create); prints
                         "virtualmachine.kubevirt.io/<vm> created".

Parameter values come from --param KEY=VALUE (repeatable, or KEY1=V1,KEY2=V2) or from
--params-file, a YAML or JSON dictionary of strings. A key the template does not declare
is an error. --print-params prints the template's parameter list instead of processing.

Output: the VirtualMachine on stdout (--output yaml or json), ready for
"kubectl create -f -". The template's message and warnings (such as "Warning: ...
is defined but never referenced") go to stderr. Any error is one line on stderr and
exit code 1.

Flags that cannot be combined: --file with a name, --local or --create; --param with
--params-file; --create with --local or --print-params.`,
		Example: `  # Process the cluster template "fedora" in namespace "tpl", setting two parameters.
  {{ProgramName}} template process fedora -n tpl -p NAME=vm-a -p CPU=2

  # Process a template file locally; parameters from a file; JSON output.
  {{ProgramName}} template process -f fedora.yaml --params-file params.yaml -o json

  # Process a template read from stdin and create the result with kubectl.
  cat fedora.yaml | {{ProgramName}} template process -f - -p NAME=vm-a | kubectl create -f -

  # Read the cluster template but process it on this machine.
  {{ProgramName}} template process --name fedora --local -p NAME=vm-a

  # Let the cluster create the VirtualMachine.
  {{ProgramName}} template process fedora --create -p NAME=vm-a

  # List the parameters of a template.
  {{ProgramName}} template process fedora --print-params`,
		Args: cobra.RangeArgs(0, 1),
		RunE: p.run,
	}

	flags := cmd.Flags()
	flags.StringVar(&p.name, flagName, "",
		"Name of the VirtualMachineTemplate in the cluster (same as the positional argument).")
	flags.StringVarP(&p.file, flagFile, "f", "",
		"File containing a VirtualMachineTemplate (YAML or JSON); \"-\" reads stdin. Always processed locally.")
	flags.StringVarP(&p.output, flagOutput, "o", formatYAML,
		"Output format: yaml or json.")
	flags.StringToStringVarP(&p.params, flagParam, "p", nil,
		"Parameter value KEY=VALUE; repeat the flag or separate pairs with commas.")
	flags.StringVar(&p.paramsFile, flagParamsFile, "",
		"File with parameter values as a YAML or JSON dictionary of strings.")
	flags.BoolVar(&p.local, flagLocal, false,
		"Read the named template from the cluster and process it locally instead of on the server.")
	flags.BoolVar(&p.create, flagCreate, false,
		"Have the server create the VirtualMachine (/create subresource) instead of printing it.")
	flags.BoolVar(&p.printParams, flagPrintParams, false,
		"Print the template's parameters (in the --output format) instead of processing it.")

	cmd.MarkFlagsMutuallyExclusive(flagFile, flagName)
	cmd.MarkFlagsMutuallyExclusive(flagFile, flagLocal)
	cmd.MarkFlagsMutuallyExclusive(flagParam, flagParamsFile)
	cmd.MarkFlagsMutuallyExclusive(flagCreate, flagFile)
	cmd.MarkFlagsMutuallyExclusive(flagCreate, flagLocal)
	cmd.MarkFlagsMutuallyExclusive(flagCreate, flagPrintParams)
	cmd.SetUsageTemplate(usageTemplate)
	return cmd
}

// nameOrFile applies the positional name with upstream's checks and messages, shared by
// process and convert.
func nameOrFile(args []string, name, file *string, output string) error {
	if len(args) > 0 {
		if *file != "" {
			return errors.New("only one of name or file can be provided")
		}
		if *name != "" {
			return errors.New("provide name either from positional argument or from flag")
		}
		*name = args[0]
	}
	if *file == "" && *name == "" {
		return errors.New("name or file must be provided")
	}
	return checkOutput(output)
}

func (p *processCommand) run(cmd *cobra.Command, args []string) error {
	if err := nameOrFile(args, &p.name, &p.file, p.output); err != nil {
		return err
	}
	ns, err := p.conn.namespace()
	if err != nil {
		return err
	}
	p.namespace = ns

	if p.printParams {
		tpl, err := p.template(cmd)
		if err != nil {
			return fmt.Errorf("error printing template parameters: %w", err)
		}
		return printObject(cmd, p.output, tpl.Spec.Parameters, "")
	}

	if p.paramsFile != "" {
		if err := p.readParamsFile(); err != nil {
			return fmt.Errorf("error reading params file: %w", err)
		}
	}

	var (
		vm      *kubevirtv1.VirtualMachine
		message string
	)
	switch {
	case p.create:
		vm, message, err = p.remote(cmd, core.CreateSubresource)
	case p.name != "" && !p.local:
		vm, message, err = p.remote(cmd, core.ProcessSubresource)
	default:
		vm, message, err = p.processLocally(cmd)
	}
	if err != nil {
		return err
	}

	if p.create {
		cmd.Printf("%s/%s created\n", kindGroup(vm), vm.Name)
		return nil
	}
	return printObject(cmd, p.output, vm, message)
}

// template reads the template named on the command line from the cluster, or from the
// file; used by --print-params and local processing.
func (p *processCommand) template(cmd *cobra.Command) (*v1beta1.VirtualMachineTemplate, error) {
	if p.name == "" {
		tpl := &v1beta1.VirtualMachineTemplate{}
		if err := readFile(cmd, p.file, "VirtualMachineTemplate", tpl); err != nil {
			return nil, err
		}
		return tpl, nil
	}
	client, err := p.conn.templateClient(p.namespace)
	if err != nil {
		return nil, err
	}
	tpl, err := client.getTemplate(cmd.Context(), p.name)
	if err != nil {
		return nil, fmt.Errorf("error fetching remote VirtualMachineTemplate %s/%s: %w", p.namespace, p.name, err)
	}
	return tpl, nil
}

func (p *processCommand) readParamsFile() error {
	f, err := os.Open(p.paramsFile)
	if err != nil {
		return err
	}
	defer f.Close()
	return decodeYAMLOrJSON(f, &p.params)
}

// remote calls /process or /create. API warnings reach stderr through the client's
// warning handler.
func (p *processCommand) remote(cmd *cobra.Command, subresource string) (*kubevirtv1.VirtualMachine, string, error) {
	what := "processing"
	if subresource == core.CreateSubresource {
		what = "creating VirtualMachine from"
	}
	fail := func(err error) error {
		return fmt.Errorf("error %s remote VirtualMachineTemplate %s/%s: %w", what, p.namespace, p.name, err)
	}
	client, err := p.conn.templateClient(p.namespace)
	if err != nil {
		return nil, "", err
	}
	out, err := client.subresource(cmd.Context(), p.name, subresource,
		&subresourcesv1beta1.ProcessOptions{Parameters: p.params})
	if err != nil {
		return nil, "", fail(err)
	}
	if out.VirtualMachine == nil {
		return nil, "", fail(errors.New("the response carries no virtualMachine"))
	}
	return out.VirtualMachine, out.Message, nil
}

// processLocally runs the engine in upstream virtctl's order: merge the values, check the
// references (warnings to stderr), then render.
func (p *processCommand) processLocally(cmd *cobra.Command) (*kubevirtv1.VirtualMachine, string, error) {
	tpl, err := p.template(cmd)
	if err != nil {
		return nil, "", err
	}
	if p.conn.cfg.FaultLocalAcceptsUndeclaredParameters {
		p.params = declaredOnly(tpl.Spec.Parameters, p.params)
	}
	tpl.Spec.Parameters, err = engine.MergeParameters(tpl.Spec.Parameters, p.params)
	if err != nil {
		return nil, "", fmt.Errorf("error merging template parameters: %w", err)
	}
	warnings, errs := engine.ValidateReferences(tpl)
	for _, w := range warnings {
		cmd.PrintErrf("Warning: %s\n", w)
	}
	if len(errs) > 0 {
		return nil, "", fmt.Errorf("error validating template parameters: %w", errs.ToAggregate())
	}
	vm, message, err := engine.Processor{Rand: p.conn.cfg.Rand}.Render(tpl)
	if err != nil {
		return nil, "", fmt.Errorf("error processing VirtualMachineTemplate locally: %w", err)
	}
	return vm, message, nil
}

// kindGroup is "virtualmachine.kubevirt.io" for the VM a server created, read from its
// apiVersion and kind as upstream does; a VM without them is still a kubevirt.io one.
func kindGroup(vm *kubevirtv1.VirtualMachine) string {
	kind, group := vm.Kind, ""
	if gv, err := schema.ParseGroupVersion(vm.APIVersion); err == nil {
		group = gv.Group
	}
	if kind == "" || group == "" {
		kind, group = kubevirtv1.VirtualMachineGroupVersionKind.Kind, kubevirtv1.VirtualMachineGroupVersionKind.Group
	}
	return strings.ToLower(kind + "." + group)
}

// declaredOnly is the local-accepts-undeclared-parameters fault
// (Config.FaultLocalAcceptsUndeclaredParameters): the values of keys the template declares.
func declaredOnly(declared []v1beta1.Parameter, values map[string]string) map[string]string {
	out := map[string]string{}
	for _, d := range declared {
		if v, ok := values[d.Name]; ok {
			out[d.Name] = v
		}
	}
	return out
}
