package client

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	templatev1alpha1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1alpha1"
	templatev1beta1 "github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// The one seam for template API versions. Specs write v1beta1 Go types
// (reference/api/core/v1beta1); on a cluster that serves template.kubevirt.io only in
// v1alpha1 (virt-template v0.1.x, KubeVirt v1.8), the controller-runtime client of every
// identity (New, Clients.As) speaks v1alpha1 on the wire instead: it converts the v1beta1
// template types to v1alpha1 before sending and the answers back to v1beta1. The types are
// schema-identical except the request fields only v1beta1 has; sending one of those to a
// v1alpha1-only cluster fails with BetaOnlyFieldError rather than dropping the field.
// Every other object, v1alpha1 template types included, passes through untouched.

var (
	spokenMu sync.RWMutex
	spoken   string
)

// SetSpokenVersion makes the clients New builds from now on speak version ("v1beta1" or
// "" = as the Go types say; "v1alpha1" = convert). framework.Connect sets it from the
// detected system under test before building the admin clients.
func SetSpokenVersion(version string) {
	spokenMu.Lock()
	defer spokenMu.Unlock()
	spoken = version
}

// SpokenVersion is what SetSpokenVersion set.
func SpokenVersion() string {
	spokenMu.RLock()
	defer spokenMu.RUnlock()
	return spoken
}

// Speaking returns c speaking version for the template API: c itself for "" and
// "v1beta1", a converting client for "v1alpha1".
func Speaking(c ctrlclient.Client, version string) ctrlclient.Client {
	if version != templatev1alpha1.GroupVersion.Version {
		return c
	}
	return &versionClient{Client: c}
}

// BetaOnlyFieldError is a v1beta1 object that sets fields v1alpha1 lacks, refused before it
// reaches a cluster that serves only v1alpha1.
type BetaOnlyFieldError struct {
	Kind   string
	Object string // namespace/name (or namespace/generateName*)
	Fields []string
}

func (e *BetaOnlyFieldError) Error() string {
	return fmt.Sprintf("%s %s sets %s, which only %s has: the cluster serves %s in %s only, so the field would be dropped; "+
		"a spec that sets it needs the capability label requires-v1beta1 (tiers.Requires(tiers.RequiresV1beta1), or requires in tiers/scenarios.yaml)",
		e.Kind, e.Object, strings.Join(e.Fields, " and "), templatev1beta1.GroupVersion, templatev1beta1.GroupVersion.Group, templatev1alpha1.GroupVersion.Version)
}

// versionClient converts the v1beta1 template types to v1alpha1 on the wire.
type versionClient struct {
	ctrlclient.Client
}

// wireType is the v1alpha1 type for a v1beta1 template type, or nil for any other object.
func wireType(obj runtime.Object) runtime.Object {
	switch obj.(type) {
	case *templatev1beta1.VirtualMachineTemplate:
		return &templatev1alpha1.VirtualMachineTemplate{}
	case *templatev1beta1.VirtualMachineTemplateList:
		return &templatev1alpha1.VirtualMachineTemplateList{}
	case *templatev1beta1.VirtualMachineTemplateRequest:
		return &templatev1alpha1.VirtualMachineTemplateRequest{}
	case *templatev1beta1.VirtualMachineTemplateRequestList:
		return &templatev1alpha1.VirtualMachineTemplateRequestList{}
	}
	return nil
}

// betaOnly refuses the v1beta1 fields v1alpha1 lacks.
func betaOnly(obj runtime.Object) error {
	r, ok := obj.(*templatev1beta1.VirtualMachineTemplateRequest)
	if !ok {
		return nil
	}
	var fields []string
	if len(r.Spec.TemplateLabels) > 0 {
		fields = append(fields, "spec.templateLabels")
	}
	if r.Spec.TTLSecondsAfterFinished != nil {
		fields = append(fields, "spec.ttlSecondsAfterFinished")
	}
	if len(fields) == 0 {
		return nil
	}
	name := r.Name
	if name == "" {
		name = r.GenerateName + "*"
	}
	return &BetaOnlyFieldError{Kind: "VirtualMachineTemplateRequest", Object: r.Namespace + "/" + name, Fields: fields}
}

