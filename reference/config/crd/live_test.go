package crd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
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
}
