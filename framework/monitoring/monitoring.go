// Package monitoring reads the alerts a cluster's Prometheus fires, through a kube-apiserver
// Service proxy (no route or port-forward needed), and finds the critical alerts that began
// to fire during a measurement (the monitoring NFR, VMT-030: no unexpected critical alerts
// during template processing and bulk VM creation).
//
// The alerts API is Prometheus' GET /api/v1/alerts (also served by Thanos Querier). The
// endpoint is the Service named by VMT_MONITORING_ALERTS ("<namespace>/[<scheme>:]<service>:<port>",
// e.g. "monitoring/http:prometheus-operated:web"), or, without it, the Service
// prometheus-operated (port web, http) that the Prometheus Operator creates in the namespace
// of the first Prometheus it manages (monitoring.coreos.com/v1 prometheuses). On OpenShift,
// whose Prometheus listens on localhost behind an authenticating proxy, name Thanos Querier's
// Service yourself (unverified: it needs a proxy that accepts the API server's proxied
// request).
package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// EnvVar names the alerts endpoint; empty means detect it.
const EnvVar = "VMT_MONITORING_ALERTS"

// Critical is the severity label value of alerts that fail the NFR.
const Critical = "critical"

// Alert is one alert as the alerts API reports it.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	State       string            `json:"state"` // pending, firing
	ActiveAt    time.Time         `json:"activeAt,omitzero"`
}

// Name is the alertname label.
func (a Alert) Name() string { return a.Labels["alertname"] }

// Severity is the severity label.
func (a Alert) Severity() string { return a.Labels["severity"] }

// Key identifies an alert across two readings: its name and every label, sorted.
func (a Alert) Key() string {
	keys := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, a.Labels[k])
	}
	return b.String()
}

// String is the alert for failure messages: name, severity, the other labels and its summary.
func (a Alert) String() string {
	var labels []string
	for k, v := range a.Labels {
		if k != "alertname" && k != "severity" {
			labels = append(labels, k+"="+v)
		}
	}
	sort.Strings(labels)
	s := fmt.Sprintf("%s (severity %s, %s) {%s}", a.Name(), a.Severity(), a.State, strings.Join(labels, ", "))
	if sum := a.Annotations["summary"]; sum != "" {
		s += ": " + sum
	} else if msg := a.Annotations["message"]; msg != "" {
		s += ": " + msg
	}
	return s
}

// Parse reads an alerts API answer ({"status":"success","data":{"alerts":[…]}}).
func Parse(raw []byte) ([]Alert, error) {
	var resp struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Alerts []Alert `json:"alerts"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return nil, fmt.Errorf("decoding the alerts answer: %w", err)
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("the alerts API answered status %q: %s", resp.Status, resp.Error)
	}
	return resp.Data.Alerts, nil
}

// Firing keeps the alerts in state firing.
func Firing(alerts []Alert) []Alert {
	return slices.DeleteFunc(slices.Clone(alerts), func(a Alert) bool { return a.State != "firing" })
}

// NewCritical are the critical alerts firing in after that were not firing in before (same
// name and labels), sorted by key: what began to fire during the measurement. An alert that
// was already firing, or only pending, before is not new; one that stopped is not reported.
func NewCritical(before, after []Alert) []Alert {
	seen := map[string]bool{}
	for _, a := range Firing(before) {
		seen[a.Key()] = true
	}
	var out []Alert
	for _, a := range Firing(after) {
		if a.Severity() == Critical && !seen[a.Key()] {
			out = append(out, a)
			seen[a.Key()] = true // the API may list an alert twice (several Prometheus replicas)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// Endpoint is an alerts API behind a Service, reached through kube-apiserver's Service proxy.
type Endpoint struct {
	Namespace string
	Scheme    string // http or https; "" = http
	Service   string
	Port      string // name or number
}

// ParseEndpoint reads "<namespace>/[<scheme>:]<service>:<port>".
func ParseEndpoint(s string) (Endpoint, error) {
	ns, rest, ok := strings.Cut(strings.TrimSpace(s), "/")
	parts := strings.Split(rest, ":")
	if !ok || ns == "" || len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return Endpoint{}, fmt.Errorf("%s=%q: want <namespace>/[<scheme>:]<service>:<port>", EnvVar, s)
	}
	e := Endpoint{Namespace: ns, Service: parts[len(parts)-2], Port: parts[len(parts)-1]}
	if len(parts) == 3 {
		e.Scheme = parts[0]
		if e.Scheme != "http" && e.Scheme != "https" {
			return Endpoint{}, fmt.Errorf("%s=%q: scheme %q is neither http nor https", EnvVar, s, e.Scheme)
		}
	}
	return e, nil
}

func (e Endpoint) String() string {
	scheme := e.Scheme
	if scheme == "" {
		scheme = "http"
	}
	return fmt.Sprintf("%s/%s:%s:%s", e.Namespace, scheme, e.Service, e.Port)
}

// Path is the Service proxy path of the alerts API.
func (e Endpoint) Path() string {
	svc := e.Service + ":" + e.Port
	if e.Scheme != "" {
		svc = e.Scheme + ":" + svc
	}
	return fmt.Sprintf("/api/v1/namespaces/%s/services/%s/proxy/api/v1/alerts", e.Namespace, svc)
}

// Fetch reads every alert from e.
func Fetch(ctx context.Context, kube kubernetes.Interface, e Endpoint) ([]Alert, error) {
	raw, err := kube.CoreV1().RESTClient().Get().AbsPath(e.Path()).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading alerts from %s: %w", e, err)
	}
	return Parse(raw)
}

var prometheuses = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheuses"}

// Find returns the alerts endpoint (VMT_MONITORING_ALERTS, else the Prometheus Operator's
// prometheus-operated Service) and why, or ok=false and why not.
func Find(ctx context.Context, dyn dynamic.Interface) (Endpoint, string, bool) {
	if s := os.Getenv(EnvVar); s != "" {
		e, err := ParseEndpoint(s)
		if err != nil {
			return Endpoint{}, err.Error(), false
		}
		return e, EnvVar + " names " + e.String(), true
	}
	list, err := dyn.Resource(prometheuses).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return Endpoint{}, "monitoring.coreos.com/v1 prometheuses not served (" + err.Error() + ") and " + EnvVar + " not set", false
	}
	if len(list.Items) == 0 {
		return Endpoint{}, "no Prometheus (monitoring.coreos.com/v1) exists and " + EnvVar + " not set", false
	}
	p := list.Items[0]
	e := Endpoint{Namespace: p.GetNamespace(), Service: "prometheus-operated", Port: "web"}
	return e, fmt.Sprintf("Prometheus %s/%s: Service %s", p.GetNamespace(), p.GetName(), e), true
}

// Detect decides the monitoring capability: an alerts endpoint is found and answers.
func Detect(ctx context.Context, kube kubernetes.Interface, dyn dynamic.Interface) (bool, string) {
	e, why, ok := Find(ctx, dyn)
	if !ok {
		return false, why
	}
	if _, err := Fetch(ctx, kube, e); err != nil {
		return false, why + ", but " + err.Error()
	}
	return true, why + " answers /api/v1/alerts"
}
