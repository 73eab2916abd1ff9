package apiserver

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
)

// serveProcess calls /process the way the installed API group does.
func serveProcess(t *testing.T, h *handler, body string) error {
	t.Helper()
	route, ok := h.storage(v1beta1Version)[core.PluralResourceName+"/"+core.ProcessSubresource].(*subresourceREST)
	if !ok {
		t.Fatal("no /process route")
	}
	_, err := route.serve(context.Background(), strings.NewReader(body), "ns", "t")
	return err
}

// /process creates nothing; with the create-without-permission fault it creates the VM with
// the server's identity, and a failed create leaves the answer as it was.
func TestFaultCreateWithoutPermission(t *testing.T) {
	vms := &fakeVMs{}
	h := &handler{templates: &fakeTemplates{tpl: template()}, vms: vms}
	if err := serveProcess(t, h, `{"parameters":{"NAME":"a"}}`); err != nil {
		t.Fatal(err)
	}
	if len(vms.created) != 0 {
		t.Fatalf("/process created %d VMs without the fault", len(vms.created))
	}

	h.faultCreateOnProcess = true
	if err := serveProcess(t, h, `{"parameters":{"NAME":"a"}}`); err != nil {
		t.Fatal(err)
	}
	if len(vms.created) != 1 || vms.created[0].Name != "a" || vms.created[0].Namespace != "ns" {
		t.Fatalf("with the fault /process created %v, want VM ns/a", vms.created)
	}
	vms.err = errors.New("already exists")
	if err := serveProcess(t, h, `{"parameters":{"NAME":"a"}}`); err != nil {
		t.Errorf("with the fault a failed create changed the /process answer: %v", err)
	}
	if err := serveProcess(t, h, `{}`); code(err) != 422 {
		t.Errorf("with the fault a processing error must stay 422, got %v", err)
	}
}

// The ignore-parameter-defaults fault reaches the engine through the handler's processor.
func TestFaultIgnoreParameterDefaultsReachesTheEngine(t *testing.T) {
	tpl := template()
	tpl.Spec.Parameters[0].Value = "default-name"
	h := &handler{templates: &fakeTemplates{tpl: tpl}, vms: &fakeVMs{}}
	out, err := h.process(context.Background(), strings.NewReader(`{}`), "ns", "t")
	if err != nil || out.VirtualMachine.Name != "default-name" {
		t.Fatalf("without the fault: %v, %+v", err, out)
	}
	h.processor.FaultIgnoreParameterDefaults = true
	if _, err := h.process(context.Background(), strings.NewReader(`{}`), "ns", "t"); code(err) != 422 {
		t.Errorf("with the fault the required NAME with only a default must be missing (422), got %v", err)
	}
}
