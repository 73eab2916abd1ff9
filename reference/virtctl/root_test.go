package virtctl

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeKubeconfig writes a kubeconfig whose current context points at server, with the
// given namespace ("" for none).
func writeKubeconfig(t *testing.T, server, namespace string) string {
	t.Helper()
	ns := ""
	if namespace != "" {
		ns = "\n    namespace: " + namespace
	}
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: ` + server + `
    insecure-skip-tls-verify: true
users:
- name: alice
  user:
    token: secret
contexts:
- name: fake
  context:
    cluster: fake
    user: alice` + ns + `
current-context: fake
`
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runWithKubeconfig runs the CLI the way the binary does: no injected REST config, the
// cluster and namespace come from --kubeconfig.
func runWithKubeconfig(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute(context.Background(), Config{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr}, args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// TestKubeconfigNamespace: the namespace is -n, else the kubeconfig context's, else
// "default"; the kubeconfig's credentials are used.
func TestKubeconfigNamespace(t *testing.T) {
	cases := []struct {
		name      string
		contextNS string
		flags     []string
		wantNS    string
	}{
		{name: "context namespace", contextNS: "team-a", wantNS: "team-a"},
		{name: "no namespace in the context", wantNS: "default"},
		{name: "-n wins", contextNS: "team-a", flags: []string{"-n", "team-b"}, wantNS: "team-b"},
		{name: "--namespace wins", flags: []string{"--namespace=team-c"}, wantNS: "team-c"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t, exchange{
				method:    http.MethodPost,
				path:      "/apis/template.kubevirt.io/v1beta1/namespaces/" + tc.wantNS + "/virtualmachinetemplaterequests",
				checkBody: requestBody(tc.wantNS, tc.wantNS, "golden", ""),
				status:    http.StatusCreated, response: createdRequest(tc.wantNS, "golden-abcde"),
			})
			kubeconfig := writeKubeconfig(t, api.Host, tc.contextNS)
			args := append([]string{"--kubeconfig", kubeconfig, "template", "create", "--vm-name", "golden"}, tc.flags...)
			res := runWithKubeconfig(t, args...)
			expectSuccess(t, res, "")
			if want := "virtualmachinetemplaterequest.template.kubevirt.io/golden-abcde created\n"; res.stdout != want {
				t.Errorf("stdout %q, want %q", res.stdout, want)
			}
		})
	}
}

// TestKubeconfigCredentials: requests carry the kubeconfig user's token.
func TestKubeconfigCredentials(t *testing.T) {
	api := newFakeTLSAPI(t, exchange{
		method: http.MethodPost, path: processPath, checkBody: parameters(nil),
		status: http.StatusOK, response: processedVMA(t),
		checkHeader: func(t *testing.T, h http.Header) {
			if got := h.Get("Authorization"); got != "Bearer secret" {
				t.Errorf("Authorization %q, want the kubeconfig token", got)
			}
		},
	})
	res := runWithKubeconfig(t, "--kubeconfig", writeKubeconfig(t, api.Host, "tpl"), "template", "process", "fedora")
	expectSuccess(t, res, fedoraMessage)
}

// TestBrokenKubeconfig: an explicit kubeconfig that does not exist is one line, exit 1.
func TestBrokenKubeconfig(t *testing.T) {
	res := runWithKubeconfig(t, "--kubeconfig", filepath.Join(t.TempDir(), "missing"), "template", "process", "fedora")
	expectFailure(t, res, "stat ")
}

// TestHelp: every command answers --help on stdout with exit code 0, listing its flags and
// examples; `template` alone prints its usage (the framework probes `template --help`).
func TestHelp(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"template", `Use "vmt-virtctl options"`}},
		{[]string{"template", "--help"}, []string{"process", "convert", "create", "vmt-virtctl template [command]"}},
		{[]string{"template"}, []string{"Available Commands:", "process"}},
		{[]string{"template", "process", "--help"}, []string{
			"vmt-virtctl template process [name] [flags]", "Examples:", "vmt-virtctl template process fedora",
			"--name string", "-f, --file string", `-o, --output string`, `(default "yaml")`, "-p, --param stringToString",
			"--params-file string", "--local", "--create", "--print-params",
		}},
		{[]string{"template", "convert", "-h"}, []string{
			"vmt-virtctl template convert [name] [flags]", "--name string", "-f, --file string", "-o, --output string",
			"exactly one object",
		}},
		{[]string{"template", "create", "--help"}, []string{
			"vmt-virtctl template create [flags]", "--vm-name string", "--vm-namespace string", "--name string",
			"virtualmachinetemplaterequest.template.kubevirt.io/<request> created",
		}},
		{[]string{"options"}, []string{"--kubeconfig string", "-n, --namespace string", "-s, --server string", "-v, --v Level"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			res := run(t, invocation{}, tc.args...)
			expectSuccess(t, res, "")
			for _, want := range tc.want {
				if !strings.Contains(res.stdout, want) {
					t.Errorf("help lacks %q:\n%s", want, res.stdout)
				}
			}
			if strings.Contains(res.stdout, "{{") {
				t.Errorf("unexpanded template in help:\n%s", res.stdout)
			}
		})
	}
}
