package apiserver

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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

// With the never-answer fault /process and /create read the request and the template and
// hold the request until its context ends: no answer before, a timeout error (nobody reads)
// after, and no VM created. A body that does not parse and a missing template are still
// answered at once (the simulator's readiness probe relies on the latter).
func TestFaultNeverAnswerHoldsUntilTheRequestEnds(t *testing.T) {
	for _, sub := range []string{core.ProcessSubresource, core.CreateSubresource} {
		t.Run(sub, func(t *testing.T) {
			templates, vms := &fakeTemplates{tpl: template()}, &fakeVMs{}
			h := &handler{templates: templates, vms: vms, faultNeverAnswer: true}
			route, ok := h.storage(v1beta1Version)[core.PluralResourceName+"/"+sub].(*subresourceREST)
			if !ok {
				t.Fatalf("no /%s route", sub)
			}
			if _, err := route.serve(context.Background(), strings.NewReader(`{`), "ns", "t"); code(err) != 400 {
				t.Errorf("a body that does not parse: %v, want 400 at once", err)
			}
			missing := &handler{templates: &fakeTemplates{err: errors.New(`"t" not found`)}, vms: vms, faultNeverAnswer: true}
			missingRoute := missing.storage(v1beta1Version)[core.PluralResourceName+"/"+sub].(*subresourceREST)
			if _, err := missingRoute.serve(context.Background(), strings.NewReader(`{}`), "ns", "t"); code(err) != 500 {
				t.Errorf("a missing template: %v, want 500 at once", err)
			}

			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := route.serve(ctx, strings.NewReader(`{"parameters":{"NAME":"a"}}`), "ns", "t")
				done <- err
			}()
			held := time.NewTimer(200 * time.Millisecond)
			defer held.Stop()
			select {
			case err := <-done:
				t.Fatalf("/%s answered (%v) before its request ended", sub, err)
			case <-held.C:
			}
			cancel()
			select {
			case err := <-done:
				if code(err) != 504 {
					t.Errorf("after the request ended: %v, want a 504 timeout error", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("/%s still held 5s after its request ended", sub)
			}
			if templates.calls != 1 || len(vms.created) != 0 {
				t.Errorf("the fault read the template %d times and created %d VMs, want once and none", templates.calls, len(vms.created))
			}
		})
	}
}
