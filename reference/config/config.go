// Package config holds the manifests of the reference implementation: everything an install
// of virt-template puts into a cluster, as upstream kubevirt/virt-template v0.2.x ships it in
// its virt-operator overlay (virt-template.md §7), with upstream's object names. Options.Release
// makes them those of another release (v0.1.7 on; see release.go), by the behaviour table of
// framework/release.
//
// The YAML lives in rbac/, admission/, webhook/, manager/ and apiserver/ with the install
// namespace written as "system" and the images as placeholders; Objects rewrites both, the
// way virt-operator rewrites the bundle it embeds, and injects the CA bundle. The CRDs come
// from the generated crd package. Apply and Delete install and remove the lot.
//
// Two overrides serve the hermetic lane, where there are no pods and no kube-proxy: the
// webhooks can call a URL, and virt-template-api-service can be an ExternalName to localhost
// (see reference/apiserver/local). PartOf and Select pick the objects of single components
// for callers that run some of them in-process.
package config

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/config/crd"
	"github.com/vmt-conformance/vmt-conformance/reference/emulation"
)

//go:embed rbac/*.yaml admission/*.yaml webhook/*.yaml manager/*.yaml apiserver/*.yaml
var manifests embed.FS

// Defaults of Options.
const (
	DefaultNamespace = "kubevirt"
	// Images internal/image writes (make image, the kind lane: /manager and /apiserver on an
	// empty base; a test keeps the references equal). The tag is not "latest" so a cluster
	// that was handed the image (kind load) does not try to pull it.
	DefaultControllerImage = "ghcr.io/vmt-conformance/vmt-template-controller:devel"
	DefaultAPIServerImage  = "ghcr.io/vmt-conformance/vmt-template-apiserver:devel"
)

// Labels and annotations every object carries.
const (
	VersionAnnotation = "template.kubevirt.io/virt-template-version"
	NameLabel         = "app.kubernetes.io/name"
	ManagedByLabel    = "app.kubernetes.io/managed-by"
	ManagedBy         = "vmt-conformance"
)

// Names of the objects, upstream's after its "virt-template-" prefix.
const (
	ControllerDeployment       = "virt-template-controller"
	ControllerContainer        = "manager"
	ControllerServiceAccount   = "virt-template-controller-manager"
	APIServerDeployment        = "virt-template-apiserver"
	APIServerContainer         = "apiserver"
	APIServerServiceAccount    = "virt-template-apiserver"
	APIServerClusterRole       = "virt-template-apiserver-role"
	APIServerService           = "virt-template-api-service"
	WebhookService             = "virt-template-webhook-service"
	MetricsService             = "virt-template-controller-manager-metrics-service"
	WebhookConfiguration       = "virt-template-validating-webhook-configuration"
	VMTRAuthzPolicy            = "virt-template-vmtr-authz" // policy and binding
	TemplateAdminRole          = "virt-template-virtualmachinetemplate-admin-role"
	TemplateEditorRole         = "virt-template-virtualmachinetemplate-editor-role"
	TemplateViewerRole         = "virt-template-virtualmachinetemplate-viewer-role"
	ControllerClusterRole      = "virt-template-manager-role"
	RequestAdminRole           = "virt-template-virtualmachinetemplaterequest-admin-role"
	RequestEditorRole          = "virt-template-virtualmachinetemplaterequest-editor-role"
	RequestViewerRole          = "virt-template-virtualmachinetemplaterequest-viewer-role"
	RequestSourceRole          = "virt-template-virtualmachinetemplaterequest-source-role"
	APIServerAuthReaderBinding = "virt-template-apiserver-auth-reader"
)

// Secrets the Deployments mount, named as virt-operator names them.
const (
	APIServerCertSecret = "kubevirt-virt-template-api-certs"
	WebhookCertSecret   = "kubevirt-virt-template-webhook-certs"
	MetricsCertSecret   = "kubevirt-virt-template-controller-metrics-certs"
)

// APIServices of the subresource group, preferred version first, as the default release
// (emulation.Default) installs them; APIServicesFor gives those of any release.
var APIServices = APIServicesFor(emulation.Default)

// placeholderNamespace stands for the install namespace in the YAML files, as in upstream's
// kustomize sources.
const placeholderNamespace = "system"

