package local_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/vmt-conformance/vmt-conformance/fixtures/crds"
	cluster "github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/apiserver/local"
	"github.com/vmt-conformance/vmt-conformance/reference/config/crd"
)

// A server playing v0.1.8, through a real aggregator on a control plane with v0.1.8's CRDs:
// subresources.template.kubevirt.io serves v1alpha1 only (one APIService; v1beta1 is 404),
// /apis/<group>/v1alpha1 lists process and create, and /process answers in v1alpha1 from a
// template.kubevirt.io/v1alpha1 template (ServesV1beta1, SubresourceDiscovery).
func TestServesV018ThroughTheAggregator(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local control plane; run without -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	v018 := release.MustParse("v0.1.8")
	defs, err := crd.CustomResourceDefinitionsFor(v018)
	if err != nil {
		t.Fatal(err)
	}
	kubevirt, err := crds.Load(crds.KubeVirt)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := cluster.Start(ctx, cluster.Options{CRDs: append(defs, kubevirt...), StartTimeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			t.Error(err)
		}
	}()
	admin := cp.RESTConfig()
	stop, err := local.StartWithOptions(ctx, admin, local.Options{FrontProxyCA: cp.FrontProxyCA, Dir: cp.Dir(), Release: &v018})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	kube := kubernetes.NewForConfigOrDie(admin)
	dyn := dynamic.NewForConfigOrDie(admin)
	raw := kube.CoreV1().RESTClient()

	t.Run("APIServices", func(t *testing.T) {
		apiservices := dyn.Resource(schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"})
		if _, err := apiservices.Get(ctx, "v1alpha1.subresources.template.kubevirt.io", metav1.GetOptions{}); err != nil {
			t.Error(err)
		}
		if _, err := apiservices.Get(ctx, "v1beta1.subresources.template.kubevirt.io", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("v1beta1 APIService: %v, want NotFound", err)
		}
	})

	t.Run("discovery", func(t *testing.T) {
		groups, err := kube.Discovery().ServerGroups()
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups.Groups {
			if g.Name != "subresources.template.kubevirt.io" && g.Name != "template.kubevirt.io" {
				continue
			}
			if len(g.Versions) != 1 || g.Versions[0].Version != "v1alpha1" {
				t.Errorf("group %s versions %+v, want v1alpha1 only", g.Name, g.Versions)
			}
		}
		body, err := raw.Get().AbsPath("/apis/subresources.template.kubevirt.io/v1alpha1").DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
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
			t.Errorf("v1alpha1 resources %v", names)
		}
		err = raw.Get().AbsPath("/apis/subresources.template.kubevirt.io/v1beta1").Do(ctx).Error()
		if !apierrors.IsNotFound(err) {
			t.Errorf("GET v1beta1: %v, want 404", err)
		}
	})

	t.Run("process", func(t *testing.T) {
		tpl := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "template.kubevirt.io/v1alpha1", "kind": "VirtualMachineTemplate",
			"metadata": map[string]any{"name": "fedora", "namespace": "default"},
			"spec": map[string]any{
				"parameters": []any{map[string]any{"name": "NAME", "required": true}},
				"virtualMachine": map[string]any{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
					"metadata": map[string]any{"name": "${NAME}"}, "spec": map[string]any{"runStrategy": "Halted"}},
			},
		}}
		templates := dyn.Resource(schema.GroupVersionResource{Group: "template.kubevirt.io", Version: "v1alpha1", Resource: "virtualmachinetemplates"})
		if _, err := templates.Namespace("default").Create(ctx, tpl, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		path := func(version string) string {
			return "/apis/subresources.template.kubevirt.io/" + version + "/namespaces/default/virtualmachinetemplates/fedora/process"
		}
		body, err := raw.Post().AbsPath(path("v1alpha1")).SetHeader("Content-Type", "application/json").
			Body([]byte(`{"parameters":{"NAME":"vm-a"}}`)).DoRaw(ctx)
		if err != nil {
			t.Fatalf("v1alpha1 process: %v: %s", err, body)
		}
		var answer struct {
			APIVersion     string `json:"apiVersion"`
			VirtualMachine struct {
				Metadata struct{ Name string } `json:"metadata"`
			} `json:"virtualMachine"`
		}
		if err := json.Unmarshal(body, &answer); err != nil {
			t.Fatal(err)
		}
		if answer.APIVersion != "subresources.template.kubevirt.io/v1alpha1" || answer.VirtualMachine.Metadata.Name != "vm-a" {
			t.Errorf("answer %s", body)
		}
		err = raw.Post().AbsPath(path("v1beta1")).SetHeader("Content-Type", "application/json").
			Body([]byte(`{"parameters":{"NAME":"vm-a"}}`)).Do(ctx).Error()
		if status, ok := err.(apierrors.APIStatus); !ok || status.Status().Code != http.StatusNotFound {
			t.Errorf("v1beta1 process: %v, want 404", err)
		}
	})
}
