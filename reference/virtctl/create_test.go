package virtctl

import (
	"net/http"
	"reflect"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// requestBody checks the VirtualMachineTemplateRequest create sends: v1beta1, generateName
// "<vm>-" in the request namespace, the VM reference and the template name (absent when
// empty), nothing else.
func requestBody(namespace, vmNamespace, vmName, templateName string) func(*testing.T, map[string]any) {
	return func(t *testing.T, body map[string]any) {
		t.Helper()
		hasKeys(t, body, "apiVersion", "kind", "metadata", "spec")
		if body["apiVersion"] != "template.kubevirt.io/v1beta1" || body["kind"] != "VirtualMachineTemplateRequest" {
			t.Errorf("type %v %v", body["apiVersion"], body["kind"])
		}
		wantMeta := map[string]any{"generateName": vmName + "-", "namespace": namespace}
		if !reflect.DeepEqual(body["metadata"], wantMeta) {
			t.Errorf("metadata %v, want %v", body["metadata"], wantMeta)
		}
		wantSpec := map[string]any{"virtualMachineRef": map[string]any{"namespace": vmNamespace, "name": vmName}}
		if templateName != "" {
			wantSpec["templateName"] = templateName
		}
		if !reflect.DeepEqual(body["spec"], wantSpec) {
			t.Errorf("spec %v, want %v", body["spec"], wantSpec)
		}
	}
}

// createdRequest is the server's answer: the request with its generated name.
func createdRequest(namespace, name string) *v1beta1.VirtualMachineTemplateRequest {
	return &v1beta1.VirtualMachineTemplateRequest{
		TypeMeta:   metav1.TypeMeta{APIVersion: "template.kubevirt.io/v1beta1", Kind: "VirtualMachineTemplateRequest"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: "1234"},
	}
}

// TestCreate: create POSTs one VirtualMachineTemplateRequest and prints its generated name
// (VMT-008 step 1).
func TestCreate(t *testing.T) {
	cases := []struct {
		name string
		args []string
		path string
		body func(*testing.T, map[string]any)
	}{
		{
			name: "vm in the current namespace, template named after the request",
			args: []string{"--vm-name", "golden"},
			path: "/apis/template.kubevirt.io/v1beta1/namespaces/tpl/virtualmachinetemplaterequests",
			body: requestBody("tpl", "tpl", "golden", ""),
		},
		{
			name: "vm in another namespace, named template, -n",
			args: []string{"--vm-name", "golden", "--vm-namespace", "images", "--name", "fedora", "-n", "shared"},
			path: "/apis/template.kubevirt.io/v1beta1/namespaces/shared/virtualmachinetemplaterequests",
			body: requestBody("shared", "images", "golden", "fedora"),
		},
		{
			name: "vm-namespace follows -n",
			args: []string{"-n", "shared", "--vm-name", "golden"},
			path: "/apis/template.kubevirt.io/v1beta1/namespaces/shared/virtualmachinetemplaterequests",
			body: requestBody("shared", "shared", "golden", ""),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t, exchange{
				method: http.MethodPost, path: tc.path, checkBody: tc.body,
				status: http.StatusCreated, response: createdRequest("tpl", "golden-x7k2p"),
			})
			res := run(t, invocation{rest: api}, append([]string{"template", "create"}, tc.args...)...)
			expectSuccess(t, res, "")
			if want := "virtualmachinetemplaterequest.template.kubevirt.io/golden-x7k2p created\n"; res.stdout != want {
				t.Errorf("stdout %q, want %q", res.stdout, want)
			}
		})
	}
}

// TestCreateRefusedByServer: an admission denial (the VAP of upstream answers 403) is one
// line with the server's message.
func TestCreateRefusedByServer(t *testing.T) {
	denied := apierrors.NewForbidden(schema.GroupResource{Group: "template.kubevirt.io", Resource: "virtualmachinetemplaterequests"}, "",
		errorString(`ValidatingAdmissionPolicy 'virt-template-vmtr-authz' with binding 'virt-template-vmtr-authz' denied request: User is not allowed to use VirtualMachine images/golden as a source for VirtualMachineTemplateRequests`))
	api := newFakeAPI(t, exchange{
		method: http.MethodPost, path: "/apis/template.kubevirt.io/v1beta1/namespaces/tpl/virtualmachinetemplaterequests",
		checkBody: requestBody("tpl", "images", "golden", ""), status: http.StatusForbidden, response: denied,
	})
	res := run(t, invocation{rest: api}, "template", "create", "--vm-name", "golden", "--vm-namespace", "images")
	expectFailure(t, res, `error creating VirtualMachineTemplateRequest: virtualmachinetemplaterequests.template.kubevirt.io is forbidden: ValidatingAdmissionPolicy 'virt-template-vmtr-authz'`)
}
