package apiserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	clientrest "k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// Templates are read from kube-apiserver's watch cache; one the cache does not have yet (just
// created) is read again from etcd, so it is found as upstream's live read finds it.
func TestTemplateReadFallsBackToALiveReadOnNotFound(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	cached := map[string]bool{"in-cache": true}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Path[len("/apis/template.kubevirt.io/v1beta1/namespaces/ns/virtualmachinetemplates/"):]
		rv := r.URL.Query().Get("resourceVersion")
		mu.Lock()
		seen = append(seen, name+"@"+rv)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if (rv == "0" && !cached[name]) || name == "missing" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"virtualmachinetemplates.template.kubevirt.io \"` + name + `\" not found"}`))
			return
		}
		_, _ = w.Write([]byte(`{"apiVersion":"template.kubevirt.io/v1beta1","kind":"VirtualMachineTemplate","metadata":{"name":"` + name + `","namespace":"ns","resourceVersion":"7"}}`))
	}))
	defer srv.Close()
	c, err := newTemplateClient(&clientrest.Config{Host: srv.URL}, v1beta1.GroupVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, wantCalls string
		found           bool
	}{
		{"in-cache", "in-cache@0", true},
		{"just-created", "just-created@0 just-created@", true},
		{"missing", "missing@0 missing@", false},
	} {
		seen = nil
		tpl, err := c.Get(context.Background(), "ns", tc.name)
		if tc.found != (err == nil) || (tc.found && tpl.Name != tc.name) {
			t.Errorf("%s: got %v, %v", tc.name, tpl, err)
		}
		if got := strings.Join(seen, " "); got != tc.wantCalls {
			t.Errorf("%s: reads %q, want %q", tc.name, got, tc.wantCalls)
		}
	}
}
