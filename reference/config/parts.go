package config

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Part is the component an object belongs to, for callers that install only some of them:
// the hermetic lane runs the API server in-process (identity, Service, APIServices, no
// Deployment) and may have no webhook server (no webhook configuration, which fails closed).
type Part string

const (
	PartCRDs       Part = "crds"
	PartNamespace  Part = "namespace"
	PartAPIServer  Part = "apiserver"  // service account, roles, Service, Deployment, cert Secret, APIServices
	PartController Part = "controller" // service account, roles, Services, Deployment, cert Secrets
	PartWebhook    Part = "webhook"    // the ValidatingWebhookConfiguration
	PartAdmission  Part = "admission"  // the VirtualMachineTemplateRequest policy and its binding
	PartUserRoles  Part = "user-roles" // the ClusterRoles aggregated into admin, edit and view
)

// PartOf says which part of the install u is; "" for an object Objects does not make.
func PartOf(u *unstructured.Unstructured) Part {
	name := u.GetName()
	switch u.GetKind() {
	case "CustomResourceDefinition":
		return PartCRDs
	case "Namespace":
		return PartNamespace
	case "APIService":
		return PartAPIServer
	case "ValidatingWebhookConfiguration":
		return PartWebhook
	case "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
		return PartAdmission
	case "ClusterRole":
		if strings.HasPrefix(name, "virt-template-virtualmachinetemplate") {
			return PartUserRoles
		}
	}
	switch {
	case name == APIServerCertSecret || name == APIServerService || strings.HasPrefix(name, "virt-template-apiserver"):
		return PartAPIServer
	case name == ControllerServiceAccount || name == WebhookService || name == MetricsService ||
		name == WebhookCertSecret || name == MetricsCertSecret || name == ControllerDeployment ||
		strings.HasPrefix(name, "virt-template-manager-") || strings.HasPrefix(name, "virt-template-leader-election-") ||
		strings.HasPrefix(name, "virt-template-metrics-"):
		return PartController
	}
	return ""
}

// Select keeps the objects of the given parts, in order.
func Select(objs []*unstructured.Unstructured, parts ...Part) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if slices.Contains(parts, PartOf(u)) {
			out = append(out, u)
		}
	}
	return out
}
