package apiserver

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/warning"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// These tests pin the order of upstream's checks without a cluster; the status codes and
// messages as clients see them are tested through kube-apiserver in apiserver_test.go.

type fakeTemplates struct {
	tpl   *v1beta1.VirtualMachineTemplate
	err   error
	calls int
}

func (f *fakeTemplates) Get(context.Context, string, string) (*v1beta1.VirtualMachineTemplate, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return f.tpl.DeepCopy(), nil
}

type fakeVMs struct {
	err     error
	created []*kubevirtv1.VirtualMachine
}

func (f *fakeVMs) Create(_ context.Context, ns string, vm *kubevirtv1.VirtualMachine) (*kubevirtv1.VirtualMachine, error) {
	if f.err != nil {
		return nil, f.err
	}
	out := vm.DeepCopy()
	out.Namespace, out.UID = ns, "uid-1"
	f.created = append(f.created, out)
	return out, nil
}

type warnings []string

func (w *warnings) AddWarning(_, text string) { *w = append(*w, text) }

func template() *v1beta1.VirtualMachineTemplate {
	return &v1beta1.VirtualMachineTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ns"},
		Spec: v1beta1.VirtualMachineTemplateSpec{
			VirtualMachine: &runtime.RawExtension{Raw: []byte(`{"metadata":{"name":"${NAME}"},"spec":{"runStrategy":"Halted","template":{"spec":{"domain":{}}}}}`)},
			Parameters:     []v1beta1.Parameter{{Name: "NAME", Required: true}, {Name: "UNUSED"}},
			Message:        "made ${NAME}",
		},
	}
}

func code(err error) int32 {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Code
	}
	return 0
}

func TestBodyIsDecodedBeforeTheTemplateIsRead(t *testing.T) {
	templates := &fakeTemplates{err: errors.New("must not be called")}
	h := &handler{templates: templates, vms: &fakeVMs{}}
	for _, body := range []string{"", "{", "[]"} {
		_, err := h.process(context.Background(), strings.NewReader(body), "ns", "t")
		if code(err) != 400 || !strings.HasPrefix(err.Error(), "error parsing ProcessOptions: ") {
			t.Errorf("body %q: %v", body, err)
		}
	}
	if templates.calls != 0 {
		t.Errorf("template read %d times", templates.calls)
	}
}

func TestTemplateReadFailureIs500(t *testing.T) {
	h := &handler{templates: &fakeTemplates{err: errors.New("connection refused")}, vms: &fakeVMs{}}
	_, err := h.process(context.Background(), strings.NewReader("{}"), "ns", "t")
	if code(err) != 500 || err.Error() != "Internal error occurred: error getting VirtualMachineTemplate: connection refused" {
		t.Errorf("got %v", err)
	}
}

func TestWarningsAreSentAlsoWhenProcessingFails(t *testing.T) {
	h := &handler{templates: &fakeTemplates{tpl: template()}, vms: &fakeVMs{}}
	var got warnings
	ctx := warning.WithWarningRecorder(context.Background(), &got)
	_, err := h.process(ctx, strings.NewReader("{}"), "ns", "t")
	if code(err) != 422 {
		t.Fatalf("want 422, got %v", err)
	}
	if want := []string{"spec.parameters[1].name: UNUSED is defined but never referenced"}; !slices.Equal(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
	// A 409 comes before the reference check, so without warnings.
	got = nil
	_, err = h.process(ctx, strings.NewReader(`{"parameters":{"X":"1"}}`), "ns", "t")
	if code(err) != 409 || len(got) != 0 {
		t.Errorf("unknown parameter: %v, warnings %q", err, got)
	}
}

func TestCreate(t *testing.T) {
	vms := &fakeVMs{}
	h := &handler{templates: &fakeTemplates{tpl: template()}, vms: vms}
	out, err := h.create(context.Background(), strings.NewReader(`{"parameters":{"NAME":"a"}}`), "ns", "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(vms.created) != 1 || out.VirtualMachine != vms.created[0] || out.Message != "made a" ||
		out.TemplateRef.Namespace != "ns" || out.TemplateRef.Name != "t" {
		t.Errorf("answer %+v, created %v", out, vms.created)
	}

	vms.err = errors.New(`virtualmachines.kubevirt.io "a" already exists`)
	_, err = h.create(context.Background(), strings.NewReader(`{"parameters":{"NAME":"a"}}`), "ns", "t")
	want := `Internal error occurred: error creating VirtualMachine: virtualmachines.kubevirt.io "a" already exists`
	if code(err) != 500 || err.Error() != want {
		t.Errorf("got %v, want 500 %q", err, want)
	}
}

func TestV1alpha1EncodesTheSameResult(t *testing.T) {
	in := &subresourcesv1beta1.ProcessedVirtualMachineTemplate{
		VirtualMachine: &kubevirtv1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Name: "a"}},
		Message:        "m",
	}
	out, ok := v1alpha1Version.encode(in).(*subresourcesv1alpha1.ProcessedVirtualMachineTemplate)
	if !ok || out.VirtualMachine.Name != "a" || out.Message != "m" {
		t.Errorf("got %#v", out)
	}
	kinds, _, err := Scheme.ObjectKinds(out)
	if err != nil || kinds[0] != subresourcesv1alpha1.GroupVersion.WithKind("ProcessedVirtualMachineTemplate") {
		t.Errorf("kinds %v, %v", kinds, err)
	}
}
