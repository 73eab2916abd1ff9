package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/discovery"
	genericapiserver "k8s.io/apiserver/pkg/server"
)

// hideParentFromDiscovery replaces the APIResourceList of gv (GET /apis/<group>/<version>)
// with one that leaves out the verb-less parent resource, so clients see only
// "<parent>/process" and "<parent>/create", as upstream's filter does. The list is static:
// it is read once from the handler k8s.io/apiserver installed, filtered, and served by a new
// handler in its place.
func hideParentFromDiscovery(s *genericapiserver.GenericAPIServer, gv schema.GroupVersion, parent string) error {
	container := s.Handler.GoRestfulContainer
	root := path.Join(genericapiserver.APIGroupPrefix, gv.Group, gv.Version)

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, root, nil)
	req.Header.Set("Accept", "application/json")
	container.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("reading the resources of %s: HTTP %d: %s", gv, rec.Code, rec.Body.String())
	}
	var installed metav1.APIResourceList
	if err := json.Unmarshal(rec.Body.Bytes(), &installed); err != nil {
		return fmt.Errorf("decoding the resources of %s: %w", gv, err)
	}
	visible := make([]metav1.APIResource, 0, len(installed.APIResources))
	for _, r := range installed.APIResources {
		if r.Name != parent {
			visible = append(visible, r)
		}
	}

	for _, ws := range container.RegisteredWebServices() {
		if ws.RootPath() != root {
			continue
		}
		for _, route := range ws.Routes() {
			if route.Method != http.MethodGet || route.Operation != "getAPIResources" {
				continue
			}
			ws.SetDynamicRoutes(true)
			if err := ws.RemoveRoute(route.Path, http.MethodGet); err != nil {
				return fmt.Errorf("removing the discovery route of %s: %w", gv, err)
			}
			lister := discovery.APIResourceListerFunc(func() []metav1.APIResource { return visible })
			discovery.NewAPIVersionHandler(Codecs, gv, lister).AddToWebService(ws)
			return nil
		}
	}
	return fmt.Errorf("no discovery route for %s", gv)
}
