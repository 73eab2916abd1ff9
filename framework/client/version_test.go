package client

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	templatev1alpha1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1alpha1"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// The fake stores each Go type under its own group-version-resource, as a cluster that
// serves only v1alpha1 would: what the wrapper sends is found as v1alpha1 and never as
// v1beta1.

func betaTemplate(name string) *templatev1beta1.VirtualMachineTemplate {
	return &templatev1beta1.VirtualMachineTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{"a": "b"}},
		Spec: templatev1beta1.VirtualMachineTemplateSpec{
			Message:        "hello ${NAME}",
			Parameters:     []templatev1beta1.Parameter{{Name: "NAME", Required: true}},
			VirtualMachine: &runtime.RawExtension{Raw: []byte(`{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{"name":"${NAME}"}}`)},
		},
	}
}

func betaRequest(name string) *templatev1beta1.VirtualMachineTemplateRequest {
	return &templatev1beta1.VirtualMachineTemplateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec: templatev1beta1.VirtualMachineTemplateRequestSpec{
			VirtualMachineRef: templatev1beta1.VirtualMachineReference{Namespace: "ns", Name: "vm"},
			TemplateName:      "captured",
		},
	}
}

func alphaCluster(t *testing.T, objs ...ctrlclient.Object) (wrapped, inner ctrlclient.Client) {
	t.Helper()
	inner = fake.NewClientBuilder().WithScheme(Scheme).WithObjects(objs...).
		WithStatusSubresource(&templatev1alpha1.VirtualMachineTemplateRequest{}, &templatev1beta1.VirtualMachineTemplateRequest{}).Build()
	return Speaking(inner, "v1alpha1"), inner
}

func TestSpeakingV1beta1IsTheClientItself(t *testing.T) {
	inner := fake.NewClientBuilder().WithScheme(Scheme).Build()
	for _, v := range []string{"", "v1beta1"} {
		if Speaking(inner, v) != inner {
			t.Errorf("Speaking(%q) wrapped the client", v)
		}
	}
}

