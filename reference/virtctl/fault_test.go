package virtctl

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestFaultLocalAcceptsUndeclaredParameters: the deliberate bug (package reference/faults)
// makes local processing render with an undeclared key that the CLI refuses otherwise
// (TestLocalProcessingErrors "unknown parameter").
func TestFaultLocalAcceptsUndeclaredParameters(t *testing.T) {
	var stdout, stderr bytes.Buffer
	cfg := Config{Out: &stdout, ErrOut: &stderr, RESTConfig: deadCluster, Namespace: "tpl", FaultLocalAcceptsUndeclaredParameters: true}
	code := Execute(context.Background(), cfg, []string{"template", "process", "-f", "testdata/fedora.yaml", "-p", "NAME=a", "-p", "NOPE=1"})
	if code != 0 || !strings.Contains(stdout.String(), "kind: VirtualMachine") {
		t.Fatalf("with the fault: exit %d, stdout %q, stderr %q; want the VM rendered", code, stdout.String(), stderr.String())
	}
	if res := run(t, invocation{}, "template", "process", "-f", "testdata/fedora.yaml", "-p", "NAME=a", "-p", "NOPE=1"); res.code != 1 {
		t.Fatalf("without the fault: exit %d; want the undeclared key refused", res.code)
	}
}