// Options shape the manifests; the zero value is an install in "kubevirt" with our images
// and no CA bundle.
type Options struct {
	// Namespace is the install namespace; default DefaultNamespace.
	Namespace string
	// CreateNamespace adds the Namespace object first (and Delete then removes it). Off by
	// default: a real cluster's "kubevirt" belongs to KubeVirt.
	CreateNamespace bool
	// ControllerImage and APIServerImage default to DefaultControllerImage and
	// DefaultAPIServerImage.
	ControllerImage, APIServerImage string
	// CABundle (PEM) signs the serving certificates of the webhook and the API server; it is
	// put into both APIServices and both webhooks, as virt-operator does. Empty leaves
	// caBundle unset (never insecureSkipTLSVerify): the API server then trusts its system
	// roots for webhooks, and the APIServices stay unavailable until something injects a
	// bundle (cert-manager's cainjector, virt-operator).
	CABundle []byte
	// TLS adds the three serving-certificate Secrets the Deployments mount (virt-operator
	// creates them in a real install). When CABundle is empty, TLS.CA is used for it.
	TLS *TLS

	// WebhookURL, when set, makes each webhook call <WebhookURL><its path> instead of
	// virt-template-webhook-service (hermetic lane: the webhook server is in-process).
	WebhookURL string
	// APIServerExternalPort, when set, turns virt-template-api-service into an ExternalName
	// for "localhost" with this port, and points both APIServices at it: without kube-proxy
	// the aggregator resolves the service's DNS name and dials the port it is given.
	APIServerExternalPort int32

	// Release is the virt-template release the manifests are those of (see emulate in
	// release.go): CRD versions and fields, APIServices, webhooks, the VAP's versions, role
	// rules, the version annotation, and --emulate-release on both Deployments. Nil means
	// emulation.Default (v0.2.2); a pointer to the unknown version means the newest
	// behaviour of the table. Releases older than emulation.Oldest are refused.
	Release *release.Version

	// FaultCaptureSkipsSourceCheck is a deliberate bug for the suite's self-tests (package
	// reference/faults, capture-skips-source-check): the capture policy's first validation,
	// the source check, always passes, so anyone who may create requests, DataVolumes and
	// templates in a namespace captures any VM of any namespace. Never set it otherwise.
	FaultCaptureSkipsSourceCheck bool
	// FaultViewMayUseTemplates is a deliberate bug for the suite's self-tests (package
	// reference/faults, view-may-use-templates): the template viewer role, aggregated into
	// view, also grants create on virtualmachinetemplates/process and /create. Never set it
	// otherwise.
	FaultViewMayUseTemplates bool
	// FaultCopySourceSecrets is the config half of the copy-source-secrets fault (package
	// reference/faults): the controller's ClusterRole may also read and create Secrets and
	// ConfigMaps, which the faulty controller copies into the template's namespace. Never set
	// it otherwise.
	FaultCopySourceSecrets bool

	// release is Release resolved by complete.
	release release.Version
}

// TLS is PEM material for the serving certificates (see SelfSignedTLS).
type TLS struct {
	CA                          []byte
	APIServer, Webhook, Metrics KeyPair
}

// KeyPair is a PEM certificate and key.
type KeyPair struct{ Cert, Key []byte }

// Objects renders every object of an install, in an order that is safe to apply: CRDs, the
// namespace, service accounts, secrets, roles and bindings, services, deployments, the
// admission policy and its binding, the webhook configuration, the APIServices.
func Objects(opts Options) ([]*unstructured.Unstructured, error) {
	opts, err := opts.complete()
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	defs, err := crd.CustomResourceDefinitionsFor(opts.release)
	if err != nil {
		return nil, fmt.Errorf("loading the template CRDs: %w", err)
	}
	for _, d := range defs {
		u, err := toUnstructured(d)
		if err != nil {
			return nil, fmt.Errorf("converting CRD %s: %w", d.Name, err)
		}
		u.SetAPIVersion("apiextensions.k8s.io/v1")
		u.SetKind("CustomResourceDefinition")
		objs = append(objs, u)
	}
	if opts.CreateNamespace {
		ns := &unstructured.Unstructured{}
		ns.SetAPIVersion("v1")
		ns.SetKind("Namespace")
		ns.SetName(opts.Namespace)
		objs = append(objs, ns)
	}
	if opts.TLS != nil {
		objs = append(objs, tlsSecrets(opts.TLS, opts.Namespace)...)
	}
	files, err := loadManifests()
	if err != nil {
		return nil, err
	}
	for _, u := range files {
		if err := customize(u, opts); err != nil {
			return nil, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
		keep, err := emulate(u, opts.release)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
		if keep && opts.FaultCaptureSkipsSourceCheck && u.GetKind() == "ValidatingAdmissionPolicy" {
			if err := skipSourceCheck(u); err != nil {
				return nil, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
			}
		}
		if keep && opts.FaultViewMayUseTemplates && u.GetKind() == "ClusterRole" && u.GetName() == TemplateViewerRole {
			if err := grantSubresources(u); err != nil {
				return nil, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
			}
		}
		if keep && opts.FaultCopySourceSecrets && u.GetKind() == "ClusterRole" && u.GetName() == ControllerClusterRole {
			if err := grantSecretCopies(u); err != nil {
				return nil, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
			}
		}
		if keep {
			objs = append(objs, u)
		}
	}
	for _, u := range objs {
		stamp(u, opts.release)
	}
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return applyRank(a.GroupVersionKind()) - applyRank(b.GroupVersionKind())
	})
	if err := checkUnique(objs); err != nil {
		return nil, err
	}
	return objs, nil
}

