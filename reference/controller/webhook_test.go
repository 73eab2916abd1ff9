package controller_test

import (
	"context"
	"encoding/json"
	"path"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/controller"
)

// answer is one write of a template as a client sees it.
type answer struct {
	err      error
	warnings []string
	body     []byte
}

func rawClient() rest.Interface {
	cfg := rest.CopyConfig(admin)
	cfg.APIPath = "/apis"
	cfg.GroupVersion = &v1beta1.GroupVersion
	cfg.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion()
	cfg.WarningHandler = rest.NoWarnings{} // read from each result instead
	c, err := rest.RESTClientFor(cfg)
	if err != nil {
		panic(err) // the admin config is complete; only a broken test setup gets here
	}
	return c
}

func templatesPath(ns, version string) string {
	return path.Join("/apis", core.GroupName, version, "namespaces", ns, core.PluralResourceName)
}

func send(r *rest.Request) answer {
	res := r.SetHeader("Content-Type", "application/json").Do(context.Background())
	a := answer{err: res.Error()}
	a.body, _ = res.Raw()
	for _, w := range res.Warnings() {
		a.warnings = append(a.warnings, w.Text)
	}
	return a
}

// postTemplate creates tpl (its name and namespace set from the arguments) in the given API
// version, optionally as a dry run.
func postTemplate(ns, version string, tpl *v1beta1.VirtualMachineTemplate, dryRun bool) answer {
	tpl = tpl.DeepCopy()
	tpl.Namespace = ns
	tpl.APIVersion, tpl.Kind = core.GroupName+"/"+version, "VirtualMachineTemplate"
	body, err := json.Marshal(tpl)
	if err != nil {
		return answer{err: err}
	}
	r := rawClient().Post().AbsPath(templatesPath(ns, version)).Body(body)
	if dryRun {
		r = r.Param("dryRun", "All")
	}
	return send(r)
}

// putTemplate replaces the template in the given API version.
func putTemplate(ns, version string, tpl *v1beta1.VirtualMachineTemplate) answer {
	tpl = tpl.DeepCopy()
	tpl.APIVersion, tpl.Kind = core.GroupName+"/"+version, "VirtualMachineTemplate"
	body, err := json.Marshal(tpl)
	if err != nil {
		return answer{err: err}
	}
	return send(rawClient().Put().AbsPath(templatesPath(ns, version), tpl.Name).Body(body))
}

// vmTemplate is a template of vm (JSON object) with the given parameters.
func vmTemplate(name string, vm map[string]any, params ...v1beta1.Parameter) *v1beta1.VirtualMachineTemplate {
	raw, err := json.Marshal(vm)
	if err != nil {
		panic(err) // maps of strings and maps only
	}
	return &v1beta1.VirtualMachineTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1beta1.VirtualMachineTemplateSpec{VirtualMachine: &runtime.RawExtension{Raw: raw}, Parameters: params},
	}
}

func namedVM(extraSpec map[string]any) map[string]any {
	spec := map[string]any{
		"runStrategy": "Halted",
		"template":    map[string]any{"spec": map[string]any{"domain": map[string]any{"devices": map[string]any{}}}},
	}
	for k, v := range extraSpec {
		spec[k] = v
	}
	return map[string]any{"metadata": map[string]any{"name": "${NAME}"}, "spec": spec}
}

// validTemplate renders: NAME has a default.
func validTemplate(name string) *v1beta1.VirtualMachineTemplate {
	return vmTemplate(name, namedVM(nil), v1beta1.Parameter{Name: "NAME", Value: "vm-a"})
}

// undefinedReference uses ${UNDEFINED}, which it does not declare.
func undefinedReference(name string) *v1beta1.VirtualMachineTemplate {
	return vmTemplate(name, namedVM(map[string]any{"runStrategy": "${UNDEFINED}"}), v1beta1.Parameter{Name: "NAME", Value: "vm-a"})
}

// unrenderable has a field KubeVirt does not know; NAME is given by the caller.
func unrenderable(name string, nameParam v1beta1.Parameter) *v1beta1.VirtualMachineTemplate {
	return vmTemplate(name, namedVM(map[string]any{"bogus": "x"}), nameParam)
}

func webhookName(version string) string {
	if version == "v1alpha1" {
		return controller.WebhookNameV1alpha1
	}
	return controller.WebhookNameV1beta1
}