func TestWritesGoOutAsV1alpha1AndComeBackAsV1beta1(t *testing.T) {
	ctx := context.Background()
	c, inner := alphaCluster(t)

	tpl := betaTemplate("t1")
	if err := c.Create(ctx, tpl); err != nil {
		t.Fatal(err)
	}
	if tpl.ResourceVersion == "" {
		t.Error("Create did not read the server's answer back into the v1beta1 object")
	}
	onWire := &templatev1alpha1.VirtualMachineTemplate{}
	if err := inner.Get(ctx, ctrlclient.ObjectKeyFromObject(tpl), onWire); err != nil {
		t.Fatalf("not stored as v1alpha1: %v", err)
	}
	if onWire.Spec.Message != "hello ${NAME}" || onWire.Spec.Parameters[0].Name != "NAME" || string(onWire.Spec.VirtualMachine.Raw) == "" {
		t.Errorf("v1alpha1 object lost fields: %+v", onWire.Spec)
	}
	if err := inner.Get(ctx, ctrlclient.ObjectKeyFromObject(tpl), &templatev1beta1.VirtualMachineTemplate{}); !apierrors.IsNotFound(err) {
		t.Errorf("the wire must carry v1alpha1 only; v1beta1 lookup gave %v", err)
	}

	// Read back through the wrapper, as v1beta1, into a reused object.
	got := betaTemplate("stale")
	got.Spec.Message = "stale"
	if err := c.Get(ctx, ctrlclient.ObjectKeyFromObject(tpl), got); err != nil {
		t.Fatal(err)
	}
	if got.Name != "t1" || got.Spec.Message != "hello ${NAME}" || got.UID != tpl.UID || got.Labels["a"] != "b" {
		t.Errorf("read back %+v", got)
	}
	if got.APIVersion != "" && got.APIVersion != templatev1beta1.GroupVersion.String() {
		t.Errorf("read back with apiVersion %q", got.APIVersion)
	}

	// Update and merge patch.
	got.Spec.Message = "updated"
	if err := c.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	base := got.DeepCopy()
	got.Labels["patched"] = "yes"
	if err := c.Patch(ctx, got, ctrlclient.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	if err := inner.Get(ctx, ctrlclient.ObjectKeyFromObject(tpl), onWire); err != nil {
		t.Fatal(err)
	}
	if onWire.Spec.Message != "updated" || onWire.Labels["patched"] != "yes" {
		t.Errorf("update/patch did not reach the v1alpha1 object: %q %v", onWire.Spec.Message, onWire.Labels)
	}

	// List as v1beta1.
	if err := c.Create(ctx, betaTemplate("t2")); err != nil {
		t.Fatal(err)
	}
	list := &templatev1beta1.VirtualMachineTemplateList{}
	if err := c.List(ctx, list, ctrlclient.InNamespace("ns")); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || list.Items[0].Spec.Message == "" {
		t.Fatalf("list %+v", list.Items)
	}
	for _, it := range list.Items {
		if it.APIVersion != "" && it.APIVersion != templatev1beta1.GroupVersion.String() {
			t.Errorf("item %s has apiVersion %q", it.Name, it.APIVersion)
		}
	}

	// Delete.
	if err := c.Delete(ctx, betaTemplate("t2")); err != nil {
		t.Fatal(err)
	}
	if err := inner.Get(ctx, ctrlclient.ObjectKey{Namespace: "ns", Name: "t2"}, &templatev1alpha1.VirtualMachineTemplate{}); !apierrors.IsNotFound(err) {
		t.Errorf("t2 still there: %v", err)
	}
}

func TestReadsOfV1alpha1ObjectsComeBackAsV1beta1(t *testing.T) {
	ctx := context.Background()
	existing := &templatev1alpha1.VirtualMachineTemplateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r1"},
		Spec:       templatev1alpha1.VirtualMachineTemplateRequestSpec{VirtualMachineRef: templatev1alpha1.VirtualMachineReference{Namespace: "ns", Name: "vm"}},
	}
	c, inner := alphaCluster(t, existing)
	got := &templatev1beta1.VirtualMachineTemplateRequest{}
	if err := c.Get(ctx, ctrlclient.ObjectKeyFromObject(existing), got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.VirtualMachineRef.Name != "vm" {
		t.Fatalf("got %+v", got.Spec)
	}

	// Status writer.
	got.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Done", LastTransitionTime: metav1.Now()}}
	if err := c.Status().Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	onWire := &templatev1alpha1.VirtualMachineTemplateRequest{}
	if err := inner.Get(ctx, ctrlclient.ObjectKeyFromObject(existing), onWire); err != nil {
		t.Fatal(err)
	}
	if len(onWire.Status.Conditions) != 1 || onWire.Status.Conditions[0].Reason != "Done" {
		t.Errorf("status not written as v1alpha1: %+v", onWire.Status)
	}
	lst := &templatev1beta1.VirtualMachineTemplateRequestList{}
	if err := c.List(ctx, lst); err != nil || len(lst.Items) != 1 {
		t.Fatalf("list: %v %+v", err, lst.Items)
	}
}

func TestBetaOnlyFieldsAreRefusedNotDropped(t *testing.T) {
	ctx := context.Background()
	c, inner := alphaCluster(t)
	ttl := int32(0)
	for name, set := range map[string]func(*templatev1beta1.VirtualMachineTemplateRequest){
		"spec.templateLabels": func(r *templatev1beta1.VirtualMachineTemplateRequest) {
			r.Spec.TemplateLabels = map[string]string{"app": "x"}
		},
		"spec.ttlSecondsAfterFinished": func(r *templatev1beta1.VirtualMachineTemplateRequest) { r.Spec.TTLSecondsAfterFinished = &ttl },
	} {
		r := betaRequest("beta-" + strings.TrimPrefix(strings.ToLower(name), "spec."))
		set(r)
		err := c.Create(ctx, r)
		var beta *BetaOnlyFieldError
		if !errors.As(err, &beta) {
			t.Fatalf("%s: want BetaOnlyFieldError, got %v", name, err)
		}
		for _, want := range []string{name, "requires-v1beta1", "template.kubevirt.io/v1beta1", "VirtualMachineTemplateRequest ns/" + r.Name} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q lacks %q", name, err, want)
			}
		}
		if err := inner.Get(ctx, ctrlclient.ObjectKeyFromObject(r), &templatev1alpha1.VirtualMachineTemplateRequest{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: the request reached the cluster: %v", name, err)
		}
	}

	// An update that adds one is refused too; deleting such an object is fine.
	r := betaRequest("plain")
	if err := c.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Spec.TemplateLabels = map[string]string{"app": "x"}
	if err := c.Update(ctx, r); err == nil || !strings.Contains(err.Error(), "spec.templateLabels") {
		t.Errorf("update: %v", err)
	}
	if err := c.Patch(ctx, r, ctrlclient.MergeFrom(betaRequest("plain"))); err == nil {
		t.Error("patch with a beta-only field must fail")
	}
	if err := c.Delete(ctx, r); err != nil {
		t.Errorf("delete: %v", err)
	}
}

// Other objects, v1alpha1 template types included (VMT-025 writes them on purpose), pass
// through untouched.
func TestOtherObjectsPassThrough(t *testing.T) {
	ctx := context.Background()
	c, inner := alphaCluster(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cm"}, Data: map[string]string{"k": "v"}}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	alpha := &templatev1alpha1.VirtualMachineTemplateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"},
		Spec: templatev1alpha1.VirtualMachineTemplateRequestSpec{TemplateLabels: map[string]string{"x": "y"}}}
	if err := c.Create(ctx, alpha); err != nil {
		t.Fatalf("a v1alpha1 object is the caller's choice, never refused: %v", err)
	}
	if err := inner.Get(ctx, ctrlclient.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); err != nil {
		t.Error(err)
	}
}