// complete validates opts and fills in the defaults.
func (o Options) complete() (Options, error) {
	var errs []error
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if msgs := validation.IsDNS1123Label(o.Namespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("namespace %q: %s", o.Namespace, strings.Join(msgs, "; ")))
	}
	if o.ControllerImage == "" {
		o.ControllerImage = DefaultControllerImage
	}
	if o.APIServerImage == "" {
		o.APIServerImage = DefaultAPIServerImage
	}
	for what, image := range map[string]string{"controller image": o.ControllerImage, "apiserver image": o.APIServerImage} {
		if strings.ContainsAny(image, " \t\n") || strings.HasPrefix(image, "-") {
			errs = append(errs, fmt.Errorf("%s %q is not an image reference", what, image))
		}
	}
	if len(o.CABundle) == 0 && o.TLS != nil {
		o.CABundle = o.TLS.CA
	}
	if len(o.CABundle) > 0 {
		if err := checkPEMCertificates(o.CABundle); err != nil {
			errs = append(errs, fmt.Errorf("CA bundle: %w", err))
		}
	}
	if o.TLS != nil {
		for what, kp := range map[string]KeyPair{"apiserver": o.TLS.APIServer, "webhook": o.TLS.Webhook, "metrics": o.TLS.Metrics} {
			if len(kp.Cert) == 0 || len(kp.Key) == 0 {
				errs = append(errs, fmt.Errorf("TLS: the %s key pair needs both a certificate and a key", what))
			}
		}
	}
	if o.WebhookURL != "" {
		u, err := url.Parse(o.WebhookURL)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("webhook URL: %w", err))
		case u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			// What the API server accepts for a webhook's clientConfig.url.
			errs = append(errs, fmt.Errorf("webhook URL %q must be https://host[:port][/path] without user, query or fragment", o.WebhookURL))
		}
		o.WebhookURL = strings.TrimSuffix(o.WebhookURL, "/")
	}
	if o.APIServerExternalPort < 0 || o.APIServerExternalPort > 65535 {
		errs = append(errs, fmt.Errorf("API server external port %d is not in 1-65535", o.APIServerExternalPort))
	}
	o.release = emulation.Resolve(o.Release)
	if err := emulation.Check(o.release); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("invalid manifest options: %w", errors.Join(errs...))
	}
	return o, nil
}

func checkPEMCertificates(data []byte) error {
	n := 0
	for rest := bytes.TrimSpace(data); len(rest) > 0; rest = bytes.TrimSpace(rest) {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return errors.New("not PEM-encoded certificates")
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("holds a %q block, want only CERTIFICATE", block.Type)
		}
		n++
	}
	if n == 0 {
		return errors.New("no certificate")
	}
	return nil
}

// loadManifests decodes every embedded YAML document, strictly, in file order.
func loadManifests() ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	err := fs.WalkDir(manifests, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(name) != ".yaml" {
			return err
		}
		data, err := manifests.ReadFile(name)
		if err != nil {
			return err
		}
		docs, err := decodeDocuments(data)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		objs = append(objs, docs...)
		return nil
	})
	return objs, err
}

