package controller

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/engine"
)

// Names and paths of the validating webhooks, as upstream's
// ValidatingWebhookConfiguration declares them (virt-template.md §5.1).
const (
	WebhookNameV1alpha1 = "vvirtualmachinetemplate-v1alpha1.kb.io"
	WebhookNameV1beta1  = "vvirtualmachinetemplate-v1beta1.kb.io"
	WebhookPathV1alpha1 = "/validate-template-kubevirt-io-v1alpha1-virtualmachinetemplate"
	WebhookPathV1beta1  = "/validate-template-kubevirt-io-v1beta1-virtualmachinetemplate"
)

// templateValidator admits VirtualMachineTemplates on CREATE and UPDATE the way upstream's
// webhook does (engine.Processor.Validate): undefined references deny, unused parameters
// warn, a required parameter without value or generator skips rendering with a warning,
// and a template that does not render denies with "processing validation failed: …".
// v1alpha1 objects are validated as their v1beta1 form. DELETE is not validated.
type templateValidator struct {
	processor engine.Processor
}

var _ admission.CustomValidator = (*templateValidator)(nil)

func (v *templateValidator) ValidateCreate(_ context.Context, obj runtime.Object) (admission.Warnings, error) {
	return v.validate(obj)
}

func (v *templateValidator) ValidateUpdate(_ context.Context, _, newObj runtime.Object) (admission.Warnings, error) {
	return v.validate(newObj)
}

func (v *templateValidator) ValidateDelete(context.Context, runtime.Object) (admission.Warnings, error) {
	return nil, nil
}

func (v *templateValidator) validate(obj runtime.Object) (admission.Warnings, error) {
	var tpl *v1beta1.VirtualMachineTemplate
	switch t := obj.(type) {
	case *v1beta1.VirtualMachineTemplate:
		tpl = t
	case *v1alpha1.VirtualMachineTemplate:
		converted, err := alphaToBeta(t)
		if err != nil {
			return nil, fmt.Errorf("failed to convert VirtualMachineTemplate to v1beta1: %w", err)
		}
		tpl = converted
	default:
		return nil, fmt.Errorf("expected a VirtualMachineTemplate object but got %T", obj)
	}
	return v.processor.Validate(tpl)
}

// alphaToBeta converts through JSON: both versions have the same schema.
func alphaToBeta(in *v1alpha1.VirtualMachineTemplate) (*v1beta1.VirtualMachineTemplate, error) {
	data, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	out := &v1beta1.VirtualMachineTemplate{}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, err
	}
	out.APIVersion = v1beta1.GroupVersion.String()
	return out, nil
}

// setupWebhooks registers the validating webhooks of release rel on the manager's webhook
// server: at WebhookPathV1alpha1 and, with AdmissionCoversV1beta1 (v0.2.0+),
// WebhookPathV1beta1. The path follows the kind's version in the manager's scheme: before
// v0.2.0 (NewSchemeFor) the v1beta1 Go type is the v1alpha1 kind.
func setupWebhooks(mgr ctrl.Manager, rel release.Release) error {
	objs := []runtime.Object{&v1alpha1.VirtualMachineTemplate{}, &v1beta1.VirtualMachineTemplate{}}
	switch {
	case !rel.Has(release.ServesV1beta1):
		objs = []runtime.Object{&v1beta1.VirtualMachineTemplate{}}
	case !rel.Has(release.AdmissionCoversV1beta1):
		objs = objs[:1]
	}
	for _, obj := range objs {
		if err := ctrl.NewWebhookManagedBy(mgr).For(obj).WithValidator(&templateValidator{}).RecoverPanic(true).Complete(); err != nil {
			return fmt.Errorf("registering the %T webhook: %w", obj, err)
		}
	}
	return nil
}
