package apiserver

import (
	"reflect"

	"k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
	kubevirtopenapi "kubevirt.io/client-go/api"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
)

// OpenAPI is served (v2 and v3) as upstream does, and k8s.io/apiserver needs the v3 models
// anyway to build the managed-fields type converter of every installed resource.

var openAPIInfo = &spec.Info{InfoProps: spec.InfoProps{
	Title:       "KubeVirt Template API",
	Description: "The /process and /create subresources of VirtualMachineTemplates (vmt-conformance reference implementation).",
}}

const defaultResponseDescription = "Default Response."

func openAPIConfig() *common.Config {
	namer := openapi.NewDefinitionNamer(Scheme)
	return &common.Config{
		ProtocolList:          []string{"https"},
		Info:                  openAPIInfo,
		DefaultResponse:       &spec.Response{ResponseProps: spec.ResponseProps{Description: defaultResponseDescription}},
		GetOperationIDAndTags: openapi.GetOperationIDAndTags,
		GetDefinitionName:     namer.GetDefinitionName,
		GetDefinitions:        openAPIDefinitions,
	}
}

func openAPIV3Config() *common.OpenAPIV3Config {
	namer := openapi.NewDefinitionNamer(Scheme)
	cfg := &common.OpenAPIV3Config{
		Info:                  openAPIInfo,
		DefaultResponse:       &spec3.Response{ResponseProps: spec3.ResponseProps{Description: defaultResponseDescription}},
		GetOperationIDAndTags: openapi.GetOperationIDAndTags,
		GetDefinitionName:     namer.GetDefinitionName,
		GetDefinitions:        openAPIDefinitions,
	}
	cfg.Definitions = cfg.GetDefinitions(func(name string) spec.Ref {
		defName, _ := cfg.GetDefinitionName(name)
		return spec.MustCreateRef("#/components/schemas/" + common.EscapeJsonPointer(defName))
	})
	return cfg
}

// openAPIDefinitions are KubeVirt's generated definitions (which carry the Kubernetes types
// they use: ObjectMeta, ObjectReference, Status, …) plus the subresource types of both
// versions, written here from their Go declarations.
func openAPIDefinitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	defs := kubevirtopenapi.GetOpenAPIDefinitions(ref)
	for _, pkg := range []string{
		reflect.TypeFor[subresourcesv1alpha1.ProcessOptions]().PkgPath(),
		reflect.TypeFor[subresourcesv1beta1.ProcessOptions]().PkgPath(),
	} {
		defs[pkg+".VirtualMachineTemplate"] = objectDefinition(ref,
			"VirtualMachineTemplate exists only because k8s.io/apiserver cannot serve a subresource without storage for its parent; it has no verbs and is hidden from discovery.",
			nil, nil)
		defs[pkg+".ProcessOptions"] = objectDefinition(ref,
			"ProcessOptions is the body of a /process or /create request.",
			map[string]spec.Schema{
				"parameters": {SchemaProps: spec.SchemaProps{
					Description: "Parameters override the values of the template's parameters by name. A name the template does not declare makes the request fail with 409 Conflict.",
					Type:        []string{"object"},
					AdditionalProperties: &spec.SchemaOrBool{Allows: true, Schema: &spec.Schema{
						SchemaProps: spec.SchemaProps{Type: []string{"string"}, Default: ""},
					}},
				}},
			}, nil)
		defs[pkg+".ProcessedVirtualMachineTemplate"] = objectDefinition(ref,
			"ProcessedVirtualMachineTemplate is the answer of /process (the rendered VirtualMachine) and of /create (the VirtualMachine as created).",
			map[string]spec.Schema{
				"templateRef": {SchemaProps: spec.SchemaProps{
					Description: "TemplateRef is the namespace and name of the processed template.",
					Ref:         ref("k8s.io/api/core/v1.ObjectReference"),
				}},
				"virtualMachine": {SchemaProps: spec.SchemaProps{
					Description: "VirtualMachine is the result.",
					Ref:         ref("kubevirt.io/api/core/v1.VirtualMachine"),
				}},
				"message": {SchemaProps: spec.SchemaProps{
					Description: "Message is the template's message with parameters substituted.",
					Type:        []string{"string"},
				}},
			}, []string{"virtualMachine"},
			"k8s.io/api/core/v1.ObjectReference", "kubevirt.io/api/core/v1.VirtualMachine")
	}
	defs["k8s.io/apimachinery/pkg/version.Info"] = versionInfoDefinition()
	return defs
}

// versionInfoDefinition describes /version, which every generic API server serves;
// KubeVirt's definitions do not include it.
func versionInfoDefinition() common.OpenAPIDefinition {
	props := map[string]spec.Schema{}
	var required []string
	for _, f := range []struct {
		name     string
		required bool
	}{
		{"major", true}, {"minor", true},
		{"emulationMajor", false}, {"emulationMinor", false},
		{"minCompatibilityMajor", false}, {"minCompatibilityMinor", false},
		{"gitVersion", true}, {"gitCommit", true}, {"gitTreeState", true}, {"buildDate", true},
		{"goVersion", true}, {"compiler", true}, {"platform", true},
	} {
		props[f.name] = spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"string"}, Default: ""}}
		if f.required {
			required = append(required, f.name)
		}
	}
	return common.OpenAPIDefinition{Schema: spec.Schema{SchemaProps: spec.SchemaProps{
		Description: "Info contains versioning information.",
		Type:        []string{"object"},
		Properties:  props,
		Required:    required,
	}}}
}

// objectDefinition is a root kind: apiVersion, kind and metadata, then props.
func objectDefinition(ref common.ReferenceCallback, description string, props map[string]spec.Schema, required []string, deps ...string) common.OpenAPIDefinition {
	all := map[string]spec.Schema{
		"kind": {SchemaProps: spec.SchemaProps{
			Description: "Kind is a string value representing the REST resource this object represents. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
			Type:        []string{"string"},
		}},
		"apiVersion": {SchemaProps: spec.SchemaProps{
			Description: "APIVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
			Type:        []string{"string"},
		}},
		"metadata": {SchemaProps: spec.SchemaProps{
			Default: map[string]any{},
			Ref:     ref("k8s.io/apimachinery/pkg/apis/meta/v1.ObjectMeta"),
		}},
	}
	for name, s := range props {
		all[name] = s
	}
	return common.OpenAPIDefinition{
		Schema: spec.Schema{SchemaProps: spec.SchemaProps{
			Description: description,
			Type:        []string{"object"},
			Properties:  all,
			Required:    required,
		}},
		Dependencies: append([]string{"k8s.io/apimachinery/pkg/apis/meta/v1.ObjectMeta"}, deps...),
	}
}
