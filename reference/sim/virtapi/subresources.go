package virtapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/reference/sim/internal/instancetype"
	"github.com/vmt-conformance/vmt-conformance/reference/sim/kit"
)

// subresources reads through the API server, as virt-api does with its clientset (no cache lag).
type subresources struct{ c client.Reader }

const prefix = "/apis/" + group + "/" + version

func (s *subresources) routes(srv *kit.Server) {
	srv.Mux.HandleFunc("GET /apis/"+group, func(w http.ResponseWriter, _ *http.Request) {
		gv := metav1.GroupVersionForDiscovery{GroupVersion: group + "/" + version, Version: version}
		writeJSON(w, http.StatusOK, &metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"},
			Name: group, Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv})
	})
	srv.Mux.HandleFunc("GET "+prefix, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: group + "/" + version,
			APIResources: []metav1.APIResource{
				{Name: "expand-vm-spec", Namespaced: true},
				{Name: "virtualmachines/expand-spec", Namespaced: true},
			}})
	})
	srv.Mux.HandleFunc("PUT "+prefix+"/namespaces/{namespace}/expand-vm-spec", authenticated(s.expandVMSpec))
	srv.Mux.HandleFunc("GET "+prefix+"/namespaces/{namespace}/virtualmachines/{name}/expand-spec", authenticated(s.expandSpec))
	srv.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
}

// authenticated admits only requests kube-apiserver proxied: a verified front-proxy client
// certificate and a user header.
func authenticated(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || r.Header.Get("X-Remote-User") == "" {
			writeStatus(w, apierrors.NewUnauthorized("Unauthorized"))
			return
		}
		next(w, r)
	}
}

// expandVMSpec is PUT .../namespaces/{ns}/expand-vm-spec with a VirtualMachine body, with
// virt-api's messages (pkg/virt-api/rest/expand.go).
func (s *subresources) expandVMSpec(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil || len(body) == 0 {
		writeStatus(w, apierrors.NewBadRequest("empty request body"))
		return
	}
	vm := &kubevirtv1.VirtualMachine{}
	if err := json.Unmarshal(body, vm); err != nil {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("Can not unmarshal Request body to struct, error: %s", err)))
		return
	}
	ns := r.PathValue("namespace")
	if vm.Namespace != "" && vm.Namespace != ns {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("VM namespace must be empty or %s", ns)))
		return
	}
	vm.Namespace = ns
	expanded, err := instancetype.Expand(r.Context(), s.c, vm)
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, withKind(expanded))
}

// expandSpec is GET .../virtualmachines/{name}/expand-spec of a stored VM.
func (s *subresources) expandSpec(w http.ResponseWriter, r *http.Request) {
	vm := &kubevirtv1.VirtualMachine{}
	name := r.PathValue("name")
	if err := s.c.Get(r.Context(), client.ObjectKey{Namespace: r.PathValue("namespace"), Name: name}, vm); err != nil {
		if apierrors.IsNotFound(err) {
			writeStatus(w, apierrors.NewNotFound(kubevirtv1.Resource("virtualmachine"), name))
			return
		}
		writeStatus(w, apierrors.NewInternalError(fmt.Errorf("unable to retrieve vm [%s]: %v", name, err)))
		return
	}
	expanded, err := instancetype.Expand(r.Context(), s.c, vm)
	if err != nil {
		writeStatus(w, apierrors.NewInternalError(err))
		return
	}
	writeJSON(w, http.StatusOK, withKind(expanded))
}

func withKind(vm *kubevirtv1.VirtualMachine) *kubevirtv1.VirtualMachine {
	vm = vm.DeepCopy()
	vm.APIVersion, vm.Kind = kubevirtv1.GroupVersion.String(), "VirtualMachine"
	return vm
}

func writeStatus(w http.ResponseWriter, err *apierrors.StatusError) {
	st := err.ErrStatus
	st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	writeJSON(w, int(st.Code), &st)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
