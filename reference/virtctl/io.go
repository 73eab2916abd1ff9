package virtctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	formatYAML = "yaml"
	formatJSON = "json"

	// decodeBufferSize is how far into a file the decoder looks to tell JSON from YAML,
	// as upstream.
	decodeBufferSize = 1024

	// stdinFile is the --file value that reads stdin.
	stdinFile = "-"
)

// checkOutput refuses formats other than yaml and json with upstream's message.
func checkOutput(output string) error {
	if output != formatYAML && output != formatJSON {
		return fmt.Errorf("not supported output format: %s", output)
	}
	return nil
}

// printObject writes obj to stdout as YAML, or as JSON indented by one space without a
// final newline, which is what upstream prints. A non-empty message goes to stderr first.
func printObject(cmd *cobra.Command, output string, obj any, message string) error {
	var (
		data []byte
		err  error
	)
	switch output {
	case formatJSON:
		data, err = json.MarshalIndent(obj, "", " ")
	default:
		data, err = yaml.Marshal(obj)
	}
	if err != nil {
		return err
	}
	if message != "" {
		printMessage(cmd, message)
	}
	cmd.Print(string(data))
	return nil
}

// printMessage writes the template's message to stderr. Upstream writes it without a line
// break, which glues it to whatever comes next on a terminal; a missing one is added here.
func printMessage(cmd *cobra.Command, message string) {
	if message[len(message)-1] != '\n' {
		message += "\n"
	}
	cmd.PrintErr(message)
}

// readFile decodes the first YAML or JSON document of path (stdin for "-") into into.
// what names the expected object in errors, e.g. "VirtualMachineTemplate".
func readFile(cmd *cobra.Command, path, what string, into any) error {
	var in io.Reader
	if path == stdinFile {
		in = cmd.InOrStdin()
	} else {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("error opening file %s: %w", path, err)
		}
		defer func() {
			if err := f.Close(); err != nil {
				cmd.PrintErrf("error closing file %s: %v\n", path, err)
			}
		}()
		in = f
	}
	if err := decodeYAMLOrJSON(in, into); err != nil {
		return fmt.Errorf("error decoding %s: %w", what, err)
	}
	return nil
}

// decodeYAMLOrJSON decodes like upstream: lenient about unknown fields and about
// apiVersion and kind, first document only; an empty input is io.EOF.
func decodeYAMLOrJSON(in io.Reader, into any) error {
	return k8syaml.NewYAMLOrJSONDecoder(in, decodeBufferSize).Decode(into)
}

func bytesReader(data []byte) io.Reader { return bytes.NewReader(data) }