// decodeDocuments splits a multi-document YAML stream into objects; a duplicate key, an
// empty document or one without apiVersion, kind and name is an error.
func decodeDocuments(data []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 0; ; i++ {
		doc, err := reader.Read()
		if err == io.EOF {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		data, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		// Unstructured's own decoder keeps integers as int64, as the clients expect.
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if u.GetName() == "" {
			return nil, fmt.Errorf("document %d: needs apiVersion, kind and metadata.name", i)
		}
		objs = append(objs, u)
	}
}

// customize applies the options to one object from the YAML files.
func customize(u *unstructured.Unstructured, opts Options) error {
	if u.GetNamespace() == placeholderNamespace {
		u.SetNamespace(opts.Namespace)
	}
	if subjects, ok, _ := unstructured.NestedSlice(u.Object, "subjects"); ok {
		for _, s := range subjects {
			if m, _ := s.(map[string]any); m["namespace"] == placeholderNamespace {
				m["namespace"] = opts.Namespace
			}
		}
		if err := unstructured.SetNestedSlice(u.Object, subjects, "subjects"); err != nil {
			return err
		}
	}
	switch u.GetKind() {
	case "Deployment":
		images := map[string]string{ControllerContainer: opts.ControllerImage, APIServerContainer: opts.APIServerImage}
		return mapContainers(u, func(c map[string]any) error {
			image, ok := images[fmt.Sprint(c["name"])]
			if !ok {
				return fmt.Errorf("no image for container %v", c["name"])
			}
			c["image"] = image
			return nil
		})
	case "Service":
		if u.GetName() == APIServerService && opts.APIServerExternalPort != 0 {
			return unstructured.SetNestedField(u.Object, map[string]any{
				"type":         "ExternalName",
				"externalName": "localhost",
				"ports": []any{map[string]any{
					"name": "http-api", "port": int64(opts.APIServerExternalPort), "protocol": "TCP",
				}},
			}, "spec")
		}
	case "APIService":
		if err := setServiceNamespace(u.Object, opts.Namespace, "spec", "service"); err != nil {
			return err
		}
		if opts.APIServerExternalPort != 0 {
			if err := unstructured.SetNestedField(u.Object, int64(opts.APIServerExternalPort), "spec", "service", "port"); err != nil {
				return err
			}
		}
		if len(opts.CABundle) > 0 {
			return unstructured.SetNestedField(u.Object, base64.StdEncoding.EncodeToString(opts.CABundle), "spec", "caBundle")
		}
	case "ValidatingWebhookConfiguration":
		webhooks, _, err := unstructured.NestedSlice(u.Object, "webhooks")
		if err != nil {
			return err
		}
		for _, w := range webhooks {
			m, _ := w.(map[string]any)
			if err := setServiceNamespace(m, opts.Namespace, "clientConfig", "service"); err != nil {
				return err
			}
			cc, _, err := unstructured.NestedMap(m, "clientConfig")
			if err != nil {
				return err
			}
			if opts.WebhookURL != "" {
				p, _, _ := unstructured.NestedString(cc, "service", "path")
				cc = map[string]any{"url": opts.WebhookURL + p}
			}
			if len(opts.CABundle) > 0 {
				cc["caBundle"] = base64.StdEncoding.EncodeToString(opts.CABundle)
			}
			m["clientConfig"] = cc
		}
		return unstructured.SetNestedSlice(u.Object, webhooks, "webhooks")
	}
	return nil
}

func setServiceNamespace(obj map[string]any, ns string, fields ...string) error {
	got, ok, err := unstructured.NestedString(obj, append(fields, "namespace")...)
	if err != nil || !ok || got != placeholderNamespace {
		return err
	}
	return unstructured.SetNestedField(obj, ns, append(fields, "namespace")...)
}

func mapContainers(u *unstructured.Unstructured, f func(map[string]any) error) error {
	containers, _, err := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if err != nil {
		return err
	}
	for _, c := range containers {
		m, _ := c.(map[string]any)
		if err := f(m); err != nil {
			return err
		}
	}
	return unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers")
}

// stamp adds the labels every object carries and, from v0.1.5 on (VersionAnnotated), the
// annotation naming the release, as upstream's build stamps its own version.
func stamp(u *unstructured.Unstructured, v release.Version) {
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[NameLabel] = "virt-template"
	labels[ManagedByLabel] = ManagedBy
	u.SetLabels(labels)
	if !release.For(v).Has(release.VersionAnnotated) {
		return
	}
	annotations := u.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[VersionAnnotation] = v.String()
	u.SetAnnotations(annotations)
}

func tlsSecrets(t *TLS, ns string) []*unstructured.Unstructured {
	secret := func(name string, kp KeyPair) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1",
			"kind":       "Secret",
			"metadata":   map[string]any{"name": name, "namespace": ns},
			"type":       "kubernetes.io/tls",
			"data": map[string]any{
				"tls.crt": base64.StdEncoding.EncodeToString(kp.Cert),
				"tls.key": base64.StdEncoding.EncodeToString(kp.Key),
				"ca.crt":  base64.StdEncoding.EncodeToString(t.CA),
			},
		}}
	}
	return []*unstructured.Unstructured{
		secret(APIServerCertSecret, t.APIServer),
		secret(WebhookCertSecret, t.Webhook),
		secret(MetricsCertSecret, t.Metrics),
	}
}

