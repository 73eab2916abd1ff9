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

// CurrentSession is the session this process joined.
func CurrentSession() Session { return session }

// NewRunID makes a short run id from the pid and time.
func NewRunID() string { return fmt.Sprintf("%x", os.Getpid()^int(nowNano()&0xffffff)) }
