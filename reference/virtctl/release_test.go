package virtctl

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// KubeVirt v1.8's virtctl speaks v1alpha1 everywhere (kubevirt/kubevirt
// pkg/virtctl/template@v1.8.0); the paths and bodies below are what it sends.
const (
	alphaProcessPath = "/apis/subresources.template.kubevirt.io/v1alpha1/namespaces/tpl/virtualmachinetemplates/fedora/process"
	alphaCreatePath  = "/apis/subresources.template.kubevirt.io/v1alpha1/namespaces/tpl/virtualmachinetemplates/fedora/create"
	alphaVMTPath     = "/apis/template.kubevirt.io/v1alpha1/namespaces/tpl/virtualmachinetemplates/fedora"
	alphaVMTRPath    = "/apis/template.kubevirt.io/v1alpha1/namespaces/tpl/virtualmachinetemplaterequests"
)

// v18 is the hidden flag that plays KubeVirt v1.8.4's virtctl.
const v18 = "--kubevirt-version=v1.8.4"

// asV1alpha1 rewrites the apiVersion of a JSON object the fake server sends, as a v1alpha1
// server would answer.
func asV1alpha1(t *testing.T, obj any) json.RawMessage {
	t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["apiVersion"] = strings.Replace(m["apiVersion"].(string), "v1beta1", "v1alpha1", 1)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// alphaBody checks that a body is apiVersion want's v1alpha1 twin, then runs check.
func alphaBody(want string, check func(*testing.T, map[string]any)) func(*testing.T, map[string]any) {
	return func(t *testing.T, body map[string]any) {
		t.Helper()
		if body["apiVersion"] != want {
			t.Errorf("body apiVersion %v, want %s", body["apiVersion"], want)
		}
		// The v1beta1 checkers below look at everything else.
		body["apiVersion"] = strings.Replace(want, "v1alpha1", "v1beta1", 1)
		check(t, body)
	}
}

func TestAPIVersionsFor(t *testing.T) {
	for _, tc := range []struct {
		kubevirt string
		alpha    bool
		err      string
	}{
		{"", false, ""},
		{"v1.9.0", false, ""},
		{"1.9", false, ""},
		{"v1.9.0-rc.0", false, ""},
		{"v1.10.1", false, ""},
		{"v1.8.4", true, ""},
		{"v1.8", true, ""},
		{"v1.8.0-rc.0", true, ""},
		{"v1.9.0-beta.0", true, ""},
		{"v1.7.0", false, "virtctl has the template command since v1.8.0-rc.0"},
		{"latest", false, `KubeVirt version "latest" (--kubevirt-version or VMT_VIRTCTL_KUBEVIRT_VERSION): want a version such as v1.8.4`},
	} {
		t.Run(tc.kubevirt, func(t *testing.T) {
			got, err := apiVersionsFor(tc.kubevirt)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.v1alpha1() != tc.alpha {
				t.Fatalf("%+v: v1alpha1 %v, want %v", got, got.v1alpha1(), tc.alpha)
			}
		})
	}
}

// TestKubeVirt18Convert: v1.8's convert prints a template.kubevirt.io/v1alpha1 template,
// otherwise the same as v1.9's.
func TestKubeVirt18Convert(t *testing.T) {
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			res := run(t, invocation{}, "template", "convert", v18, "-f", "testdata/openshift-fedora.yaml", "-o", format)
			expectSuccess(t, res, "")
			want := strings.Replace(readTestdata(t, "golden/converted."+format), "template.kubevirt.io/v1beta1", "template.kubevirt.io/v1alpha1", 1)
			if !strings.Contains(want, "template.kubevirt.io/v1alpha1") {
				t.Fatal("the golden file names no template.kubevirt.io/v1beta1")
			}
			if res.stdout != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", res.stdout, want)
			}
		})
	}
}

