package crd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiwait "k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/config/crd"
)

// liveTimeout bounds the whole test, control-plane start included (CI may be compiling on
// the same two cores).
const liveTimeout = 3 * time.Minute

// The generated CRDs install on a real kube-apiserver and its CEL and OpenAPI rules reject
// what upstream's reject (virt-template.md §5.3), with upstream's messages, in both versions.
func TestRulesOnALiveAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local control plane; run without -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), liveTimeout)
	defer cancel()
	defs, err := crd.CustomResourceDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	cp, err := local.Start(ctx, local.Options{CRDs: defs})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			t.Error(err)
		}
	}()
	dyn, err := dynamic.NewForConfig(cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}

	for _, version := range []string{"v1alpha1", "v1beta1"} {
		requests := dyn.Resource(schema.GroupVersionResource{Group: "template.kubevirt.io", Version: version, Resource: "virtualmachinetemplaterequests"}).Namespace("default")
		templates := dyn.Resource(schema.GroupVersionResource{Group: "template.kubevirt.io", Version: version, Resource: "virtualmachinetemplates"}).Namespace("default")
		request := func(name string, spec map[string]any) *unstructured.Unstructured {
			return &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "template.kubevirt.io/" + version, "kind": "VirtualMachineTemplateRequest",
				"metadata": map[string]any{"name": name}, "spec": spec,
			}}
		}
		template := func(name string, parameters ...any) *unstructured.Unstructured {
			return &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "template.kubevirt.io/" + version, "kind": "VirtualMachineTemplate",
				"metadata": map[string]any{"name": name},
				"spec": map[string]any{
					"parameters":     parameters,
					"virtualMachine": map[string]any{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": map[string]any{"name": "${NAME}"}},
				},
			}}
		}
		source := map[string]any{"namespace": "default", "name": "source-vm"}

		rejected := []struct {
			name    string
			create  func() error
			message string
		}{
			{"reserved templateLabels", func() error {
				_, err := requests.Create(ctx, request("reserved-"+version, map[string]any{"virtualMachineRef": source,
					"templateLabels": map[string]any{"template.kubevirt.io/RequestUID": "x"}}), metav1.CreateOptions{})
				return err
			}, `labels with the prefix "template.kubevirt.io/" are reserved for system use`},
			{"source VM without a name", func() error {
				_, err := requests.Create(ctx, request("noname-"+version, map[string]any{"virtualMachineRef": map[string]any{"namespace": "default"}}), metav1.CreateOptions{})
				return err
			}, "spec.virtualMachineRef.name: Required value"},
			{"source VM without a namespace", func() error {
				_, err := requests.Create(ctx, request("nons-"+version, map[string]any{"virtualMachineRef": map[string]any{"name": "vm"}}), metav1.CreateOptions{})
				return err
			}, "spec.virtualMachineRef.namespace: Required value"},
			{"negative TTL", func() error {
				_, err := requests.Create(ctx, request("ttl-"+version, map[string]any{"virtualMachineRef": source, "ttlSecondsAfterFinished": int64(-1)}), metav1.CreateOptions{})
				return err
			}, "spec.ttlSecondsAfterFinished: Invalid value"},
			{"unknown generator", func() error {
				_, err := templates.Create(ctx, template("gen-"+version, map[string]any{"name": "NAME", "generate": "random"}), metav1.CreateOptions{})
				return err
			}, `spec.parameters[0].generate: Unsupported value: "random"`},
			{"parameter without a name", func() error {
				_, err := templates.Create(ctx, template("pname-"+version, map[string]any{"value": "x"}), metav1.CreateOptions{})
				return err
			}, "spec.parameters[0].name: Required value"},
			{"template without a VM", func() error {
				tpl := template("novm-" + version)
				unstructured.RemoveNestedField(tpl.Object, "spec", "virtualMachine")
				_, err := templates.Create(ctx, tpl, metav1.CreateOptions{})
				return err
			}, "spec.virtualMachine: Required value"},
		}
		for _, tc := range rejected {
			t.Run(version+"/"+tc.name, func(t *testing.T) {
				err := tc.create()
				if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.message) {
					t.Fatalf("want Invalid containing %q, got %v", tc.message, err)
				}
			})
		}

		t.Run(version+"/spec is immutable", func(t *testing.T) {
			created, err := requests.Create(ctx, request("immutable-"+version, map[string]any{"virtualMachineRef": source,
				"templateLabels": map[string]any{"team": "qe"}}), metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("a valid request was refused: %v", err)
			}
			if err := unstructured.SetNestedField(created.Object, "other", "spec", "templateName"); err != nil {
				t.Fatal(err)
			}
			_, err = requests.Update(ctx, created, metav1.UpdateOptions{})
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec is immutable") {
				t.Fatalf("want Invalid containing %q, got %v", "spec is immutable", err)
			}
			// Metadata stays mutable.
			created.SetLabels(map[string]string{"touched": "yes"})
			unstructured.RemoveNestedField(created.Object, "spec", "templateName")
			if _, err := requests.Update(ctx, created, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("a label update was refused: %v", err)
			}
		})
		t.Run(version+"/valid template with a generator", func(t *testing.T) {
			if _, err := templates.Create(ctx, template("valid-"+version, map[string]any{"name": "NAME", "generate": "expression", "from": "vm-[a-z0-9]{5}"}), metav1.CreateOptions{}); err != nil {
				t.Fatalf("a valid template was refused: %v", err)
			}
		})
	}

	// The same cluster, its CRDs replaced by v0.1.8's (CustomResourceDefinitionsFor): v1beta1
	// was never stored, so it may go.
	t.Run("v0.1.8", func(t *testing.T) { liveV018(ctx, t, dyn) })
}

