package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	virtv1 "kubevirt.io/api/core/v1"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/emulation"
)

// Timing of the controllers, all in one place. Options can override them.
const (
	// DefaultAvailabilityPollInterval is how often the availability gate asks discovery for
	// the CDI and snapshot APIs (upstream: one minute).
	DefaultAvailabilityPollInterval = time.Minute
	// DefaultSnapshotContentRequeue is how long a request waits before looking at a snapshot
	// content that is not readyToUse again (upstream: ten seconds; contents are not watched).
	DefaultSnapshotContentRequeue = 10 * time.Second
)

// LeaderElectionID is upstream's leader election lease name.
const LeaderElectionID = "61e1d0f4.kubevirt.io"

// Options configure Setup. The zero value gives upstream's behaviour, webhooks off.
type Options struct {
	// Expander expands instance types and preferences of captured VMs. Nil: a RESTExpander
	// on the manager's configuration (virt-api's expand-vm-spec subresource).
	Expander Expander
	// EnableWebhooks registers the VirtualMachineTemplate validating webhooks on the
	// manager's webhook server and makes readiness wait for that server.
	EnableWebhooks bool
	// Discovery answers whether the CDI and snapshot APIs are served. Nil: a discovery
	// client on the manager's configuration.
	Discovery GroupVersionDiscovery
	// AvailabilityPollInterval overrides DefaultAvailabilityPollInterval.
	AvailabilityPollInterval time.Duration
	// SnapshotContentRequeue overrides DefaultSnapshotContentRequeue.
	SnapshotContentRequeue time.Duration
	// Clock measures TTLs; nil is the real clock.
	Clock clock.PassiveClock
	// FaultKeepSourceMAC is a deliberate bug for the suite's self-tests (package
	// reference/faults): captured templates keep the source VM's interface MAC addresses.
	// Never set it otherwise.
	FaultKeepSourceMAC bool
	// FaultNeverReconcileTemplates is a deliberate bug for the suite's self-tests: the
	// VirtualMachineTemplate controller never sets Ready. Never set it otherwise.
	FaultNeverReconcileTemplates bool
	// FaultKeepSnapshotOnDelete is a deliberate bug for the suite's self-tests: a deleted
	// request loses its finalizer without its VirtualMachineSnapshot being deleted. Never
	// set it otherwise.
	FaultKeepSnapshotOnDelete bool
	// FaultAdoptForeignTemplate is a deliberate bug for the suite's self-tests: an existing
	// template of the requested name is taken for the request's own whatever its labels.
	// Never set it otherwise.
	FaultAdoptForeignTemplate bool
	// FaultCopySourceSecrets is a deliberate bug for the suite's self-tests: the Secrets and
	// ConfigMaps a captured VM refers to are copied into the template's namespace (the role
	// granting it comes from config.Options.FaultCopySourceSecrets). Never set it otherwise.
	FaultCopySourceSecrets bool
	// Release is the virt-template release to play (release.go); nil means
	// emulation.Default (v0.2.2), a pointer to the unknown version the newest behaviour. The
	// manager must have been built from ManagerOptionsFor the same release.
	Release *release.Version
}

// NewScheme knows every kind the controller manager reads or writes: Kubernetes, KubeVirt
// (VMs, snapshots), CDI DataVolumes and both template API versions.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(virtv1.AddToScheme(s))
	utilruntime.Must(snapshotv1beta1.AddToScheme(s))
	utilruntime.Must(cdiv1beta1.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	utilruntime.Must(v1beta1.AddToScheme(s))
	return s
}

// ManagerOptions is ManagerOptionsFor the default release, emulation.Default.
func ManagerOptions(cfg *rest.Config) (ctrl.Options, error) {
	return ManagerOptionsFor(cfg, emulation.Default)
}

// ManagerOptionsFor are upstream's manager settings minus the servers: NewSchemeFor(v), leader
// election ID, managed fields stripped from cached objects, reads of uncached kinds failing
// instead of silently starting informers, DataVolumes and VirtualMachineSnapshots cached only
// when labelled with a RequestUID, and snapshot contents never cached. As upstream, the label
// filters apply only to APIs served when this is called. Callers add Metrics,
// HealthProbeBindAddress, WebhookServer and LeaderElection.
func ManagerOptionsFor(cfg *rest.Config, v release.Version) (ctrl.Options, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return ctrl.Options{}, fmt.Errorf("creating a discovery client: %w", err)
	}
	requestUID, err := labels.NewRequirement(v1beta1.LabelRequestUID, selection.Exists, nil)
	if err != nil {
		return ctrl.Options{}, err
	}
	labelled := labels.NewSelector().Add(*requestUID)
	byObject := map[client.Object]cache.ByObject{}
	var uncached []client.Object
	if _, err := dc.ServerResourcesForGroupVersion(CDIGroupVersion); err == nil {
		byObject[&cdiv1beta1.DataVolume{}] = cache.ByObject{Label: labelled}
	}
	if _, err := dc.ServerResourcesForGroupVersion(SnapshotGroupVersion); err == nil {
		byObject[&snapshotv1beta1.VirtualMachineSnapshot{}] = cache.ByObject{Label: labelled}
		uncached = append(uncached, &snapshotv1beta1.VirtualMachineSnapshotContent{})
	}
	return ctrl.Options{
		Scheme:           NewSchemeFor(v),
		LeaderElectionID: LeaderElectionID,
		Cache: cache.Options{
			ReaderFailOnMissingInformer: true,
			DefaultTransform:            cache.TransformStripManagedFields(),
			ByObject:                    byObject,
		},
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: uncached}},
	}, nil
}

