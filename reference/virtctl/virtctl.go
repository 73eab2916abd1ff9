// Package virtctl is the reference `virtctl template` CLI: the commands process, convert and
// create of KubeVirt v1.9's virtctl (kubevirt/kubevirt pkg/virtctl/template, v1beta1 APIs),
// with the same flags, defaults, mutual exclusions, messages, stdout/stderr split and exit
// codes, so the conformance specs can run against it or against a real virtctl alike.
// Config.KubeVirtVersion (KubeVirtVersionEnv, hidden --kubevirt-version) makes it KubeVirt
// v1.8's instead, which speaks v1alpha1 (release.go).
//
// The command tree is built by NewCommand and run by Execute; streams and the cluster
// connection are injected through Config, so tests need neither a terminal nor a cluster.
package virtctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// ProgramName is the name the help texts use for the binary.
const ProgramName = "vmt-virtctl"

// Config is everything a command tree needs from its surroundings. The zero value talks
// to the process's stdio and loads the kubeconfig like virtctl does.
type Config struct {
	// In is read by `--file -`; nil means os.Stdin.
	In io.Reader
	// Out receives the results (objects, "... created" lines, help); nil means os.Stdout.
	Out io.Writer
	// ErrOut receives errors, API warnings and the template message; nil means os.Stderr.
	ErrOut io.Writer

	// RESTConfig, when set, is used instead of the kubeconfig selected by --kubeconfig and
	// the other connection flags. The namespace is then -n, else Namespace, else "default".
	RESTConfig *rest.Config
	// Namespace is the current namespace that goes with RESTConfig.
	Namespace string

	// Rand feeds the expression generator of local processing; nil means crypto/rand.
	// Tests set it to get reproducible generated values.
	Rand io.Reader

	// KubeVirtVersion is the KubeVirt release whose virtctl to play, e.g. "v1.8.4"; empty
	// means DefaultKubeVirtVersion. The hidden --kubevirt-version flag overrides it.
	KubeVirtVersion string

	// FaultLocalAcceptsUndeclaredParameters is a deliberate bug for the suite's self-tests
	// (package reference/faults, local-accepts-undeclared-parameters; cmd/vmt-virtctl sets it
	// from VMT_REFERENCE_FAULTS): local processing drops parameter keys the template does not
	// declare instead of refusing them. Never set it otherwise.
	FaultLocalAcceptsUndeclaredParameters bool
}

func (c Config) withDefaults() Config {
	if c.In == nil {
		c.In = os.Stdin
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.ErrOut == nil {
		c.ErrOut = os.Stderr
	}
	return c
}

// Execute runs the command line args (without the program name) and returns the exit code:
// 0 on success, 1 after printing the error as one line on ErrOut, as virtctl does.
func Execute(ctx context.Context, cfg Config, args []string) int {
	cfg = cfg.withDefaults()
	root := NewCommand(cfg)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(cfg.ErrOut, oneLine(err))
		return 1
	}
	return 0
}

// oneLine keeps an error on one line of stderr; server messages occasionally carry
// newlines (for example the text body of a failing proxy). Other spacing is kept: upstream
// messages such as `Operation cannot be fulfilled on  "x"` carry a double space.
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " ")
}

// NewCommand builds the root command with the global connection flags (--kubeconfig,
// -n/--namespace, --context, --server, ... as kubectl and virtctl have them), the template
// command and the hidden `options` command that lists the global flags.
func NewCommand(cfg Config) *cobra.Command {
	cfg = cfg.withDefaults()
	root := &cobra.Command{
		Use:           ProgramName,
		Short:         ProgramName + " is the reference implementation of `virtctl template`.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			cmd.Print(cmd.UsageString())
		},
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(cfg.In)
	root.SetOut(cfg.Out)
	root.SetErr(cfg.ErrOut)
	root.SetUsageTemplate(mainUsageTemplate)

	conn := bindConnectionFlags(root, cfg)
	// virtctl accepts klog's -v/--v everywhere; scripts written for it pass it along.
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	root.PersistentFlags().AddGoFlag(klogFlags.Lookup("v"))

	options := &cobra.Command{
		Use:    "options",
		Hidden: true,
		Args:   cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			cmd.Print(cmd.UsageString())
		},
	}
	options.SetUsageTemplate(optionsUsageTemplate)

	root.AddCommand(newTemplateCommand(conn), options)
	return root
}

func newTemplateCommand(conn *connection) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "template",
		Short: "Work with VirtualMachineTemplates",
		Long: `Work with VirtualMachineTemplates (template.kubevirt.io/v1beta1).

  process   render a template into a VirtualMachine, on the server or locally,
            or create the VirtualMachine on the server (--create)
  convert   turn an OpenShift Template holding one VirtualMachine into a
            VirtualMachineTemplate
  create    ask the cluster to capture an existing VirtualMachine as a template
            (creates a VirtualMachineTemplateRequest)

Results go to stdout, errors, API warnings and the template message to stderr. The
exit code is 0 on success and 1 on any error.`,
		Args: cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			cmd.Print(cmd.UsageString())
		},
	}
	cmd.AddCommand(newConvertCommand(conn), newCreateCommand(conn), newProcessCommand(conn))
	cmd.SetUsageTemplate(usageTemplate)
	return cmd
}