// convert copies src into dst (reset first) through JSON, retargeting apiVersion from one
// template version to the other where it is set (the object and list items).
func convert(src, dst runtime.Object, from, to string) error {
	raw, err := json.Marshal(src)
	if err != nil {
		return fmt.Errorf("converting %T: %w", src, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("converting %T: %w", src, err)
	}
	retarget(m, from, to)
	if items, ok := m["items"].([]any); ok {
		for _, it := range items {
			if im, ok := it.(map[string]any); ok {
				retarget(im, from, to)
			}
		}
	}
	if raw, err = json.Marshal(m); err != nil {
		return fmt.Errorf("converting %T: %w", src, err)
	}
	v := reflect.ValueOf(dst).Elem()
	v.Set(reflect.Zero(v.Type()))
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("converting %T to %T: %w", src, dst, err)
	}
	return nil
}

func retarget(m map[string]any, from, to string) {
	if v, ok := m["apiVersion"].(string); ok && v == from {
		m["apiVersion"] = to
	}
}

var (
	alphaGV = templatev1alpha1.GroupVersion.String()
	betaGV  = templatev1beta1.GroupVersion.String()
)

// toWire is the v1alpha1 object to send for obj (nil when obj is not a v1beta1 template
// type); checkFields refuses the fields v1alpha1 lacks (writes), reads and deletes need
// only the object's identity.
func toWire(obj runtime.Object, checkFields bool) (runtime.Object, error) {
	wire := wireType(obj)
	if wire == nil {
		return nil, nil
	}
	if checkFields {
		if err := betaOnly(obj); err != nil {
			return nil, err
		}
	}
	return wire, convert(obj, wire, betaGV, alphaGV)
}

// fromWire converts the server's answer back into the caller's v1beta1 object.
func fromWire(wire, obj runtime.Object) error { return convert(wire, obj, alphaGV, betaGV) }

// Get implements ctrlclient.Reader.
func (c *versionClient) Get(ctx context.Context, key ctrlclient.ObjectKey, obj ctrlclient.Object, opts ...ctrlclient.GetOption) error {
	wire := wireType(obj)
	if wire == nil {
		return c.Client.Get(ctx, key, obj, opts...)
	}
	if err := c.Client.Get(ctx, key, wire.(ctrlclient.Object), opts...); err != nil {
		return err
	}
	return fromWire(wire, obj)
}

// List implements ctrlclient.Reader.
func (c *versionClient) List(ctx context.Context, list ctrlclient.ObjectList, opts ...ctrlclient.ListOption) error {
	wire := wireType(list)
	if wire == nil {
		return c.Client.List(ctx, list, opts...)
	}
	if err := c.Client.List(ctx, wire.(ctrlclient.ObjectList), opts...); err != nil {
		return err
	}
	return fromWire(wire, list)
}

// write sends obj as its v1alpha1 twin through send and reads the answer back into obj.
func write(obj ctrlclient.Object, checkFields bool, send func(ctrlclient.Object) error) error {
	wire, err := toWire(obj, checkFields)
	if err != nil {
		return err
	}
	if wire == nil {
		return send(obj)
	}
	if err := send(wire.(ctrlclient.Object)); err != nil {
		return err
	}
	return fromWire(wire, obj)
}

// Create implements ctrlclient.Writer.
func (c *versionClient) Create(ctx context.Context, obj ctrlclient.Object, opts ...ctrlclient.CreateOption) error {
	return write(obj, true, func(o ctrlclient.Object) error { return c.Client.Create(ctx, o, opts...) })
}

// Update implements ctrlclient.Writer.
func (c *versionClient) Update(ctx context.Context, obj ctrlclient.Object, opts ...ctrlclient.UpdateOption) error {
	return write(obj, true, func(o ctrlclient.Object) error { return c.Client.Update(ctx, o, opts...) })
}

