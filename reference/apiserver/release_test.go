package apiserver

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
)

// newReleaseServer builds (does not run) a server playing v; nothing contacts the API server
// the kubeconfig names.
func newReleaseServer(t *testing.T, v release.Version) *Server {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	o := NewOptions()
	o.Kubeconfig = kubeconfig
	o.Release = v
	o.SecureServing.Listener = ln
	o.SecureServing.BindPort = ln.Addr().(*net.TCPAddr).Port
	o.Authentication.SkipInClusterLookup = true
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ServesV1beta1 and SubresourceDiscovery: v0.1.8 serves subresources v1alpha1 only and no
// /apis document of its own; v0.2.2 both versions and /apis. /apis/<group>/<version> lists
// process and create (never the parent) in both.
func TestReleaseDiscovery(t *testing.T) {
	for _, tc := range []struct {
		v        release.Version
		versions []string
		apis     bool
	}{
		{release.MustParse("v0.1.8"), []string{"v1alpha1"}, false},
		{release.MustParse("v0.1.7"), []string{"v1alpha1"}, false},
		{release.MustParse("v0.2.2"), []string{"v1alpha1", "v1beta1"}, true},
		{release.Version{}, []string{"v1alpha1", "v1beta1"}, true},
	} {
		t.Run(tc.v.String(), func(t *testing.T) {
			s := newReleaseServer(t, tc.v)
			get := func(path string) (int, []byte) {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.Header.Set("Accept", "application/json")
				s.generic.Handler.GoRestfulContainer.ServeHTTP(rec, req)
				return rec.Code, rec.Body.Bytes()
			}
			code, body := get("/apis")
			if (code == http.StatusOK) != tc.apis {
				t.Errorf("GET /apis: %d %s, want served=%v", code, body, tc.apis)
			}
			if tc.apis {
				var groups metav1.APIGroupList
				if err := json.Unmarshal(body, &groups); err != nil || len(groups.Groups) != 1 || len(groups.Groups[0].Versions) != len(tc.versions) ||
					groups.Groups[0].PreferredVersion.Version != "v1alpha1" {
					t.Errorf("/apis: %s (%v)", body, err)
				}
			}
			for _, version := range []string{"v1alpha1", "v1beta1"} {
				code, body := get("/apis/subresources.template.kubevirt.io/" + version)
				served := slices.Contains(tc.versions, version)
				if (code == http.StatusOK) != served {
					t.Errorf("GET %s: %d, want served=%v", version, code, served)
					continue
				}
				if !served {
					continue
				}
				var list metav1.APIResourceList
				if err := json.Unmarshal(body, &list); err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, r := range list.APIResources {
					names = append(names, r.Name)
				}
				slices.Sort(names)
				if !slices.Equal(names, []string{"virtualmachinetemplates/create", "virtualmachinetemplates/process"}) {
					t.Errorf("%s resources %v", version, names)
				}
			}
		})
	}
}

// --emulate-release is validated like the other options.
func TestReleaseOption(t *testing.T) {
	o := NewOptions()
	if o.Release.String() != "v0.2.2" {
		t.Errorf("default release %s", o.Release)
	}
	o.Release = release.MustParse("v0.1.0")
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--emulate-release: virt-template v0.1.0 cannot be emulated") {
		t.Errorf("v0.1.0: %v", err)
	}
}
