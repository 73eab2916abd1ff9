package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// The API group versions the request controller needs (DataVolume; VirtualMachineSnapshot
// and its content). Until both are served the controller is not started (upstream v0.2.1+).
const (
	CDIGroupVersion      = "cdi.kubevirt.io/v1beta1"
	SnapshotGroupVersion = "snapshot.kubevirt.io/v1beta1"
)

// RequiredGroupVersions lists them in the order upstream reports missing ones.
var RequiredGroupVersions = []string{CDIGroupVersion, SnapshotGroupVersion}

// MissingAPIsMessage is the Ready message of requests waiting for missing group versions.
func MissingAPIsMessage(missing []string) string {
	return "Required CRDs are not yet available: " + strings.Join(missing, ", ")
}

// GroupVersionDiscovery is the part of a discovery client the gate uses.
type GroupVersionDiscovery interface {
	ServerResourcesForGroupVersion(groupVersion string) (*metav1.APIResourceList, error)
}

// missingGroupVersions are the required group versions discovery does not serve.
func missingGroupVersions(d GroupVersionDiscovery) []string {
	var missing []string
	for _, gv := range RequiredGroupVersions {
		if _, err := d.ServerResourcesForGroupVersion(gv); err != nil {
			missing = append(missing, gv)
		}
	}
	return missing
}

// availabilityGate starts the request controller once CDI and KubeVirt snapshots are
// served. Until then it polls discovery and marks every request that is not finished or
// being deleted Ready=False/Waiting ("Required CRDs are not yet available: …") and
// Progressing=True/Waiting.
type availabilityGate struct {
	discovery GroupVersionDiscovery
	client    client.Client
	interval  time.Duration
	// startController registers the request controller with the running manager.
	startController func() error
}

// Start implements manager.Runnable. It returns once the controller is registered or ctx
// ends.
func (g *availabilityGate) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("vmtr-availability")
	var ticker *time.Ticker
	for {
		missing := missingGroupVersions(g.discovery)
		if len(missing) == 0 {
			log.Info("All required APIs are available, starting the VirtualMachineTemplateRequest controller")
			if err := g.startController(); err != nil {
				return fmt.Errorf("starting the VirtualMachineTemplateRequest controller: %w", err)
			}
			return nil
		}
		if ticker == nil {
			log.Info("Waiting for required APIs", "missing", missing, "pollInterval", g.interval)
			ticker = time.NewTicker(g.interval)
			defer ticker.Stop()
		}
		g.markWaiting(ctx, missing)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (g *availabilityGate) markWaiting(ctx context.Context, missing []string) {
	log := logf.FromContext(ctx)
	list := &v1beta1.VirtualMachineTemplateRequestList{}
	if err := g.client.List(ctx, list); err != nil {
		log.Error(err, "Listing VirtualMachineTemplateRequests")
		return
	}
	msg := MissingAPIsMessage(missing)
	for i := range list.Items {
		req := &list.Items[i]
		if !req.DeletionTimestamp.IsZero() || !reconcilable(req) {
			continue
		}
		orig := req.DeepCopy()
		setReady(req, metav1.ConditionFalse, v1beta1.ReasonWaiting, "%s", msg)
		setProgressing(req, metav1.ConditionTrue, v1beta1.ReasonWaiting)
		if equality.Semantic.DeepEqual(orig.Status, req.Status) {
			continue
		}
		if err := g.client.Status().Patch(ctx, req, client.MergeFrom(orig)); err != nil {
			log.Error(err, "Marking VirtualMachineTemplateRequest as waiting", "namespace", req.Namespace, "name", req.Name)
		}
	}
}
