package kind

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	refconfig "github.com/vmt-conformance/vmt-conformance/reference/config"
)

// Release manifests of the pinned KubeVirt and CDI, as their install guides apply them.
var (
	KubeVirtOperatorURL = "https://github.com/kubevirt/kubevirt/releases/download/" + KubeVirtVersion + "/kubevirt-operator.yaml"
	KubeVirtCRURL       = "https://github.com/kubevirt/kubevirt/releases/download/" + KubeVirtVersion + "/kubevirt-cr.yaml"
	CDIOperatorURL      = "https://github.com/kubevirt/containerized-data-importer/releases/download/" + CDIVersion + "/cdi-operator.yaml"
	CDICRURL            = "https://github.com/kubevirt/containerized-data-importer/releases/download/" + CDIVersion + "/cdi-cr.yaml"
)

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
//   - the Template gate on, so KubeVirt serves what the template feature needs of it;
//   - virtTemplateDeployment.enabled false, so virt-operator does not deploy its own
//     virt-template: the lane installs the reference components from reference/config.
//
// A merge patch replaces featureGates as a whole; the release CR lists none.
func KubeVirtPatch() []byte {
	patch := map[string]any{"spec": map[string]any{"configuration": map[string]any{
		"developerConfiguration": map[string]any{
			"useEmulation": true,
			"featureGates": []string{TemplateGate},
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
// loaded, and self-signed serving certificates (virt-operator would issue them; here it is
// told not to deploy the feature).
func TemplateManifests(controllerImage, apiServerImage string) ([]*unstructured.Unstructured, error) {
	tls, err := refconfig.SelfSignedTLS(KubeVirtNamespace)
	if err != nil {
		return nil, fmt.Errorf("issuing the template components' certificates: %w", err)
	}
	return refconfig.Objects(refconfig.Options{
		Namespace:       KubeVirtNamespace,
		TLS:             tls,
		ControllerImage: controllerImage,
		APIServerImage:  apiServerImage,
	})
}
