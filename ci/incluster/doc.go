// Package incluster holds the manifests that run the suite inside a cluster (namespace.yaml,
// rbac.yaml, job.yaml, kustomization.yaml) and, in its test, the checks that they decode,
// agree with each other, with the image contract and with ci/sonobuoy/plugin.yaml, and grant
// the service account what the suite does, and not more than rbac.yaml says.
package incluster