// liveV018: without RequestTemplateLabels and RequestTTL (before v0.2.0) kube-apiserver
// refuses templateLabels and ttlSecondsAfterFinished under fieldValidation=Strict (kubectl's
// default) and prunes them with a warning otherwise, so the reserved-prefix rule never
// fires; without ServesV1beta1 template.kubevirt.io/v1beta1 is not served.
func liveV018(ctx context.Context, t *testing.T, dyn dynamic.Interface) {
	old, err := crd.CustomResourceDefinitionsFor(release.MustParse("v0.1.8"))
	if err != nil {
		t.Fatal(err)
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, def := range old {
		versions, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&def.Spec)
		if err != nil {
			t.Fatal(err)
		}
		current, err := crds.Get(ctx, def.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := unstructured.SetNestedField(current.Object, versions["versions"], "spec", "versions"); err != nil {
			t.Fatal(err)
		}
		if _, err := crds.Update(ctx, current, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("replacing %s with v0.1.8's: %v", def.Name, err)
		}
	}

	requests := dyn.Resource(schema.GroupVersionResource{Group: "template.kubevirt.io", Version: "v1alpha1", Resource: "virtualmachinetemplaterequests"}).Namespace("default")
	request := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "template.kubevirt.io/v1alpha1", "kind": "VirtualMachineTemplateRequest",
			"metadata": map[string]any{"name": name},
			"spec": map[string]any{
				"virtualMachineRef":       map[string]any{"namespace": "default", "name": "source-vm"},
				"templateLabels":          map[string]any{"template.kubevirt.io/RequestUID": "x"},
				"ttlSecondsAfterFinished": int64(-1),
			},
		}}
	}
	// kube-apiserver serves a CRD update asynchronously: wait until Strict refuses.
	var last error
	err = apiwait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, last = requests.Create(ctx, request("strict"), metav1.CreateOptions{FieldValidation: "Strict", DryRun: []string{metav1.DryRunAll}})
		return apierrors.IsBadRequest(last), nil
	})
	if err != nil {
		t.Fatalf("v0.1.8 schema not in force: last create answered %v", last)
	}
	for _, field := range []string{`unknown field "spec.templateLabels"`, `unknown field "spec.ttlSecondsAfterFinished"`} {
		if !strings.Contains(last.Error(), field) {
			t.Errorf("strict create: %v, want %q", last, field)
		}
	}

	created, err := requests.Create(ctx, request("pruned"), metav1.CreateOptions{FieldValidation: "Warn"})
	if err != nil {
		t.Fatalf("without strict validation the request must be admitted (fields pruned, no CEL rule): %v", err)
	}
	spec, _, _ := unstructured.NestedMap(created.Object, "spec")
	if _, ok := spec["templateLabels"]; ok {
		t.Errorf("templateLabels kept: %v", spec)
	}
	if _, ok := spec["ttlSecondsAfterFinished"]; ok {
		t.Errorf("ttlSecondsAfterFinished kept: %v", spec)
	}

	for _, resource := range []string{"virtualmachinetemplaterequests", "virtualmachinetemplates"} {
		err := apiwait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, last = dyn.Resource(schema.GroupVersionResource{Group: "template.kubevirt.io", Version: "v1beta1", Resource: resource}).
				Namespace("default").List(ctx, metav1.ListOptions{})
			return apierrors.IsNotFound(last), nil
		})
		if err != nil {
			t.Errorf("template.kubevirt.io/v1beta1 %s still served: %v", resource, last)
		}
	}
}
