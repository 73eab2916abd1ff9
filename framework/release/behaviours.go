package release

import (
	"fmt"
	"strings"
)

// ID names one behaviour that differs between virt-template releases.
type ID string

// The behaviours. Each has one row in the table below; the comment on the row cites the
// upstream file and tag it was verified at (paths are in kubevirt/virt-template unless
// prefixed kubevirt/kubevirt; line numbers are those of the tag named).
const (
	ServesV1beta1                 ID = "ServesV1beta1"
	DeprecatesV1alpha1            ID = "DeprecatesV1alpha1"
	AdmissionCoversV1beta1        ID = "AdmissionCoversV1beta1"
	SubresourceDiscovery          ID = "SubresourceDiscovery"
	CapturedNameGenerated         ID = "CapturedNameGenerated"
	RequestTemplateLabels         ID = "RequestTemplateLabels"
	RequestTTL                    ID = "RequestTTL"
	RequestControllerWaitsForAPIs ID = "RequestControllerWaitsForAPIs"
	StripsMACSerialUUID           ID = "StripsMACSerialUUID"
	SkipsPersistentState          ID = "SkipsPersistentState"
	RequestSpecImmutable          ID = "RequestSpecImmutable"
	WebhookRejectsUndefinedRefs   ID = "WebhookRejectsUndefinedRefs"
	WebhookRendersTemplate        ID = "WebhookRendersTemplate"
	VAPSourceSubresource          ID = "VAPSourceSubresource"
	AggregatedRoles               ID = "AggregatedRoles"
	AggregatedProcessCreate       ID = "AggregatedProcessCreate"
	VersionAnnotated              ID = "VersionAnnotated"
	VirttemplatectlCLI            ID = "VirttemplatectlCLI"
)

// Behaviour is one row: what a release from Since on (and before Removed, when set) does,
// what older releases do instead, and where upstream says so.
type Behaviour struct {
	ID ID
	// Description is what a spec sees from Since on (one line).
	Description string
	// Before is what a spec sees in releases older than Since (one line).
	Before string
	// Since is the first virt-template tag with the behaviour.
	Since Version
	// Removed is the first tag without it again; unknown (zero) when never removed.
	Removed Version
	// Source cites upstream: file@tag for the first tag that has it and, where useful,
	// the last tag that does not.
	Source string
	// Verified is false when no upstream tag with the behaviour was readable and the row
	// rests on a pull-request description (the version is then a claim, not a reading).
	Verified bool
}

// WasRemoved reports whether a later release dropped the behaviour again.
func (b Behaviour) WasRemoved() bool { return !b.Removed.Unknown() }

