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
