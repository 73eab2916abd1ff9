// Package kit holds what the simulator's roles share: the scheme, the loopback HTTPS server
// webhooks and the aggregated subresource API are served from, admission plumbing, webhook
// registration, and the intervals every wait in the simulator uses.
package kit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	kubevirtv1 "kubevirt.io/api/core/v1"
	instancetypev1beta1 "kubevirt.io/api/instancetype/v1beta1"
	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/internal/pki"
)

// Intervals are every wait of the simulator, in one place; tests and the binary may override
// them before the roles start.
var Intervals = struct {
	// Poll is how often a registration is re-checked while waiting for it to take effect.
	Poll time.Duration
	// Register bounds waiting for an APIService or webhook to take effect.
	Register time.Duration
	// Unregister bounds removing registrations on shutdown.
	Unregister time.Duration
	// Requeue is how soon an object waiting on something unwatched (a SubjectAccessReview
	// outcome, an instance type created later) is looked at again.
	Requeue time.Duration
}{
	Poll:       20 * time.Millisecond,
	Register:   30 * time.Second,
	Unregister: 10 * time.Second,
	Requeue:    2 * time.Second,
}

// NewScheme knows the built-in types and the KubeVirt and CDI API types the roles use;
// snapshot.storage.k8s.io objects are handled as unstructured.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(kubevirtv1.AddToScheme(s))
	utilruntime.Must(instancetypev1beta1.AddToScheme(s))
	utilruntime.Must(snapshotv1beta1.AddToScheme(s))
	utilruntime.Must(cdiv1beta1.AddToScheme(s))
	return s
}

// Server is an HTTPS server on a free loopback port with a certificate of its own CA. It is
// a manager runnable; Register hooks run once it listens.
type Server struct {
	Name     string
	Mux      *http.ServeMux
	CAPEM    []byte
	Port     int
	listener net.Listener
	tls      *tls.Config
}

// NewServer listens on 127.0.0.1:0 with a serving certificate for the given DNS names (and
// the loopback IPs). clientCAs, when set, verifies client certificates if presented.
func NewServer(name string, clientCAs *x509.CertPool, dnsNames ...string) (*Server, error) {
	ca, err := pki.NewCA(name + "-ca")
	if err != nil {
		return nil, err
	}
	kp, err := ca.Issue(name, pki.Server, append(dnsNames, "localhost")...)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("loading the %s serving certificate: %w", name, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAs != nil {
		cfg.ClientCAs, cfg.ClientAuth = clientCAs, tls.VerifyClientCertIfGiven
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for %s on a loopback port: %w", name, err)
	}
	return &Server{Name: name, Mux: http.NewServeMux(), CAPEM: ca.CertPEM, Port: ln.Addr().(*net.TCPAddr).Port, listener: ln, tls: cfg}, nil
}

// URL is https://127.0.0.1:<port><path>.
func (s *Server) URL(path string) string { return fmt.Sprintf("https://127.0.0.1:%d%s", s.Port, path) }

// Start serves until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	srv := &http.Server{Handler: s.Mux, TLSConfig: s.tls, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(tls.NewListener(s.listener, s.tls)) }()
	select {
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), Intervals.Unregister)
		defer cancel()
		return srv.Shutdown(shutdown)
	case err := <-done:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("%s server: %w", s.Name, err)
	}
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: servers run everywhere.
func (s *Server) NeedLeaderElection() bool { return false }

// Admit is one admission check: the request, and the response (nil means allowed).
type Admit func(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse

// AdmissionHandler decodes an AdmissionReview, runs admit and writes the review back.
func AdmissionHandler(admit Admit) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(w, "reading the admission review: "+err.Error(), http.StatusBadRequest)
			return
		}
		review := &admissionv1.AdmissionReview{}
		if err := json.Unmarshal(body, review); err != nil || review.Request == nil {
			http.Error(w, fmt.Sprintf("decoding the admission review: %v", err), http.StatusBadRequest)
			return
		}
		var resp *admissionv1.AdmissionResponse
		if IsProbe(review.Request) {
			resp = Deny(ProbeMessage)
		} else {
			resp = admit(r.Context(), review.Request)
		}
		if resp == nil {
			resp = &admissionv1.AdmissionResponse{Allowed: true}
		}
		resp.UID = review.Request.UID
		out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
		if out.APIVersion == "" {
			out.APIVersion, out.Kind = "admission.k8s.io/v1", "AdmissionReview"
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

// Deny is a 422 Invalid rejection with causes, message as given.
func Deny(message string, causes ...metav1.StatusCause) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Result: &metav1.Status{
		Status: metav1.StatusFailure, Message: message, Reason: metav1.StatusReasonInvalid,
		Code: http.StatusUnprocessableEntity, Details: &metav1.StatusDetails{Causes: causes},
	}}
}

