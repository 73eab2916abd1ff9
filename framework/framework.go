// Package framework holds what every spec shares: the configuration, the cluster the suite
// runs against (connected once per Ginkgo process), its capabilities, and the admin clients.
// Specs reach the cluster through the noun packages (namespace, rbac, ...) built on this.
package framework

import (
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/vmt-conformance/vmt-conformance/framework/client"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/framework/config"
	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/framework/sut"
)

// Session is what the first Ginkgo process hands to the others after bringing the cluster up.
type Session struct {
	RunID          string `json:"runID"`
	Provider       string `json:"provider"`
	KubeconfigPath string `json:"kubeconfigPath"`
	Kubeconfig     []byte `json:"kubeconfig"`
	Capabilities   string `json:"capabilities"`
	// ComponentLogs are the template components' log files when the provider that the first
	// process brought up has them (cluster.ComponentLogger), for the failure dumps.
	ComponentLogs []string `json:"componentLogs,omitempty"`
	// SUT is the system under test the first process detected (framework/sut).
	SUT sut.SUT `json:"sut"`
}

// Encode serialises the session for SynchronizedBeforeSuite.
func (s Session) Encode() []byte {
	raw, err := json.Marshal(s)
	if err != nil {
		panic(err) // only plain fields: cannot fail
	}
	return raw
}

var (
	cfg     *config.Config
	session Session
	caps    cluster.Capabilities
	admin   *client.Clients
)

// Connect joins this process to the session: admin clients and capabilities.
func Connect(c *config.Config, raw []byte) error {
	var s Session
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("decoding suite session: %w", err)
	}
	restCfg, err := clientcmd.RESTConfigFromKubeConfig(s.Kubeconfig)
	if err != nil {
		return fmt.Errorf("reading the cluster's kubeconfig: %w", err)
	}
	restCfg.QPS, restCfg.Burst = 100, 200
	restCfg.UserAgent = "vmt-conformance/" + s.RunID
	// Every client built from here on (admin, personas) speaks the cluster's template API
	// version with the v1beta1 Go types (framework/client/version.go).
	client.SetSpokenVersion(s.SUT.TemplateVersion())
	cs, err := client.New(restCfg)
	if err != nil {
		return err
	}
	capabilities, err := cluster.DecodeCapabilities(s.Capabilities)
	if err != nil {
		return err
	}
	cfg, session, caps, admin = c, s, capabilities, cs
	return nil
}

// Config is the suite's configuration.
func Config() *config.Config { return cfg }

// Admin are the cluster-admin clients.
func Admin() *client.Clients { return admin }

// Capabilities of the cluster under test.
func Capabilities() cluster.Capabilities { return caps }

// RunID identifies this run in labels of everything the suite creates.
func RunID() string { return session.RunID }

// SUT is the system under test: versions served, preferred and spoken, KubeVirt and
// virt-template versions (and how they were learned), the implementation and profile.
func SUT() sut.SUT { return session.SUT }

// Release is the virt-template behaviour specs expect: the detected release, or the one
// --vmt.expect-release forces; unknown means the newest behaviour.
//
//	if framework.Release().Has(release.StripsMACSerialUUID) { … }
func Release() release.Release { return session.SUT.Release() }

// SubresourceVersion is the subresources.template.kubevirt.io version the suite speaks,
// for /process and /create: v1beta1, or v1alpha1 on a cluster that serves only that.
func SubresourceVersion() string { return session.SUT.SubresourceVersion() }

// TemplateVersion is the template.kubevirt.io version the clients speak on the wire.
func TemplateVersion() string { return session.SUT.TemplateVersion() }

// CurrentSession is the session this process joined.
func CurrentSession() Session { return session }

// NewRunID makes a short run id from the pid and time.
func NewRunID() string { return fmt.Sprintf("%x", os.Getpid()^int(nowNano()&0xffffff)) }