// kindOrder is the apply order by kind; Delete goes backwards.
var kindOrder = []schema.GroupKind{
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"},
	{Kind: "Namespace"},
	{Kind: "ServiceAccount"},
	{Kind: "Secret"},
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"},
	{Group: "rbac.authorization.k8s.io", Kind: "Role"},
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"},
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"},
	{Kind: "Service"},
	{Group: "apps", Kind: "Deployment"},
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"},
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"},
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"},
	{Group: "apiregistration.k8s.io", Kind: "APIService"},
}

func applyRank(gvk schema.GroupVersionKind) int {
	if i := slices.Index(kindOrder, gvk.GroupKind()); i >= 0 {
		return i
	}
	return len(kindOrder)
}

func checkUnique(objs []*unstructured.Unstructured) error {
	seen := map[string]bool{}
	for _, u := range objs {
		key := u.GroupVersionKind().GroupKind().String() + " " + u.GetNamespace() + "/" + u.GetName()
		if seen[key] {
			return fmt.Errorf("manifests define %s twice", key)
		}
		seen[key] = true
	}
	return nil
}

func toUnstructured(obj any) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	// Typed objects carry these empty; they are not part of a manifest.
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u, nil
}

// YAML renders objects as one multi-document stream (for kubectl apply -f).
func YAML(objs []*unstructured.Unstructured) ([]byte, error) {
	var b bytes.Buffer
	for i, u := range objs {
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(data)
	}
	return b.Bytes(), nil
}

// skipSourceCheck is the capture-skips-source-check fault (Options.FaultCaptureSkipsSourceCheck):
// the policy's source validation (the first, admission/vmtr-authz.yaml) always passes.
func skipSourceCheck(policy *unstructured.Unstructured) error {
	validations, _, err := unstructured.NestedSlice(policy.Object, "spec", "validations")
	if err != nil || len(validations) == 0 {
		return fmt.Errorf("no validations to break (%v)", err)
	}
	first, _ := validations[0].(map[string]any)
	if expr, _ := first["expression"].(string); !strings.Contains(expr, "subresource('source')") {
		return fmt.Errorf("the first validation is not the source check: %s", expr)
	}
	first["expression"] = "true"
	return unstructured.SetNestedSlice(policy.Object, validations, "spec", "validations")
}

// grantSecretCopies is the config half of the copy-source-secrets fault
// (Options.FaultCopySourceSecrets): the controller may read and create Secrets and ConfigMaps,
// which upstream's controller role never grants.
func grantSecretCopies(role *unstructured.Unstructured) error {
	rules, _, err := unstructured.NestedSlice(role.Object, "rules")
	if err != nil {
		return err
	}
	rules = append(rules, map[string]any{
		"apiGroups": []any{""},
		"resources": []any{"secrets", "configmaps"},
		"verbs":     []any{"get", "create"},
	})
	return unstructured.SetNestedSlice(role.Object, rules, "rules")
}

// grantSubresources is the view-may-use-templates fault (Options.FaultViewMayUseTemplates):
// the viewer role gets the rule upstream gives only the admin and editor roles (v0.2.4+).
func grantSubresources(role *unstructured.Unstructured) error {
	rules, _, err := unstructured.NestedSlice(role.Object, "rules")
	if err != nil {
		return err
	}
	rules = append(rules, map[string]any{
		"apiGroups": []any{subresourceGroup},
		"resources": []any{"virtualmachinetemplates/process", "virtualmachinetemplates/create"},
		"verbs":     []any{"create"},
	})
	return unstructured.SetNestedSlice(role.Object, rules, "rules")
}