// Delete implements ctrlclient.Writer; only the object's identity (and preconditions) go out.
func (c *versionClient) Delete(ctx context.Context, obj ctrlclient.Object, opts ...ctrlclient.DeleteOption) error {
	return write(obj, false, func(o ctrlclient.Object) error { return c.Client.Delete(ctx, o, opts...) })
}

// DeleteAllOf implements ctrlclient.Writer.
func (c *versionClient) DeleteAllOf(ctx context.Context, obj ctrlclient.Object, opts ...ctrlclient.DeleteAllOfOption) error {
	wire, err := toWire(obj, false)
	if err != nil || wire == nil {
		if err != nil {
			return err
		}
		return c.Client.DeleteAllOf(ctx, obj, opts...)
	}
	return c.Client.DeleteAllOf(ctx, wire.(ctrlclient.Object), opts...)
}

// Patch implements ctrlclient.Writer.
func (c *versionClient) Patch(ctx context.Context, obj ctrlclient.Object, patch ctrlclient.Patch, opts ...ctrlclient.PatchOption) error {
	return patchVia(obj, patch, func(o ctrlclient.Object, p ctrlclient.Patch) error { return c.Client.Patch(ctx, o, p, opts...) })
}

// patchVia computes the patch from the caller's v1beta1 object (a merge patch's paths are
// the same in both versions; an apply patch is the whole object, so it is taken from the
// v1alpha1 twin) and sends it for the twin.
func patchVia(obj ctrlclient.Object, patch ctrlclient.Patch, send func(ctrlclient.Object, ctrlclient.Patch) error) error {
	wire, err := toWire(obj, true)
	if err != nil {
		return err
	}
	if wire == nil {
		return send(obj, patch)
	}
	from := obj
	if patch.Type() == types.ApplyPatchType {
		from = wire.(ctrlclient.Object)
	}
	data, err := patch.Data(from)
	if err != nil {
		return err
	}
	if err := send(wire.(ctrlclient.Object), ctrlclient.RawPatch(patch.Type(), data)); err != nil {
		return err
	}
	return fromWire(wire, obj)
}

// Status implements ctrlclient.StatusClient.
func (c *versionClient) Status() ctrlclient.SubResourceWriter {
	return &versionSubResource{inner: c.Client.Status()}
}

// SubResource implements ctrlclient.SubResourceClientConstructor.
func (c *versionClient) SubResource(name string) ctrlclient.SubResourceClient {
	inner := c.Client.SubResource(name)
	return &versionSubResource{inner: inner, reader: inner}
}

// versionSubResource converts the parent object of a subresource call.
type versionSubResource struct {
	inner  ctrlclient.SubResourceWriter
	reader ctrlclient.SubResourceReader
}

func (s *versionSubResource) Get(ctx context.Context, obj, sub ctrlclient.Object, opts ...ctrlclient.SubResourceGetOption) error {
	if s.reader == nil {
		return fmt.Errorf("the status client cannot get")
	}
	return write(obj, false, func(o ctrlclient.Object) error { return s.reader.Get(ctx, o, sub, opts...) })
}

func (s *versionSubResource) Create(ctx context.Context, obj, sub ctrlclient.Object, opts ...ctrlclient.SubResourceCreateOption) error {
	return write(obj, false, func(o ctrlclient.Object) error { return s.inner.Create(ctx, o, sub, opts...) })
}

func (s *versionSubResource) Update(ctx context.Context, obj ctrlclient.Object, opts ...ctrlclient.SubResourceUpdateOption) error {
	return write(obj, true, func(o ctrlclient.Object) error { return s.inner.Update(ctx, o, opts...) })
}

func (s *versionSubResource) Patch(ctx context.Context, obj ctrlclient.Object, patch ctrlclient.Patch, opts ...ctrlclient.SubResourcePatchOption) error {
	return patchVia(obj, patch, func(o ctrlclient.Object, p ctrlclient.Patch) error { return s.inner.Patch(ctx, o, p, opts...) })
}