// Error is a 400 rejection for a request that could not be judged.
func Error(err error) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Result: &metav1.Status{Status: metav1.StatusFailure, Message: err.Error(), Code: http.StatusBadRequest}}
}

// Registration keeps cluster objects pointing at a server and removes them on Remove.
type Registration struct {
	c       client.Client
	mu      sync.Mutex
	objects []client.Object
}

// NewRegistration records objects created with c.
func NewRegistration(c client.Client) *Registration { return &Registration{c: c} }

// Apply creates obj, replacing an object of the same name left by an earlier run.
func (r *Registration) Apply(ctx context.Context, obj client.Object) error {
	existing := obj.DeepCopyObject().(client.Object)
	err := r.c.Get(ctx, client.ObjectKeyFromObject(obj), existing)
	switch {
	case apierrors.IsNotFound(err):
		err = r.c.Create(ctx, obj)
	case err == nil:
		obj.SetResourceVersion(existing.GetResourceVersion())
		err = r.c.Update(ctx, obj)
	}
	if err != nil {
		return fmt.Errorf("registering %T %s: %w", obj, obj.GetName(), err)
	}
	r.mu.Lock()
	r.objects = append(r.objects, obj)
	r.mu.Unlock()
	return nil
}

// Remove deletes every applied object, newest first.
func (r *Registration) Remove(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for i := len(r.objects) - 1; i >= 0; i-- {
		if err := r.c.Delete(ctx, r.objects[i]); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("unregistering %s: %w", r.objects[i].GetName(), err))
		}
	}
	r.objects = nil
	return errors.Join(errs...)
}

// ValidatingWebhook is one webhook of a ValidatingWebhookConfiguration served at url.
func ValidatingWebhook(name, url string, caPEM []byte, rules ...admissionregistrationv1.RuleWithOperations) admissionregistrationv1.ValidatingWebhook {
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	timeout := int32(10)
	return admissionregistrationv1.ValidatingWebhook{
		Name:                    name,
		ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caPEM},
		Rules:                   rules,
		FailurePolicy:           &fail,
		SideEffects:             &none,
		AdmissionReviewVersions: []string{"v1"},
		TimeoutSeconds:          &timeout,
	}
}

// Rule matches create and update of one resource.
func Rule(group, version, resource string) admissionregistrationv1.RuleWithOperations {
	return admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{group}, APIVersions: []string{version}, Resources: []string{resource}},
	}
}

// RunnableFunc adapts a function to a manager runnable that does not need leader election.
type RunnableFunc func(ctx context.Context) error

// Start implements manager.Runnable.
func (f RunnableFunc) Start(ctx context.Context) error { return f(ctx) }

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (f RunnableFunc) NeedLeaderElection() bool { return false }

// Poll calls check every Intervals.Poll until it reports done, fails, or Intervals.Register
// passes; the error names what was awaited and the last state seen.
func Poll(ctx context.Context, what string, check func(ctx context.Context) (done bool, state string, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, Intervals.Register)
	defer cancel()
	tick := time.NewTicker(Intervals.Poll)
	defer tick.Stop()
	last := "not checked yet"
	for {
		done, state, err := check(ctx)
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if done {
			return nil
		}
		last = state
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s (last: %s): %w", what, last, ctx.Err())
		case <-tick.C:
		}
	}
}

// ProbeAnnotation marks the dry-run object a role sends through its own webhook to learn that
// kube-apiserver calls it; the webhook denies it with ProbeMessage.
const (
	ProbeAnnotation = "sim.vmt-conformance.io/webhook-probe"
	ProbeMessage    = "simulator webhook probe"
)

// IsProbe reports whether an admission request is the readiness probe.
func IsProbe(req *admissionv1.AdmissionRequest) bool {
	var meta struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if json.Unmarshal(req.Object.Raw, &meta) != nil {
		return false
	}
	_, ok := meta.Metadata.Annotations[ProbeAnnotation]
	return ok && req.DryRun != nil && *req.DryRun
}

// WaitForWebhook dry-run creates probe (annotated here) until the webhook's probe denial
// comes back: then kube-apiserver calls the webhook.
func WaitForWebhook(ctx context.Context, c client.Client, probe client.Object) error {
	ann := probe.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[ProbeAnnotation] = ""
	probe.SetAnnotations(ann)
	return Poll(ctx, fmt.Sprintf("the webhook for %T to answer", probe), func(ctx context.Context) (bool, string, error) {
		err := c.Create(ctx, probe.DeepCopyObject().(client.Object), client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), ProbeMessage) {
			return true, "", nil
		}
		return false, fmt.Sprintf("dry-run create: %v", err), nil
	})
}