// TestKubeVirt18Process: /process and /create go to subresources v1alpha1 with a v1alpha1
// ProcessOptions, --local and --print-params GET the v1alpha1 template; the output is the
// same as v1.9's.
func TestKubeVirt18Process(t *testing.T) {
	t.Run("server side", func(t *testing.T) {
		api := newFakeAPI(t, exchange{
			method: http.MethodPost, path: alphaProcessPath,
			checkBody: alphaBody("subresources.template.kubevirt.io/v1alpha1", parameters(map[string]string{"NAME": "vm-a"})),
			status:    http.StatusOK, response: asV1alpha1(t, processedVMA(t)),
			warnings: []string{"spec.parameters[4].name: UNUSED is defined but never referenced"},
		})
		res := run(t, invocation{rest: api}, "template", "process", v18, "fedora", "-p", "NAME=vm-a")
		expectSuccess(t, res, unusedWarning+fedoraMessage)
		golden(t, "vm-a.yaml", res.stdout)
	})
	t.Run("create", func(t *testing.T) {
		created := processedVMA(t)
		created.VirtualMachine.Namespace = "tpl"
		api := newFakeAPI(t, exchange{
			method: http.MethodPost, path: alphaCreatePath,
			checkBody: alphaBody("subresources.template.kubevirt.io/v1alpha1", parameters(map[string]string{"NAME": "vm-a"})),
			status:    http.StatusOK, response: asV1alpha1(t, created),
		})
		res := run(t, invocation{rest: api}, "template", "process", v18, "fedora", "--create", "-p", "NAME=vm-a")
		expectSuccess(t, res, "")
		if want := "virtualmachine.kubevirt.io/vm-a created\n"; res.stdout != want {
			t.Errorf("stdout %q, want %q", res.stdout, want)
		}
	})
	template := func(t *testing.T) json.RawMessage {
		var obj map[string]any
		if err := json.Unmarshal(testdataJSON(t, "fedora.yaml"), &obj); err != nil {
			t.Fatal(err)
		}
		return asV1alpha1(t, obj)
	}
	t.Run("local", func(t *testing.T) {
		api := newFakeAPI(t, exchange{method: http.MethodGet, path: alphaVMTPath, status: http.StatusOK, response: template(t)})
		res := run(t, invocation{rest: api}, "template", "process", v18, "fedora", "--local", "-p", "NAME=vm-a")
		expectSuccess(t, res, unusedWarning+fedoraMessage)
		golden(t, "vm-a.yaml", res.stdout)
	})
	t.Run("print params", func(t *testing.T) {
		api := newFakeAPI(t, exchange{method: http.MethodGet, path: alphaVMTPath, status: http.StatusOK, response: template(t)})
		res := run(t, invocation{rest: api}, "template", "process", v18, "fedora", "--print-params")
		expectSuccess(t, res, "")
		golden(t, "params.yaml", res.stdout)
	})
}

// TestKubeVirt18Create: the VirtualMachineTemplateRequest is a v1alpha1 one, the printed
// line the same as v1.9's.
func TestKubeVirt18Create(t *testing.T) {
	api := newFakeAPI(t, exchange{
		method: http.MethodPost, path: alphaVMTRPath,
		checkBody: alphaBody("template.kubevirt.io/v1alpha1", requestBody("tpl", "images", "golden", "fedora")),
		status:    http.StatusCreated, response: asV1alpha1(t, createdRequest("tpl", "golden-x7k2p")),
	})
	res := run(t, invocation{rest: api}, "template", "create", v18, "--vm-name", "golden", "--vm-namespace", "images", "--name", "fedora")
	expectSuccess(t, res, "")
	if want := "virtualmachinetemplaterequest.template.kubevirt.io/golden-x7k2p created\n"; res.stdout != want {
		t.Errorf("stdout %q, want %q", res.stdout, want)
	}
}

// TestKubeVirtVersionFromConfig: Config.KubeVirtVersion (what cmd/vmt-virtctl fills from
// VMT_VIRTCTL_KUBEVIRT_VERSION) selects the generation; the flag overrides it; a bad value
// is one line on stderr.
func TestKubeVirtVersionFromConfig(t *testing.T) {
	convert := func(kubevirt string, args ...string) result {
		var stdout, stderr bytes.Buffer
		code := Execute(context.Background(), Config{Out: &stdout, ErrOut: &stderr, RESTConfig: deadCluster, KubeVirtVersion: kubevirt},
			append([]string{"template", "convert", "-f", "testdata/openshift-fedora.yaml"}, args...))
		return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	}
	apiVersion := func(t *testing.T, res result) string {
		t.Helper()
		expectSuccess(t, res, "")
		var obj struct{ APIVersion string }
		if err := yaml.Unmarshal([]byte(res.stdout), &obj); err != nil {
			t.Fatal(err)
		}
		return obj.APIVersion
	}
	if got := apiVersion(t, convert("v1.8.4")); got != "template.kubevirt.io/v1alpha1" {
		t.Errorf("Config v1.8.4: apiVersion %s", got)
	}
	if got := apiVersion(t, convert("")); got != "template.kubevirt.io/v1beta1" {
		t.Errorf("default: apiVersion %s", got)
	}
	if got := apiVersion(t, convert("v1.8.4", "--kubevirt-version=v1.9.0")); got != "template.kubevirt.io/v1beta1" {
		t.Errorf("flag over Config: apiVersion %s", got)
	}
	expectFailure(t, convert("v1.7.9"), `KubeVirt version "v1.7.9" (--kubevirt-version or VMT_VIRTCTL_KUBEVIRT_VERSION): virtctl has the template command since v1.8.0-rc.0`)
}

// TestKubeVirtVersionFlagIsHidden: the flag is not in `options`, which lists the global
// flags a real virtctl has.
func TestKubeVirtVersionFlagIsHidden(t *testing.T) {
	res := run(t, invocation{}, "options")
	expectSuccess(t, res, "")
	if strings.Contains(res.stdout, "kubevirt-version") {
		t.Errorf("options lists the hidden flag:\n%s", res.stdout)
	}
}
