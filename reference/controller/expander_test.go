package controller

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	virtv1 "kubevirt.io/api/core/v1"
)

func TestRESTExpander(t *testing.T) {
	var gotMethod, gotPath string
	var gotBody map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotMethod, gotPath = r.Method, r.URL.Path
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &gotBody)
		if strings.Contains(r.URL.Path, "/namespaces/broken/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			status := apierrors.NewBadRequest("instancetype not found").Status()
			status.Kind, status.APIVersion = "Status", "v1"
			_ = json.NewEncoder(w).Encode(status)
			return
		}
		// virt-api answers with the VM, instance type inlined and the reference gone.
		var vm virtv1.VirtualMachine
		_ = json.Unmarshal(data, &vm)
		vm.Spec.Instancetype = nil
		vm.Spec.Template.Spec.Domain.CPU = &virtv1.CPU{Cores: 2}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&vm)
	}))
	defer srv.Close()

	e, err := NewRESTExpander(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	in := &virtv1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Namespace: "src", Name: "fedora"},
		Spec: virtv1.VirtualMachineSpec{
			Instancetype: &virtv1.InstancetypeMatcher{Name: "u1.small"},
			Template:     &virtv1.VirtualMachineInstanceTemplateSpec{},
		},
	}
	out, err := e.ExpandVirtualMachine(context.Background(), "src", in)
	if err != nil {
		t.Fatal(err)
	}
	if gotMethod != http.MethodPut || gotPath != "/apis/subresources.kubevirt.io/v1/namespaces/src/expand-vm-spec" {
		t.Errorf("request %s %s", gotMethod, gotPath)
	}
	if gotBody["apiVersion"] != "kubevirt.io/v1" || gotBody["kind"] != "VirtualMachine" {
		t.Errorf("body apiVersion/kind = %v/%v", gotBody["apiVersion"], gotBody["kind"])
	}
	if out.Spec.Instancetype != nil || out.Spec.Template.Spec.Domain.CPU.Cores != 2 || out.Kind != "VirtualMachine" {
		t.Errorf("expanded VM %+v", out)
	}
	if in.Kind != "" {
		t.Error("the input was modified")
	}

	_, err = e.ExpandVirtualMachine(context.Background(), "broken", in)
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "instancetype not found") {
		t.Errorf("error = %v, want the API status", err)
	}
}
