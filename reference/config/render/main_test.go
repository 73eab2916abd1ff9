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
		"kind: Namespace\nmetadata:\n  annotations:\n    template.kubevirt.io/virt-template-version: v0.2.2\n  labels:\n    app.kubernetes.io/managed-by: vmt-conformance\n    app.kubernetes.io/name: virt-template\n  name: vmt-kind\n",
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
		{[]string{"--emulate-release=v1"}, `invalid value "v1" for flag -emulate-release: release: "v1" is not a version`},
		{[]string{"--emulate-release=v0.1.6"}, "the oldest release the reference implementation plays is v0.1.7"},
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

// --emulate-release picks the release; "" is the newest behaviour.
func TestRenderRelease(t *testing.T) {
	for _, tc := range []struct {
		arg, annotation string
		apiservices     int
	}{
		{"--emulate-release=v0.1.8", "v0.1.8", 1},
		{"--emulate-release=0.2.2", "v0.2.2", 2},
		{"--emulate-release=", "unknown", 2},
	} {
		var out bytes.Buffer
		if err := run([]string{tc.arg}, &out); err != nil {
			t.Fatalf("%s: %v", tc.arg, err)
		}
		text := out.String()
		if !strings.Contains(text, "template.kubevirt.io/virt-template-version: "+tc.annotation+"\n") ||
			strings.Count(text, "kind: APIService\n") != tc.apiservices {
			t.Errorf("%s: want annotation %s and %d APIServices", tc.arg, tc.annotation, tc.apiservices)
		}
	}
}
