package virtctl

import (
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

const (
	flagVMName      = "vm-name"
	flagVMNamespace = "vm-namespace"
)

type createCommand struct {
	conn *connection

	vmName      string
	vmNamespace string
	name        string
}

func newCreateCommand(conn *connection) *cobra.Command {
	c := &createCommand{conn: conn}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a VirtualMachineTemplate from an existing VirtualMachine on the cluster.",
		Long: `Create a VirtualMachineTemplate from an existing VirtualMachine.

This creates a VirtualMachineTemplateRequest (template.kubevirt.io/v1beta1) in the current
namespace with generateName "<vm-name>-", spec.virtualMachineRef = --vm-namespace/--vm-name
and spec.templateName = --name, and prints
"virtualmachinetemplaterequest.template.kubevirt.io/<request> created".

The template is made asynchronously by the cluster (the VM's disks are snapshotted and
cloned); the request is done when its Ready condition is True and Progressing is False:
  kubectl wait vmtr/<request> --for condition=Ready

The template lands in the current namespace, named --name or, when --name is empty,
after the request. A VM in another namespace needs "create" on
virtualmachinetemplaterequests/source there. Any error is one line on stderr and exit
code 1.`,
		Example: `  # Capture VM "golden" of the current namespace; the template is named after the request.
  {{ProgramName}} template create --vm-name golden

  # Capture VM "golden" of namespace "images" as template "fedora" in namespace "tpl".
  {{ProgramName}} template create --vm-name golden --vm-namespace images --name fedora -n tpl`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}

	flags := cmd.Flags()
	flags.StringVar(&c.vmName, flagVMName, "",
		"Name of the VirtualMachine to make the template from (required).")
	flags.StringVar(&c.vmNamespace, flagVMNamespace, "",
		"Namespace of the VirtualMachine; defaults to the current namespace.")
	flags.StringVar(&c.name, flagName, "",
		"Name of the VirtualMachineTemplate to create; defaults to the generated name of the request.")
	if err := cmd.MarkFlagRequired(flagVMName); err != nil {
		panic(err) // a programming error: the flag is declared just above
	}
	cmd.SetUsageTemplate(usageTemplate)
	return cmd
}

func (c *createCommand) run(cmd *cobra.Command, _ []string) error {
	ns, err := c.conn.namespace()
	if err != nil {
		return err
	}
	vmNamespace := c.vmNamespace
	if vmNamespace == "" {
		vmNamespace = ns
	}
	client, err := c.conn.templateClient(ns)
	if err != nil {
		return err
	}
	req := &v1beta1.VirtualMachineTemplateRequest{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: c.vmName + "-",
			Namespace:    ns,
		},
		Spec: v1beta1.VirtualMachineTemplateRequestSpec{
			VirtualMachineRef: v1beta1.VirtualMachineReference{Namespace: vmNamespace, Name: c.vmName},
			TemplateName:      c.name,
		},
	}
	created, err := client.createRequest(cmd.Context(), req)
	if err != nil {
		return fmt.Errorf("error creating VirtualMachineTemplateRequest: %w", err)
	}
	cmd.Printf("%s.%s/%s created\n", core.SingularRequestResourceName, core.GroupName, created.Name)
	return nil
}
