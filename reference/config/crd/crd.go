// Package crd holds the CustomResourceDefinitions of template.kubevirt.io that
// ci/tools/generate.sh writes into bases/ from reference/api/core/{v1alpha1,v1beta1}.
// They match upstream kubevirt/virt-template v0.2.x except for descriptions and the
// controller-gen version annotation.
package crd

import (
	"embed"
	"fmt"
	"io/fs"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
)

//go:embed bases/*.yaml
var bases embed.FS

// Files of the generated CRDs, for callers that need paths or bytes.
const (
	TemplatesFile = "bases/template.kubevirt.io_virtualmachinetemplates.yaml"
	RequestsFile  = "bases/template.kubevirt.io_virtualmachinetemplaterequests.yaml"
)

// Bases is the embedded bases/ directory.
func Bases() fs.FS { return bases }

// CustomResourceDefinitions decodes both CRDs, templates first (for envtest's
// CRDInstallOptions.CRDs, or to apply them to a cluster).
func CustomResourceDefinitions() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, name := range []string{TemplatesFile, RequestsFile} {
		data, err := bases.ReadFile(name)
		if err != nil {
			return nil, err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", name, err)
		}
		crds = append(crds, crd)
	}
	return crds, nil
}

// Names of the CRDs and their versions.
const (
	TemplatesName = "virtualmachinetemplates.template.kubevirt.io"
	RequestsName  = "virtualmachinetemplaterequests.template.kubevirt.io"
	V1alpha1      = "v1alpha1"
	V1beta1       = "v1beta1"
)

// CustomResourceDefinitionsFor derives from the generated CRDs (which are v0.2.x's) the
// CRDs release v serves, asking the behaviour table only (framework/release):
//   - without ServesV1beta1 (before v0.2.0) the v1beta1 version is dropped and v1alpha1,
//     the storage version either way, is the only one;
//   - without DeprecatesV1alpha1 v1alpha1 is not marked deprecated;
//   - without RequestTemplateLabels the request spec has no templateLabels property (and so
//     no CEL rule on it), without RequestTTL no ttlSecondsAfterFinished: kube-apiserver
//     prunes them, or refuses them under fieldValidation=Strict.
//
// The unknown version gives the generated CRDs unchanged (newest behaviour).
func CustomResourceDefinitionsFor(v release.Version) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	crds, err := CustomResourceDefinitions()
	if err != nil {
		return nil, err
	}
	rel := release.For(v)
	for _, c := range crds {
		var versions []apiextensionsv1.CustomResourceDefinitionVersion
		for _, ver := range c.Spec.Versions {
			if ver.Name == V1beta1 && !rel.Has(release.ServesV1beta1) {
				continue
			}
			if ver.Name == V1alpha1 && !rel.Has(release.DeprecatesV1alpha1) {
				ver.Deprecated, ver.DeprecationWarning = false, nil
			}
			if c.Name == RequestsName && ver.Schema != nil && ver.Schema.OpenAPIV3Schema != nil {
				if spec, ok := ver.Schema.OpenAPIV3Schema.Properties["spec"]; ok {
					if !rel.Has(release.RequestTemplateLabels) {
						delete(spec.Properties, "templateLabels")
					}
					if !rel.Has(release.RequestTTL) {
						delete(spec.Properties, "ttlSecondsAfterFinished")
					}
					ver.Schema.OpenAPIV3Schema.Properties["spec"] = spec
				}
			}
			versions = append(versions, ver)
		}
		if len(versions) == 0 {
			return nil, fmt.Errorf("CRD %s: no version left for virt-template %s", c.Name, v)
		}
		storage := 0
		for _, ver := range versions {
			if ver.Storage {
				storage++
			}
		}
		if storage != 1 {
			return nil, fmt.Errorf("CRD %s: %d storage versions for virt-template %s", c.Name, storage, v)
		}
		c.Spec.Versions = versions
	}
	return crds, nil
}
