package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vmt-conformance/vmt-conformance/reference/config"
)

func TestRenderDefaultsAreObjectsDefaults(t *testing.T) {
	var out bytes.Buffer
	if err := run(nil, &out); err != nil {
		t.Fatal(err)
	}
	objs, err := config.Objects(config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := config.YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Error("render without flags differs from config.Objects(config.Options{})")
	}
}

func TestRenderFlags(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"--namespace", "vmt-kind", "--controller-image", "kind.local/c:1", "--apiserver-image", "kind.local/a:1",
		"--create-namespace", "--self-signed"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"kind: Namespace\nmetadata:\n  annotations:\n    template.kubevirt.io/virt-template-version: " + config.CompatibleVersion + "\n  labels:\n    app.kubernetes.io/managed-by: vmt-conformance\n    app.kubernetes.io/name: virt-template\n  name: vmt-kind\n",
		"image: kind.local/c:1\n", "image: kind.local/a:1\n",
		"name: " + config.APIServerCertSecret + "\n  namespace: vmt-kind\n",
		"caBundle: ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestRenderRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--namespace", "Bad_NS"}, `namespace "Bad_NS"`},
		{[]string{"--ca-bundle", "x.pem", "--self-signed"}, "exclude each other"},
		{[]string{"--ca-bundle", "/nonexistent/ca.pem"}, "no such file"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		var out bytes.Buffer
		if err := run(tc.args, &out); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
		if out.Len() > 0 {
			t.Errorf("%v: printed manifests despite the error", tc.args)
		}
	}
}