// wantDenied checks a 403 from the webhook of version whose text contains every fragment.
func wantDenied(t *testing.T, a answer, version string, fragments ...string) {
	t.Helper()
	if !apierrors.IsForbidden(a.err) {
		t.Fatalf("want a denial (403), got %v", a.err)
	}
	msg := a.err.Error()
	prefix := `admission webhook "` + webhookName(version) + `" denied the request: `
	if !strings.HasPrefix(msg, prefix) {
		t.Fatalf("denial %q does not start with %q", msg, prefix)
	}
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("denial %q lacks %q", msg, f)
		}
	}
}

func TestWebhook(t *testing.T) {
	needCluster(t)
	registerWebhooks(t)
	ns := newNamespace(t, "vmt-webhook")
	const skipped = `processing validation skipped: required parameter "NAME" has neither value nor generator`

	for _, version := range []string{"v1alpha1", "v1beta1"} {
		t.Run(version, func(t *testing.T) {
			t.Run("undefined reference is denied", func(t *testing.T) {
				a := postTemplate(ns, version, undefinedReference("undefined-"+version), false)
				wantDenied(t, a, version, "spec.virtualMachine", "references undefined parameter UNDEFINED")
			})
			t.Run("unused parameter is admitted with a warning", func(t *testing.T) {
				tpl := validTemplate("unused-" + version)
				tpl.Spec.Parameters = append(tpl.Spec.Parameters, v1beta1.Parameter{Name: "EXTRA", Value: "x"})
				a := postTemplate(ns, version, tpl, false)
				if a.err != nil {
					t.Fatal(a.err)
				}
				if want := "spec.parameters[1].name: EXTRA is defined but never referenced"; !slices.Contains(a.warnings, want) {
					t.Errorf("warnings %q lack %q", a.warnings, want)
				}
			})
			t.Run("unrenderable VM is denied", func(t *testing.T) {
				a := postTemplate(ns, version, unrenderable("bogus-"+version, v1beta1.Parameter{Name: "NAME", Value: "vm-a"}), false)
				wantDenied(t, a, version, "processing validation failed: spec.virtualMachine", `unknown field "spec.bogus"`)
			})
			t.Run("generated NAME is rendered too", func(t *testing.T) {
				a := postTemplate(ns, version, unrenderable("bogus-gen-"+version,
					v1beta1.Parameter{Name: "NAME", Required: true, Generate: "expression", From: "vm-[a-z]{5}"}), false)
				wantDenied(t, a, version, "processing validation failed: ")
			})
			t.Run("required parameter without value or generator skips rendering", func(t *testing.T) {
				a := postTemplate(ns, version, unrenderable("skipped-"+version, v1beta1.Parameter{Name: "NAME", Required: true}), false)
				if a.err != nil {
					t.Fatal(a.err)
				}
				if !slices.Contains(a.warnings, skipped) {
					t.Errorf("warnings %q lack %q", a.warnings, skipped)
				}
			})
			t.Run("update is validated the same way", func(t *testing.T) {
				name := "update-" + version
				if a := postTemplate(ns, version, validTemplate(name), false); a.err != nil {
					t.Fatal(a.err)
				}
				// The template controller writes status meanwhile: replace the latest version.
				replace := func(with *v1beta1.VirtualMachineTemplate) answer {
					var a answer
					_ = retry.OnError(retry.DefaultRetry, func(error) bool { return apierrors.IsConflict(a.err) }, func() error {
						current := &v1beta1.VirtualMachineTemplate{}
						if err := k8s.Get(context.Background(), keyOf(ns, name), current); err != nil {
							a = answer{err: err}
							return err
						}
						next := with.DeepCopy()
						next.ObjectMeta = current.ObjectMeta
						a = putTemplate(ns, version, next)
						return a.err
					})
					return a
				}
				wantDenied(t, replace(undefinedReference(name)), version, "references undefined parameter UNDEFINED")

				a := replace(unrenderable(name, v1beta1.Parameter{Name: "NAME", Required: true}))
				if a.err != nil {
					t.Fatal(a.err)
				}
				if !slices.Contains(a.warnings, skipped) {
					t.Errorf("update warnings %q lack %q", a.warnings, skipped)
				}
			})
		})
	}
}
