package apiserver

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	kubevirtv1 "kubevirt.io/api/core/v1"

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

// With the create-drops-metadata fault /create creates the VM without the labels and
// annotations /process renders; /process is unchanged.
func TestFaultCreateDropsMetadata(t *testing.T) {
	tpl := template()
	tpl.Spec.VirtualMachine.Raw = []byte(`{"metadata":{"name":"${NAME}","labels":{"app":"a"},"annotations":{"owner":"o"}},"spec":{"runStrategy":"Halted","template":{"spec":{"domain":{}}}}}`)
	serve := func(h *handler, sub string) *kubevirtv1.VirtualMachine {
		t.Helper()
		route := h.storage(v1beta1Version)[core.PluralResourceName+"/"+sub].(*subresourceREST)
		out, err := route.serve(context.Background(), strings.NewReader(`{"parameters":{"NAME":"a"}}`), "ns", "t")
		if err != nil {
			t.Fatal(err)
		}
		return out.VirtualMachine
	}
	vms := &fakeVMs{}
	h := &handler{templates: &fakeTemplates{tpl: tpl}, vms: vms}
	if vm := serve(h, core.CreateSubresource); vm.Labels["app"] != "a" || vm.Annotations["owner"] != "o" {
		t.Fatalf("without the fault /create made %v %v", vm.Labels, vm.Annotations)
	}
	h.faultCreateDropsMetadata = true
	if vm := serve(h, core.CreateSubresource); len(vm.Labels)+len(vm.Annotations) != 0 || len(vms.created[1].Labels) != 0 {
		t.Errorf("with the fault /create kept %v %v", vm.Labels, vm.Annotations)
	}
	if vm := serve(h, core.ProcessSubresource); vm.Labels["app"] != "a" || vm.Annotations["owner"] != "o" {
		t.Errorf("with the fault /process changed: %v %v", vm.Labels, vm.Annotations)
	}
}

// With the v1alpha1-drops-message fault the v1alpha1 answers lack the message; v1beta1's
// keep it.
func TestFaultV1alpha1DropsMessage(t *testing.T) {
	h := &handler{templates: &fakeTemplates{tpl: template()}, vms: &fakeVMs{}, faultV1alpha1DropsMessage: true}
	for _, tc := range []struct {
		v    version
		want string
	}{{v1beta1Version, "made a"}, {v1alpha1Version, ""}} {
		for _, sub := range []string{core.ProcessSubresource, core.CreateSubresource} {
			route := h.storage(tc.v)[core.PluralResourceName+"/"+sub].(*subresourceREST)
			out, err := route.serve(context.Background(), strings.NewReader(`{"parameters":{"NAME":"a"}}`), "ns", "t")
			if err != nil {
				t.Fatalf("%s /%s: %v", tc.v.name, sub, err)
			}
			if out.Message != tc.want || out.VirtualMachine.Name != "a" {
				t.Errorf("%s /%s: message %q, VM %q; want message %q, VM a", tc.v.name, sub, out.Message, out.VirtualMachine.Name, tc.want)
			}
		}
	}
}
