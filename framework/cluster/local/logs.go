package local

import (
	"path/filepath"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
)

var _ cluster.ComponentLogger = (*Provider)(nil)

// ComponentLogs implements cluster.ComponentLogger: the logs of the template API server and
// controller the simulator runs (sim/logs/) and the simulator's own.
func (p *Provider) ComponentLogs() []string {
	if p.cp == nil {
		return nil
	}
	return []string{filepath.Join(p.cp.Dir(), "sim", "logs"), filepath.Join(p.cp.Dir(), "logs", "vmt-sim.log")}
}