var behaviours = []Behaviour{
	{
		// config/crd/bases/template.kubevirt.io_virtualmachinetemplates.yaml@v0.2.0 and
		// …_virtualmachinetemplaterequests.yaml@v0.2.0 list v1alpha1 (storage) and v1beta1
		// (served, not storage); cmd/apiserver/main.go@v0.2.0:62-71 registers both
		// subresource versions; config/apiserver/apiservice.yaml@v0.2.0 has two APIServices
		// (v1alpha1 versionPriority 15, v1beta1 10, so v1alpha1 stays the preferred
		// subresource version). v0.1.8: one CRD version, main.go:60 registers v1alpha1 only.
		ID:          ServesV1beta1,
		Description: "CRDs and subresources.template.kubevirt.io serve v1beta1 beside v1alpha1 (v1alpha1 stays storage; two APIServices)",
		Before:      "v1alpha1 only (CRDs, one APIService v1alpha1.subresources.template.kubevirt.io)",
		Since:       MustParse("v0.2.0"),
		Source:      "config/crd/bases/*.yaml@v0.2.0; cmd/apiserver/main.go@v0.2.0:62-71; config/apiserver/apiservice.yaml@v0.2.0",
		Verified:    true,
	},
	{
		// deprecated: true on v1alpha1 in both CRDs (virtualmachinetemplates.yaml@v0.2.0:27,
		// virtualmachinetemplaterequests.yaml@v0.2.0:33), no deprecationWarning, so
		// kube-apiserver sends its default text (k8s.io/apiextensions-apiserver
		// pkg/apiserver/customresource_handler.go defaultDeprecationWarning). The aggregated
		// v1alpha1 subresources carry only a kubebuilder marker
		// (api/core/subresourcesv1alpha1/virtualmachinetemplate_types.go@v0.2.2), which has
		// no effect on an aggregated server: no warning there [inferred].
		ID:          DeprecatesV1alpha1,
		Description: "v1alpha1 CRD requests get the warning \"template.kubevirt.io/v1alpha1 <Kind> is deprecated; use template.kubevirt.io/v1beta1 <Kind>\"",
		Before:      "no deprecation warning",
		Since:       MustParse("v0.2.0"),
		Source:      "config/crd/bases/template.kubevirt.io_virtualmachinetemplates.yaml@v0.2.0:27; …_virtualmachinetemplaterequests.yaml@v0.2.0:33",
		Verified:    true,
	},
	{
		// config/webhook/manifests.yaml@v0.2.0 adds vvirtualmachinetemplate-v1beta1.kb.io;
		// internal/webhook/v1alpha1/virtualmachinetemplate_webhook.go@v0.2.2 converts to
		// v1beta1 and runs the same checks (same messages). config/admission/
		// vmtr_authz_vap.yaml@v0.2.0 matches apiVersions [v1alpha1, v1beta1], expressions
		// unchanged. /process and /create share one code path for both versions
		// (internal/apiserver/storage/virtualmachinetemplate/process.go@v0.2.2), with the
		// codes of v0.1.8's process.go (400 body, 500 template read, 409 merge, 422 invalid).
		ID:          AdmissionCoversV1beta1,
		Description: "template webhook, VMTR VAP and /process,/create codes apply to v1beta1 as well as v1alpha1 (same checks, messages, codes)",
		Before:      "the same checks, messages and codes, v1alpha1 only",
		Since:       MustParse("v0.2.0"),
		Source:      "config/webhook/manifests.yaml@v0.2.0; config/admission/vmtr_authz_vap.yaml@v0.2.0; internal/apiserver/storage/virtualmachinetemplate/process.go@v0.2.0",
		Verified:    true,
	},
	{
		// internal/apiserver/apiserver.go@v0.1.8:79-80 sets config.EnableDiscovery = false:
		// the server installs no root /apis document (k8s.io/apiserver pkg/server/config.go
		// installs it only when EnableDiscovery), so kube-aggregator's aggregated discovery
		// falls back to /apis/<group>/<version> [inferred]. Removed in
		// internal/apiserver/apiserver.go@v0.2.0 (commit 62339376 "Enable API discovery").
		// Both keep the parent virtualmachinetemplates out of the resource list (filter.go).
		ID:          SubresourceDiscovery,
		Description: "the aggregated server serves its own /apis discovery document (aggregated discovery enabled)",
		Before:      "EnableDiscovery=false: no /apis document from the server; /apis/<group>/<version> still lists process and create",
		Since:       MustParse("v0.2.0"),
		Source:      "internal/apiserver/apiserver.go@v0.1.8:79-80 (disabled); internal/apiserver/apiserver.go@v0.2.0 (line removed)",
		Verified:    true,
	},
	{
		// internal/controller/virtualmachinetemplaterequest_controller.go@v0.2.0:836-842
		// gives NAME Required: true, Generate: "expression", From: "vm-[a-z0-9]{5}".
		// @v0.1.8:805-810 (and every v0.1.x): Required only, so the engine
		// (staging/src/kubevirt.io/virt-template-engine/template/template.go@v0.1.8:87-90)
		// refuses /process without NAME, mapped to 422 by
		// internal/apiserver/storage/virtualmachinetemplate/process.go@v0.1.8:145-148, and
		// the webhook skips rendering the captured template with a warning.
		ID:          CapturedNameGenerated,
		Description: "a captured template's NAME parameter is required with generator expression vm-[a-z0-9]{5}: /process without NAME names the VM vm-xxxxx",
		Before:      "NAME is required with no generator: /process without NAME → 422 \"parameter 'NAME' is required and a value must be specified\"",
		Since:       MustParse("v0.2.0"),
		Source:      "internal/controller/virtualmachinetemplaterequest_controller.go@v0.2.0:836-842; @v0.1.8:805-810",
		Verified:    true,
	},
	{
		// CRD field spec.templateLabels with CEL rule
		// self.all(k, !k.startsWith('template.kubevirt.io/')) and message `labels with the
		// prefix "template.kubevirt.io/" are reserved for system use`
		// (virtualmachinetemplaterequests.yaml@v0.2.0:60-70); the controller copies them
		// minus that prefix and then sets template.kubevirt.io/RequestUID
		// (virtualmachinetemplaterequest_controller.go@v0.2.0:818-826). v0.1.x CRDs have no
		// such property and no preserve-unknown-fields on spec, so kube-apiserver prunes it
		// (fieldValidation Warn, client-go's default) or refuses it (Strict, kubectl's).
		ID:          RequestTemplateLabels,
		Description: "VMTR spec.templateLabels are copied onto the captured template (keys with prefix template.kubevirt.io/ refused by a CEL rule)",
		Before:      "no such field: dropped with an unknown-field warning (refused under fieldValidation=Strict, kubectl's default); the template gets only the template.kubevirt.io/RequestUID label",
		Since:       MustParse("v0.2.0"),
		Source:      "config/crd/bases/template.kubevirt.io_virtualmachinetemplaterequests.yaml@v0.2.0:60-70; internal/controller/virtualmachinetemplaterequest_controller.go@v0.2.0:818-826",
		Verified:    true,
	},
	{
		// spec.ttlSecondsAfterFinished (int32, minimum 0,
		// virtualmachinetemplaterequests.yaml@v0.2.0:75-86); handleTTL
		// (virtualmachinetemplaterequest_controller.go@v0.2.0:221-244) deletes a request
		// whose Ready condition is True once lastTransitionTime + TTL has passed; failed
		// requests are never deleted. config/rbac/role.yaml@v0.2.0 adds delete on
		// virtualmachinetemplaterequests to the manager role (absent @v0.1.8).
		ID:          RequestTTL,
		Description: "a succeeded VMTR with spec.ttlSecondsAfterFinished is deleted TTL seconds after Ready turned True (failed ones are kept)",
		Before:      "no such field (dropped, or refused under fieldValidation=Strict); finished requests are never deleted",
		Since:       MustParse("v0.2.0"),
		Source:      "internal/controller/virtualmachinetemplaterequest_controller.go@v0.2.0:134-137,221-244; config/rbac/role.yaml@v0.2.0",
		Verified:    true,
	},
	{
		// internal/controller/vmtr_availability_controller.go@v0.2.1:44-52,124-134 polls every
		// minute for cdi.kubevirt.io/v1beta1 and snapshot.kubevirt.io/v1beta1 and, while one
		// is missing, sets pending requests Ready=False/Waiting "Required CRDs are not yet
		// available: …" and Progressing=True/Waiting; cmd/main.go@v0.2.1:222 adds it.
		// cmd/main.go@v0.2.0:237-244 set the request controller up at start.
		ID:          RequestControllerWaitsForAPIs,
		Description: "the VMTR controller starts only once cdi.kubevirt.io/v1beta1 and snapshot.kubevirt.io/v1beta1 are served; until then requests are Ready=False/Waiting",
		Before:      "the VMTR controller is set up at start, whatever APIs exist",
		Since:       MustParse("v0.2.1"),
		Source:      "internal/controller/vmtr_availability_controller.go@v0.2.1:44-52,124-134; cmd/main.go@v0.2.0:237-244",
		Verified:    true,
	},
	{
		// stripUniqueIdentifiers (virtualmachinetemplaterequest_controller.go@v0.1.8:898-911,
		// called at :421) clears every interface macAddress and firmware serial and uuid;
		// no such code @v0.1.7 (commit fb17798f, first tag v0.1.8).
		ID:          StripsMACSerialUUID,
		Description: "capture clears interface MAC addresses and firmware serial and UUID in the template's VM",
		Before:      "the template keeps the source VM's MACs, serial and UUID",
		Since:       MustParse("v0.1.8"),
		Source:      "internal/controller/virtualmachinetemplaterequest_controller.go@v0.1.8:898-911; absent @v0.1.7",
		Verified:    true,
	},
	{
		// getBackendStoragePVCName (virtualmachinetemplaterequest_controller.go@v0.1.8:481-492)
		// picks the snapshot volume whose name contains "persistent-state-for" (EFI/TPM/CBT
		// backend storage) and the controller neither clones it nor makes a
		// DataVolumeTemplate for it; commit 49826903, first tag v0.1.8.
		ID:          SkipsPersistentState,
		Description: "capture skips the persistent-state-for (EFI/TPM backend storage) volume: no DataVolume, no DataVolumeTemplate for it",
		Before:      "the backend-storage PVC is cloned like a disk",
		Since:       MustParse("v0.1.8"),
		Source:      "internal/controller/virtualmachinetemplaterequest_controller.go@v0.1.8:481-492; absent @v0.1.7",
		Verified:    true,
	},
	{
		// x-kubernetes-validations rule self == oldSelf, message "spec is immutable", on the
		// VMTR spec since the CRD was added (virtualmachinetemplaterequests.yaml@v0.1.0:80-82);
		// both versions carry it @v0.2.0.
		ID:          RequestSpecImmutable,
		Description: "a VMTR's spec cannot change after creation (CEL \"spec is immutable\")",
		Since:       MustParse("v0.1.0"),
		Source:      "config/crd/bases/template.kubevirt.io_virtualmachinetemplaterequests.yaml@v0.1.0:80-82",
		Verified:    true,
	},
	{
		// The validating webhook exists since v0.1.0 (internal/webhook/v1alpha1/
		// virtualmachinetemplate_webhook.go@v0.1.0) and refuses a template whose VM
		// references an undefined parameter ("references undefined parameter X",
		// internal/template/parameters.go@v0.1.0:85-92); unused parameters are warnings.
		ID:          WebhookRejectsUndefinedRefs,
		Description: "the template webhook refuses ${X} references to undefined parameters and warns about unused ones",
		Since:       MustParse("v0.1.0"),
		Source:      "internal/webhook/v1alpha1/virtualmachinetemplate_webhook.go@v0.1.0; internal/template/parameters.go@v0.1.0:85-92",
		Verified:    true,
	},
	{
		// validateProcessing (internal/webhook/v1alpha1/virtualmachinetemplate_webhook.go@v0.1.5)
		// renders the template at admission and refuses "processing validation failed: …",
		// but only when every required parameter has a value or generator: otherwise it
		// admits with the warning "processing validation skipped: required parameter "X"
		// has neither value nor generator". Absent @v0.1.4 (commit cd90b260). Same in
		// internal/webhook/v1beta1/virtualmachinetemplate_webhook.go@v0.2.2.
		ID:          WebhookRendersTemplate,
		Description: "the template webhook renders the VM and refuses \"processing validation failed: …\"; skipped with a warning while a required parameter has no value or generator",
		Before:      "only reference checks at admission; a template that cannot render is admitted and fails at /process (422)",
		Since:       MustParse("v0.1.5"),
		Source:      "internal/webhook/v1alpha1/virtualmachinetemplate_webhook.go@v0.1.5; absent @v0.1.4",
		Verified:    true,
	},
	{
		// config/admission/vmtr_authz_vap.yaml@v0.1.5: first validation is
		// `sourceNS == targetNS || authorizer…resource('virtualmachinetemplaterequests')
		// .subresource('source').namespace(sourceNS).name(sourceVM).check('create')`, message
		// "User is not allowed to use VirtualMachine <ns>/<vm> as a source for
		// VirtualMachineTemplateRequests"; new ClusterRole
		// config/rbac/virtualmachinetemplaterequest_source_role.yaml@v0.1.5 (aggregated to
		// admin and edit). vmtr_authz_vap.yaml@v0.1.4 (same since v0.1.0): four checks in the
		// source namespace, even when it equals the target: get kubevirt.io virtualmachines,
		// create snapshot.kubevirt.io virtualmachinesnapshots, get
		// virtualmachinesnapshotcontents, update subresources.kubevirt.io expand-vm-spec.
		ID:          VAPSourceSubresource,
		Description: "VAP source check: same namespace passes, else create on virtualmachinetemplaterequests/source for that VM (ClusterRole …-virtualmachinetemplaterequest-source-role)",
		Before:      "VAP requires, in the source namespace, get virtualmachines, create virtualmachinesnapshots, get virtualmachinesnapshotcontents, update expand-vm-spec",
		Since:       MustParse("v0.1.5"),
		Source:      "config/admission/vmtr_authz_vap.yaml@v0.1.5; config/rbac/virtualmachinetemplaterequest_source_role.yaml@v0.1.5; vmtr_authz_vap.yaml@v0.1.4",
		Verified:    true,
	},
	{
		// rbac.authorization.k8s.io/aggregate-to-{admin,edit,view} labels on the six
		// virtualmachinetemplate(request)-{admin,editor,viewer}-role ClusterRoles
		// (config/rbac/*_role.yaml@v0.1.3:15; no label @v0.1.2). Verbs made explicit
		// (instead of '*') for the admin roles @v0.1.4 (commit f9a2253a).
		ID:          AggregatedRoles,
		Description: "template and request admin/editor/viewer ClusterRoles aggregate into admin/edit/view",
		Before:      "the roles exist but are not aggregated",
		Since:       MustParse("v0.1.3"),
		Source:      "config/rbac/virtualmachinetemplate_admin_role.yaml@v0.1.3:15 (and the five siblings); no aggregate label @v0.1.2",
		Verified:    true,
	},
	{
		// No tag up to v0.2.2 nor main@e5d8e404 grants subresources.template.kubevirt.io
		// (config/rbac/virtualmachinetemplate_{admin,editor,viewer}_role.yaml@v0.2.2 cover
		// template.kubevirt.io only). kubevirt/kubevirt PR #19180 (merged 2026-09-18) says
		// v0.2.3 lacks and v0.2.4 adds create on virtualmachinetemplates/process and
		// virtualmachinetemplates/create for namespace admin and edit; neither tag was
		// readable, so the version and the exact rules are a claim.
		ID:          AggregatedProcessCreate,
		Description: "aggregated admin and edit roles grant create on subresources.template.kubevirt.io virtualmachinetemplates/process and /create",
		Before:      "only cluster-admin or custom RBAC may call /process and /create",
		Since:       MustParse("v0.2.4"),
		Source:      "kubevirt/kubevirt PR #19180 description (unverified); absent in config/rbac/*_role.yaml@v0.2.2 and main@e5d8e404",
		Verified:    false,
	},
	{
		// config/components/version/kustomization.yaml@v0.1.5 annotates every object with
		// template.kubevirt.io/virt-template-version (commit 4745b6e9); absent @v0.1.4.
		ID:          VersionAnnotated,
		Description: "every shipped object (CRDs, Deployments, roles, …) carries annotation template.kubevirt.io/virt-template-version",
		Before:      "no version annotation",
		Since:       MustParse("v0.1.5"),
		Source:      "config/components/version/kustomization.yaml@v0.1.5; absent @v0.1.4",
		Verified:    true,
	},
	{
		// cmd/virttemplatectl exists @v0.1.0 … @v0.1.8 and is gone @v0.2.0 (commit 66e191ef
		// "Remove virttemplatectl CLI tool"); virtctl template replaces it
		// (kubevirt/kubevirt pkg/virtctl/template@v1.8.0).
		ID:          VirttemplatectlCLI,
		Description: "virt-template ships its own CLI, virttemplatectl",
		Since:       MustParse("v0.1.0"),
		Removed:     MustParse("v0.2.0"),
		Source:      "cmd/virttemplatectl@v0.1.8; removed @v0.2.0",
		Verified:    true,
	},
}

