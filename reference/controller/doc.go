// Package controller is the reference controller manager of VirtualMachineTemplates,
// behaving as upstream kubevirt/virt-template v0.2.x's virt-template-controller
// (virt-template.md §5.1 and §6):
//
//   - the VirtualMachineTemplate controller marks every template Ready=True/Reconciled,
//     "VirtualMachineTemplate is ready to be processed";
//   - the availability gate starts the VirtualMachineTemplateRequest controller once
//     cdi.kubevirt.io/v1beta1 and snapshot.kubevirt.io/v1beta1 are served, and meanwhile
//     marks requests Ready=False/Waiting "Required CRDs are not yet available: …";
//   - the VirtualMachineTemplateRequest controller captures a VM into a template: snapshot,
//     DataVolume clones, expand-spec, template with the NAME parameter, ownership hand-over,
//     snapshot deletion, TTL, finalizer, with upstream's conditions, reasons and messages;
//   - the validating webhooks of VirtualMachineTemplate (v1alpha1 and v1beta1 paths).
//
// # Surface
//
//	ManagerOptions(cfg) (ctrl.Options, error)   scheme, cache and client settings of upstream
//	Setup(mgr, Options{Expander, EnableWebhooks, ...}) error
//	Expander / RESTExpander / ExpandSpecPath     virt-api's PUT …/expand-vm-spec
//	StableName(base, inputs...)                  upstream's GetStableName
//	NewScheme()
//
// A binary (cmd/vmt-template-controller) and tests share Setup.
//
// # Where this differs from upstream, on purpose
//
// The request's template is read from the API server rather than the cache, and an
// AlreadyExists when creating the snapshot, a DataVolume or the template is answered by
// reading the object from the API server: upstream can see its own new template missing from
// a lagging cache, create it again and fail the request for good with AlreadyExists. Status
// is written with a JSON merge patch of the changed status instead of cluster-api's patch
// helper. Nothing else is meant to differ.
package controller