// Setup adds to mgr (built from ManagerOptionsFor opts.Release, not yet started) the
// VirtualMachineTemplate controller, the availability gate that starts the
// VirtualMachineTemplateRequest controller once CDI and KubeVirt snapshots are served (v0.2.1+;
// older releases set the request controller up at once), the validating webhooks when
// opts.EnableWebhooks, and the readyz checks "informers" (the template caches have synced)
// and, with webhooks, "webhook" (the server answers TLS).
func Setup(mgr ctrl.Manager, opts Options) error {
	if mgr == nil {
		return errors.New("controller.Setup: nil manager")
	}
	rel, err := resolveRelease(opts.Release)
	if err != nil {
		return err
	}
	if err := checkScheme(mgr.GetScheme(), rel); err != nil {
		return err
	}
	if opts.AvailabilityPollInterval < 0 || opts.SnapshotContentRequeue < 0 {
		return errors.New("controller.Setup: intervals must not be negative")
	}
	if opts.AvailabilityPollInterval == 0 {
		opts.AvailabilityPollInterval = DefaultAvailabilityPollInterval
	}
	if opts.SnapshotContentRequeue == 0 {
		opts.SnapshotContentRequeue = DefaultSnapshotContentRequeue
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Expander == nil {
		e, err := NewRESTExpander(mgr.GetConfig())
		if err != nil {
			return err
		}
		opts.Expander = e
	}
	if opts.Discovery == nil {
		dc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
		if err != nil {
			return fmt.Errorf("creating a discovery client: %w", err)
		}
		opts.Discovery = dc
	}

	if err := (&templateReconciler{client: mgr.GetClient(), faultNeverReconcile: opts.FaultNeverReconcileTemplates}).setup(mgr); err != nil {
		return fmt.Errorf("setting up the VirtualMachineTemplate controller: %w", err)
	}
	// The index must exist before the cache starts; the request controller that uses it
	// may only be registered later by the gate.
	if err := indexRequestsByUID(context.Background(), mgr); err != nil {
		return fmt.Errorf("indexing VirtualMachineTemplateRequests by UID: %w", err)
	}
	requests := &requestReconciler{
		client:         mgr.GetClient(),
		apiReader:      mgr.GetAPIReader(),
		scheme:         mgr.GetScheme(),
		expander:       opts.Expander,
		clock:          opts.Clock,
		contentRequeue: opts.SnapshotContentRequeue,
		faultKeepMAC:   opts.FaultKeepSourceMAC,
		faultKeepSnap:  opts.FaultKeepSnapshotOnDelete,
		faultAdopt:     opts.FaultAdoptForeignTemplate,
		faultCopy:      opts.FaultCopySourceSecrets,
		release:        rel,
	}
	if !rel.Has(release.RequestControllerWaitsForAPIs) {
		// Before v0.2.1 (cmd/main.go@v0.2.0:237-244) the request controller is set up at
		// start, whatever APIs exist.
		if err := requests.setup(mgr); err != nil {
			return fmt.Errorf("setting up the VirtualMachineTemplateRequest controller: %w", err)
		}
	} else if err := mgr.Add(&availabilityGate{
		discovery:       opts.Discovery,
		client:          mgr.GetClient(),
		interval:        opts.AvailabilityPollInterval,
		startController: func() error { return requests.setup(mgr) },
	}); err != nil {
		return fmt.Errorf("adding the VirtualMachineTemplateRequest availability gate: %w", err)
	}

	synced := &syncMarker{cache: mgr.GetCache()}
	if err := mgr.Add(synced); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("informers", synced.check); err != nil {
		return err
	}
	if opts.EnableWebhooks {
		if err := setupWebhooks(mgr, rel); err != nil {
			return err
		}
		if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
			return err
		}
	}
	return nil
}

// syncMarker records that the caches of the template kinds have synced; it runs on every
// replica, leader or not.
type syncMarker struct {
	cache  cache.Cache
	synced atomic.Bool
}

func (m *syncMarker) NeedLeaderElection() bool { return false }

func (m *syncMarker) Start(ctx context.Context) error {
	for _, obj := range []client.Object{&v1beta1.VirtualMachineTemplate{}, &v1beta1.VirtualMachineTemplateRequest{}} {
		if _, err := m.cache.GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("starting the %T informer: %w", obj, err)
		}
	}
	if m.cache.WaitForCacheSync(ctx) {
		m.synced.Store(true)
	}
	return nil
}

func (m *syncMarker) check(*http.Request) error {
	if !m.synced.Load() {
		return errors.New("informer caches have not synced yet")
	}
	return nil
}