func init() {
	// The same template functions as virtctl, so help texts render alike.
	cobra.AddTemplateFunc("ProgramName", func() string { return ProgramName })
	cobra.AddTemplateFunc("prepare", func(s string) string {
		return strings.ReplaceAll(s, "{{ProgramName}}", ProgramName)
	})
}

// The usage layout of virtctl: examples with the program name filled in, local flags, and
// a pointer to `options` for the global ones.
const usageTemplate = `Usage:{{if .Runnable}}
  {{prepare .UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{prepare .CommandPath}} [command]{{end}}{{if .HasExample}}

Examples:
{{prepare .Example}}{{end}}{{if .HasAvailableSubCommands}}

Available Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{prepare .Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Use "{{ProgramName}} options" for a list of global command-line options (applies to all commands).{{end}}
`

const mainUsageTemplate = `Available Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{prepare .Short}}{{end}}{{end}}

Use "{{ProgramName}} <command> --help" for more information about a given command.
Use "{{ProgramName}} options" for a list of global command-line options (applies to all commands).
`

const optionsUsageTemplate = `The following options can be passed to any command:{{if .HasAvailableInheritedFlags}}

{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}
`

// connection resolves the namespace and REST config of one invocation from the global
// flags, lazily: commands that only read files never need a reachable cluster.
type connection struct {
	cfg             Config
	loader          clientcmd.ClientConfig
	overrides       *clientcmd.ConfigOverrides
	kubevirtVersion string
}

func bindConnectionFlags(root *cobra.Command, cfg Config) *connection {
	flags := root.PersistentFlags()
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	// virtctl keeps client-go's legacy fallback (http://localhost:8080) when there is no
	// kubeconfig at all, so file-only commands work without one.
	rules.DefaultClientConfig = &clientcmd.DefaultClientConfig
	flags.StringVar(&rules.ExplicitPath, "kubeconfig", "", "Path to the kubeconfig file to use for CLI requests.")

	overrides := &clientcmd.ConfigOverrides{ClusterDefaults: clientcmd.ClusterDefaults}
	names := clientcmd.RecommendedConfigOverrideFlags("")
	names.ClusterOverrideFlags.APIServer.ShortName = "s"
	clientcmd.BindOverrideFlags(overrides, flags, names)

	conn := &connection{
		cfg:       cfg,
		loader:    clientcmd.NewInteractiveDeferredLoadingClientConfig(rules, overrides, cfg.In),
		overrides: overrides,
	}
	flags.StringVar(&conn.kubevirtVersion, kubeVirtVersionFlag, cfg.KubeVirtVersion,
		"KubeVirt release whose virtctl to play (v1.8.x speaks template.kubevirt.io/v1alpha1, v1.9 v1beta1); not an upstream flag")
	if err := flags.MarkHidden(kubeVirtVersionFlag); err != nil {
		panic(err) // declared just above
	}
	return conn
}

// apiVersions are the template API versions this invocation speaks (--kubevirt-version).
func (c *connection) apiVersions() (apiVersions, error) {
	return apiVersionsFor(c.kubevirtVersion)
}

// namespace is -n, else the kubeconfig context's namespace, else "default".
func (c *connection) namespace() (string, error) {
	if c.cfg.RESTConfig != nil {
		switch {
		case c.overrides.Context.Namespace != "":
			return c.overrides.Context.Namespace, nil
		case c.cfg.Namespace != "":
			return c.cfg.Namespace, nil
		default:
			return "default", nil
		}
	}
	ns, _, err := c.loader.Namespace()
	return ns, err
}

// restConfig is the configuration every client of this invocation starts from: API
// warnings are written to stderr as "Warning: <text>", like kubectl does.
func (c *connection) restConfig() (*rest.Config, error) {
	var cfg *rest.Config
	if c.cfg.RESTConfig != nil {
		cfg = rest.CopyConfig(c.cfg.RESTConfig)
	} else {
		loaded, err := c.loader.ClientConfig()
		if err != nil {
			return nil, err
		}
		cfg = loaded
	}
	if cfg == nil {
		return nil, errors.New("no client configuration")
	}
	cfg.WarningHandler = rest.NewWarningWriter(c.cfg.ErrOut, rest.WarningWriterOptions{Deduplicate: true})
	cfg.WarningHandlerWithContext = nil
	if cfg.UserAgent == "" {
		cfg.UserAgent = ProgramName
	}
	return cfg, nil
}