// Behaviours returns a copy of the table, in table order.
func Behaviours() []Behaviour {
	return append([]Behaviour(nil), behaviours...)
}

// Lookup returns the row of id.
func Lookup(id ID) (Behaviour, bool) {
	for _, b := range behaviours {
		if b.ID == id {
			return b, true
		}
	}
	return Behaviour{}, false
}

// Release is what one virt-template version does.
type Release struct {
	version Version
}

// For returns the behaviours of version v; the unknown version has every behaviour that
// was never removed (the newest).
func For(v Version) Release { return Release{version: v} }

// ForString parses s and returns its Release.
func ForString(s string) (Release, error) {
	v, err := Parse(s)
	if err != nil {
		return Release{}, err
	}
	return For(v), nil
}

// Version is the version the release was made for.
func (r Release) Version() Version { return r.version }

// Unknown reports whether the version was unknown, so the newest behaviour is assumed.
func (r Release) Unknown() bool { return r.version.Unknown() }

// Has reports whether the release has behaviour id. It panics on an ID that has no row:
// that is a programming error, not a property of the cluster.
func (r Release) Has(id ID) bool {
	b, ok := Lookup(id)
	if !ok {
		panic(fmt.Sprintf("release: no behaviour %q", id))
	}
	if r.version.Unknown() {
		return !b.WasRemoved()
	}
	return !r.version.Less(b.Since) && (!b.WasRemoved() || r.version.Less(b.Removed))
}

// Describe lists every row for this release, one line each: "yes"/"no", the ID, the
// version range and what a spec sees.
func (r Release) Describe() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "virt-template %s", r.version)
	if r.version.Unknown() {
		sb.WriteString(" (newest behaviour assumed)")
	}
	sb.WriteString(":\n")
	for _, b := range behaviours {
		has := r.Has(b.ID)
		mark, what := "no ", b.Before
		if has {
			mark, what = "yes", b.Description
		}
		if what == "" {
			what = b.Description
		}
		fmt.Fprintf(&sb, "  %s %-29s %-16s %s\n", mark, b.ID, b.span(), what)
	}
	return sb.String()
}

// span is "v0.2.0+" or "v0.1.0–v0.1.8"-style text for the range that has the behaviour.
func (b Behaviour) span() string {
	if b.WasRemoved() {
		return fmt.Sprintf("%s–<%s", b.Since, b.Removed)
	}
	return b.Since.String() + "+"
}
