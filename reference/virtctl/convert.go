package virtctl

import (
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

type convertCommand struct {
	conn *connection

	name   string
	file   string
	output string
}

func newConvertCommand(conn *connection) *cobra.Command {
	c := &convertCommand{conn: conn}
	cmd := &cobra.Command{
		Use:   "convert [name]",
		Short: "Convert an OpenShift Template into a VirtualMachineTemplate.",
		Long: `Convert an OpenShift Template (template.openshift.io/v1) into a
VirtualMachineTemplate (template.kubevirt.io/v1beta1) and print it on stdout.

The Template is read from the cluster by NAME (or --name) in the current namespace, or
from a YAML or JSON file (--file FILE, or --file - for stdin). It must hold exactly one
object, which becomes spec.virtualMachine unchanged (its kind is not checked here;
admission and processing will). Name, namespace, labels, annotations and message are
copied, and every parameter field for field (name, displayName, description, value,
generate, from, required). Nothing is created: pipe the output to "kubectl create -f -".

Any error is one line on stderr and exit code 1, e.g.
"template must contain exactly one object, found 2".`,
		Example: `  # Convert the Template "fedora" of namespace "tpl" and create the result.
  {{ProgramName}} template convert fedora -n tpl | kubectl create -f -

  # Convert a Template file, JSON output.
  {{ProgramName}} template convert -f fedora-template.yaml -o json

  # Convert a Template read from stdin.
  oc get template fedora -o yaml | {{ProgramName}} template convert -f -`,
		Args: cobra.RangeArgs(0, 1),
		RunE: c.run,
	}

	flags := cmd.Flags()
	flags.StringVar(&c.name, flagName, "",
		"Name of the OpenShift Template in the cluster (same as the positional argument).")
	flags.StringVarP(&c.file, flagFile, "f", "",
		"File containing an OpenShift Template (YAML or JSON); \"-\" reads stdin.")
	flags.StringVarP(&c.output, flagOutput, "o", formatYAML,
		"Output format: yaml or json.")

	cmd.MarkFlagsMutuallyExclusive(flagFile, flagName)
	cmd.SetUsageTemplate(usageTemplate)
	return cmd
}

func (c *convertCommand) run(cmd *cobra.Command, args []string) error {
	if err := nameOrFile(args, &c.name, &c.file, c.output); err != nil {
		return err
	}
	versions, err := c.conn.apiVersions()
	if err != nil {
		return err
	}
	ns, err := c.conn.namespace()
	if err != nil {
		return err
	}

	var ocp *openShiftTemplate
	if c.name != "" {
		if ocp, err = c.conn.getOpenShiftTemplate(cmd.Context(), ns, c.name); err != nil {
			return fmt.Errorf("error fetching remote Template %s/%s: %w", ns, c.name, err)
		}
	} else {
		ocp = &openShiftTemplate{}
		if err := readFile(cmd, c.file, "Template", ocp); err != nil {
			return err
		}
	}

	tpl, err := convertTemplate(ocp)
	if err != nil {
		return err
	}
	// KubeVirt v1.8's virtctl prints a v1alpha1 template (convert/convert.go@v1.8.0:198), with
	// the same fields.
	tpl.APIVersion = versions.templates.String()
	return printObject(cmd, c.output, tpl, "")
}

// convertTemplate maps an OpenShift Template onto a VirtualMachineTemplate the way upstream
// does: metadata and message copied, parameters field by field, the single object as is.
func convertTemplate(ocp *openShiftTemplate) (*v1beta1.VirtualMachineTemplate, error) {
	if len(ocp.Objects) != 1 {
		return nil, fmt.Errorf("template must contain exactly one object, found %d", len(ocp.Objects))
	}
	tpl := &v1beta1.VirtualMachineTemplate{
		TypeMeta: metav1.TypeMeta{
			APIVersion: v1beta1.GroupVersion.String(),
			Kind:       "VirtualMachineTemplate",
		},
		ObjectMeta: metav1.ObjectMeta{
			Name:        ocp.Name,
			Namespace:   ocp.Namespace,
			Labels:      ocp.Labels,
			Annotations: ocp.Annotations,
		},
		Spec: v1beta1.VirtualMachineTemplateSpec{
			VirtualMachine: &ocp.Objects[0],
			Message:        ocp.Message,
		},
	}
	for _, p := range ocp.Parameters {
		tpl.Spec.Parameters = append(tpl.Spec.Parameters, v1beta1.Parameter{
			Name:        p.Name,
			DisplayName: p.DisplayName,
			Description: p.Description,
			Value:       p.Value,
			Generate:    p.Generate,
			From:        p.From,
			Required:    p.Required,
		})
	}
	return tpl, nil
}
