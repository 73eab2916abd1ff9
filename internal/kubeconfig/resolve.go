package kubeconfig

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"
)

// ServiceAccountDir is where the kubelet mounts a pod's service-account token, CA bundle and
// namespace (the paths rest.InClusterConfig reads, k8s.io/client-go rest/config.go v0.34).
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// Sources are the places a kubeconfig may come from, in the order Resolve tries them:
//
//  1. Explicit: --vmt.kubeconfig or KUBECONFIG (a list: its first file must exist); when set it
//     wins, and a missing file is an error rather than a fall-through;
//  2. Home/.kube/config when that file exists;
//  3. the pod's service account, when Getenv says KUBERNETES_SERVICE_HOST and _PORT are set
//     and ServiceAccountDir holds a token (what rest.InClusterConfig needs).
type Sources struct {
	Explicit string
	Home     string
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// ServiceAccountDir overrides ServiceAccountDir (tests).
	ServiceAccountDir string
}

// Resolved says which identity the suite uses. Exactly one of Path and InCluster is set.
type Resolved struct {
	// Path is the kubeconfig (possibly a KUBECONFIG list) to load.
	Path string
	// From says where Path came from: "--vmt.kubeconfig/KUBECONFIG" or "~/.kube/config".
	From string
	// InCluster is the pod's service account.
	InCluster *InCluster
}

// InCluster describes the pod whose service account the suite uses.
type InCluster struct {
	Host, Port string
	TokenFile  string
	CAFile     string
	// Namespace and Pod name the pod (Namespace from the mounted namespace file, else
	// POD_NAMESPACE; Pod from POD_NAME, else HOSTNAME, which is the pod name by default).
	Namespace, Pod string
	// ServiceAccount is SERVICE_ACCOUNT when the manifest passes spec.serviceAccountName
	// through the downward API (ci/incluster/job.yaml does); "" otherwise.
	ServiceAccount string
}

// Server is the API server URL the in-cluster config talks to.
func (c InCluster) Server() string { return "https://" + net.JoinHostPort(c.Host, c.Port) }

// Line is the one line the providers print: which identity the run uses.
func (r Resolved) Line() string {
	if r.InCluster == nil {
		return fmt.Sprintf("using kubeconfig %s (from %s)", r.Path, r.From)
	}
	c := r.InCluster
	sa := ""
	if c.ServiceAccount != "" {
		sa = " (" + c.ServiceAccount + ")"
	}
	return fmt.Sprintf("using the in-cluster service account%s of pod %s/%s, API server %s", sa, orUnknown(c.Namespace), orUnknown(c.Pod), c.Server())
}

// ErrNoKubeconfig is returned when no source offers a cluster.
var ErrNoKubeconfig = errors.New("no kubeconfig for the existing provider: set KUBECONFIG or --vmt.kubeconfig, run inside a pod with a service account, or run the hermetic lane with --vmt.provider=local")

// Resolve picks the cluster identity from s (order in Sources).
func Resolve(s Sources) (Resolved, error) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if s.Explicit != "" {
		first := filepath.SplitList(s.Explicit)[0]
		if !isFile(first) {
			return Resolved{}, fmt.Errorf("kubeconfig %s does not exist (from KUBECONFIG or --vmt.kubeconfig)", first)
		}
		return Resolved{Path: s.Explicit, From: "--vmt.kubeconfig/KUBECONFIG"}, nil
	}
	if s.Home != "" {
		if p := filepath.Join(s.Home, ".kube", "config"); isFile(p) {
			return Resolved{Path: p, From: "~/.kube/config"}, nil
		}
	}
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return Resolved{}, ErrNoKubeconfig
	}
	dir := s.ServiceAccountDir
	if dir == "" {
		dir = ServiceAccountDir
	}
	c := &InCluster{Host: host, Port: port, TokenFile: filepath.Join(dir, "token"), CAFile: filepath.Join(dir, "ca.crt"),
		Pod: firstOf(getenv("POD_NAME"), getenv("HOSTNAME")), ServiceAccount: getenv("SERVICE_ACCOUNT")}
	if !isFile(c.TokenFile) {
		return Resolved{}, fmt.Errorf("%w (in a pod, KUBERNETES_SERVICE_HOST is set but %s is missing: is automountServiceAccountToken off?)", ErrNoKubeconfig, c.TokenFile)
	}
	if ns, err := os.ReadFile(filepath.Join(dir, "namespace")); err == nil {
		c.Namespace = strings.TrimSpace(string(ns))
	}
	c.Namespace = firstOf(c.Namespace, getenv("POD_NAMESPACE"))
	return Resolved{InCluster: c}, nil
}

func isFile(p string) bool {
	info, err := os.Stat(p)
	return err == nil && !info.IsDir()
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// WriteForChildren writes cfg (typically rest.InClusterConfig's) as dir/kubeconfig for the
// processes the suite starts (ginkgo's suite processes, virtctl, kubectl): they then need
// no in-cluster support of their own. With a token file, only the file is referenced, so a
// rotated projected token is re-read, and the file holds no secret.
func WriteForChildren(dir string, cfg *rest.Config) (string, error) {
	c := rest.CopyConfig(cfg)
	if c.BearerTokenFile != "" {
		c.BearerToken = ""
	}
	path := filepath.Join(dir, "kubeconfig")
	return path, Write(path, "in-cluster", c)
}
