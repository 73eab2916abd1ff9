package kind

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	refconfig "github.com/vmt-conformance/vmt-conformance/reference/config"
)

// Release manifests of the pinned CDI, as its install guide applies them.
var (
	CDIOperatorURL = "https://github.com/kubevirt/containerized-data-importer/releases/download/" + CDIVersion + "/cdi-operator.yaml"
	CDICRURL       = "https://github.com/kubevirt/containerized-data-importer/releases/download/" + CDIVersion + "/cdi-cr.yaml"
)

// KubeVirtOperatorURL and KubeVirtCRURL are the release manifests of KubeVirt version
// (a profile's KubeVirtVersion, e.g. "v1.8.4"), as its install guide applies them.
func KubeVirtOperatorURL(version string) string {
	return "https://github.com/kubevirt/kubevirt/releases/download/" + version + "/kubevirt-operator.yaml"
}

// KubeVirtCRURL: see KubeVirtOperatorURL.
func KubeVirtCRURL(version string) string {
	return "https://github.com/kubevirt/kubevirt/releases/download/" + version + "/kubevirt-cr.yaml"
}

// Where the release manifests put KubeVirt and CDI.
const (
	KubeVirtNamespace = "kubevirt"
	KubeVirtName      = "kubevirt"
	CDIName           = "cdi"
)

// TemplateGate is KubeVirt's feature gate of the template feature.
const TemplateGate = "Template"

// KubeVirtPatch is the JSON merge patch the lane applies to the release's KubeVirt CR:
//   - useEmulation: guests boot without /dev/kvm inside kind's node containers;
//   - featureGates: the profile's (local.Profile.FeatureGates: Template and Snapshot), so
//     KubeVirt serves what the template feature needs of it. KubeVirt 1.8 enables neither
//     Alpha (Template) nor Beta (Snapshot) gates unless listed; 1.9 has both Beta and on,
//     and listing them there is harmless: the list stays explicit for both;
//   - virtTemplateDeployment.enabled false, so virt-operator does not deploy its own
//     virt-template: the lane installs the reference components from reference/config.
//
// A merge patch replaces featureGates as a whole; the release CR lists none.
func KubeVirtPatch(featureGates []string) []byte {
	patch := map[string]any{"spec": map[string]any{"configuration": map[string]any{
		"developerConfiguration": map[string]any{
			"useEmulation": true,
			"featureGates": featureGates,
		},
		"virtTemplateDeployment": map[string]any{"enabled": false},
	}}}
	raw, err := json.Marshal(patch)
	if err != nil {
		panic(err) // plain maps: cannot fail
	}
	return raw
}

// TemplateManifests are the reference template components for the kind cluster: the
// manifests of reference/config in KubeVirt's namespace, with the images the lane built and
// loaded, self-signed serving certificates (virt-operator would issue them; here it is
// told not to deploy the feature), rendered as virt-template release virtTemplate (the one
// the profile's KubeVirt bundles) with both Deployments run with --emulate-release of it.
func TemplateManifests(controllerImage, apiServerImage string, virtTemplate release.Version) ([]*unstructured.Unstructured, error) {
	tls, err := refconfig.SelfSignedTLS(KubeVirtNamespace)
	if err != nil {
		return nil, fmt.Errorf("issuing the template components' certificates: %w", err)
	}
	return refconfig.Objects(refconfig.Options{
		Namespace:       KubeVirtNamespace,
		TLS:             tls,
		ControllerImage: controllerImage,
		APIServerImage:  apiServerImage,
		Release:         &virtTemplate,
	})
}
