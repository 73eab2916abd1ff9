package controller_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/vmt-conformance/vmt-conformance/fixtures/crds"
	cluster "github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/framework/inforce"
	"github.com/vmt-conformance/vmt-conformance/internal/pki"
	"github.com/vmt-conformance/vmt-conformance/internal/testcluster"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core"
	"github.com/vmt-conformance/vmt-conformance/reference/controller"
)

// Timing of the tests, all in one place.
const (
	// settle is how long a test waits for the controllers or the API server to act.
	settle = 30 * time.Second
	// poll is the interval of every wait.
	poll = 100 * time.Millisecond
	// hold is how long a test watches for something that must not happen.
	hold = 2 * time.Second
	// contentRequeue replaces upstream's ten seconds before a not-ready snapshot content is
	// looked at again.
	contentRequeue = time.Second
)

// The package's one cluster and controller manager; nil under -short.
var (
	admin    *rest.Config
	k8s      client.Client
	expander = &fakeExpander{}
	// webhookCA signs the webhook server's certificate; tests register webhook
	// configurations with it.
	webhookCA   []byte
	webhookPort int
)

// TestMain starts one hermetic control plane with the template, KubeVirt and CDI CRDs and
// one controller manager (webhooks on 127.0.0.1, a fake expander) that every test shares.
func TestMain(m *testing.M) {
	testcluster.Main(m, testcluster.Options{Templates: true, Sets: []crds.Set{crds.KubeVirt, crds.CDI},
		Started: func(ctx context.Context, cp *cluster.ControlPlane) (func(), error) {
			admin = cp.RESTConfig()
			stop, err := startManager(ctx, cp.Dir())
			if err != nil {
				return nil, fmt.Errorf("starting the controller manager: %w", err)
			}
			return stop, nil
		}})
}

// startManager runs the controller manager as the binary does, with a fake expander and
// the webhook server on a free loopback port, and waits for its /readyz.
func startManager(ctx context.Context, dir string) (stop func(), err error) {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapLevel())))
	certDir := filepath.Join(dir, "controller-certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return nil, err
	}
	ca, err := pki.NewCA("vmt-template-controller-ca")
	if err != nil {
		return nil, err
	}
	serving, err := ca.Issue("vmt-template-controller", pki.Server, "localhost")
	if err != nil {
		return nil, err
	}
	if _, _, err := serving.Write(certDir, "tls"); err != nil {
		return nil, err
	}
	webhookCA = ca.CertPEM
	if webhookPort, err = freePort(); err != nil {
		return nil, err
	}
	probePort, err := freePort()
	if err != nil {
		return nil, err
	}

	opts, err := controller.ManagerOptions(admin)
	if err != nil {
		return nil, err
	}
	opts.Metrics = metricsserver.Options{BindAddress: "0"}
	opts.HealthProbeBindAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(probePort))
	opts.WebhookServer = webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: webhookPort, CertDir: certDir})
	mgr, err := ctrl.NewManager(admin, opts)
	if err != nil {
		return nil, err
	}
	if err := controller.Setup(mgr, controller.Options{
		Expander:               expander,
		EnableWebhooks:         true,
		SnapshotContentRequeue: contentRequeue,
	}); err != nil {
		return nil, err
	}
	if k8s, err = client.New(admin, client.Options{Scheme: controller.NewScheme()}); err != nil {
		return nil, err
	}

	mgrCtx, mgrCancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	stop = func() {
		mgrCancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "controller manager:", err)
		}
	}
	readyz := fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort)
	err = wait.PollUntilContextTimeout(ctx, poll, settle, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-done:
			return false, fmt.Errorf("manager stopped: %w", err)
		default:
		}
		return httpOK(ctx, readyz), nil
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("waiting for %s: %w", readyz, err)
	}
	return stop, nil
}

// zapLevel logs everything under -v; otherwise nothing short of a panic, since the tests
// provoke reconcile errors on purpose.
func zapLevel() zapcore.Level {
	if testing.Verbose() {
		return zapcore.InfoLevel
	}
	return zapcore.DPanicLevel
}

func httpOK(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = res.Body.Close()
	return res.StatusCode == http.StatusOK
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// needCluster skips a test under -short.
func needCluster(t *testing.T) {
	t.Helper()
	if admin == nil {
		t.Skip("needs the hermetic control plane (not under -short)")
	}
}

// newNamespace creates a namespace of the test's own, deleted when it ends.
func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), ns) })
	return ns.Name
}

// fakeExpander stands in for virt-api's expand-spec: it inlines an instance type as CPU
// cores (1 per letter of its name, enough to be seen) and drops the reference, and records
// each call.
type fakeExpander struct {
	mu    sync.Mutex
	calls []string // namespace/name
}

func (f *fakeExpander) ExpandVirtualMachine(_ context.Context, namespace string, vm *virtv1.VirtualMachine) (*virtv1.VirtualMachine, error) {
	f.mu.Lock()
	f.calls = append(f.calls, namespace+"/"+vm.Name)
	f.mu.Unlock()
	out := vm.DeepCopy()
	if out.Spec.Instancetype != nil {
		if out.Spec.Template == nil {
			return nil, errors.New("fake expander: instance type without template")
		}
		out.Spec.Template.Spec.Domain.CPU = &virtv1.CPU{Cores: uint32(len(out.Spec.Instancetype.Name))}
		out.Spec.Instancetype = nil
	}
	return out, nil
}

func (f *fakeExpander) called(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c == key {
			return true
		}
	}
	return false
}

// registerWebhooks installs upstream's ValidatingWebhookConfiguration, pointed at the test
// manager, with matchPolicy Exact so each version's webhook is tested on its own, and waits
// until kube-apiserver calls it.
func registerWebhooks(t *testing.T) {
	t.Helper()
	webhooksOnce.Do(func() {
		hook := func(name, version, path string) admissionregistrationv1.ValidatingWebhook {
			url := fmt.Sprintf("https://127.0.0.1:%d%s", webhookPort, path)
			return admissionregistrationv1.ValidatingWebhook{
				Name:                    name,
				ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: webhookCA},
				AdmissionReviewVersions: []string{"v1"},
				SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
				FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
				MatchPolicy:             ptr.To(admissionregistrationv1.Exact),
				Rules: []admissionregistrationv1.RuleWithOperations{{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule: admissionregistrationv1.Rule{
						APIGroups:   []string{core.GroupName},
						APIVersions: []string{version},
						Resources:   []string{core.PluralResourceName},
					},
				}},
			}
		}
		cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "virt-template-validating-webhook-configuration"},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{
				hook(controller.WebhookNameV1alpha1, "v1alpha1", controller.WebhookPathV1alpha1),
				hook(controller.WebhookNameV1beta1, "v1beta1", controller.WebhookPathV1beta1),
			},
		}
		webhooksErr = k8s.Create(context.Background(), cfg)
		if webhooksErr != nil {
			return
		}
		// kube-apiserver picks configurations up asynchronously: probe with dry-run creates
		// of a template the webhooks deny, in both versions, until each webhook's own denial
		// comes back (any other error does not show the configuration in force).
		for _, version := range []string{"v1alpha1", "v1beta1"} {
			webhooksErr = inforce.WebhookDenies(context.Background(), settle, webhookName(version), func(context.Context) error {
				return postTemplate("default", version, undefinedReference("webhook-probe"), true).err
			})
			if webhooksErr != nil {
				return
			}
		}
	})
	if webhooksErr != nil {
		t.Fatalf("registering the webhooks: %v", webhooksErr)
	}
}

var (
	webhooksOnce sync.Once
	webhooksErr  error
)
