package monitoring

import (
	"strings"
	"testing"
)

const answer = `{"status":"success","data":{"alerts":[
 {"labels":{"alertname":"KubeVirtComponentExceedsRequestedMemory","severity":"warning","namespace":"kubevirt"},"state":"firing","activeAt":"2026-12-04T10:00:00Z"},
 {"labels":{"alertname":"VirtAPIDown","severity":"critical","namespace":"kubevirt"},"annotations":{"summary":"All virt-api servers are down."},"state":"firing","activeAt":"2026-12-04T10:00:00Z"},
 {"labels":{"alertname":"VirtControllerDown","severity":"critical","namespace":"kubevirt"},"state":"pending","activeAt":"2026-12-04T10:00:00Z"}
]}}`

func alert(name, severity, state string, labels ...string) Alert {
	a := Alert{Labels: map[string]string{"alertname": name, "severity": severity}, State: state}
	for i := 0; i+1 < len(labels); i += 2 {
		a.Labels[labels[i]] = labels[i+1]
	}
	return a
}

func TestParse(t *testing.T) {
	alerts, err := Parse([]byte(answer))
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 3 || alerts[1].Name() != "VirtAPIDown" || alerts[1].Severity() != Critical || alerts[2].State != "pending" {
		t.Fatalf("parsed %+v", alerts)
	}
	if got := alerts[1].String(); !strings.Contains(got, "VirtAPIDown (severity critical, firing) {namespace=kubevirt}: All virt-api servers are down.") {
		t.Errorf("String() = %q", got)
	}
	if _, err := Parse([]byte(`{"status":"error","error":"bad"}`)); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("an error answer: %v", err)
	}
	if _, err := Parse([]byte(`<html>`)); err == nil {
		t.Error("a non-JSON answer must be an error")
	}
}

func TestNewCritical(t *testing.T) {
	old := alert("VirtAPIDown", Critical, "firing", "namespace", "kubevirt")
	for _, tc := range []struct {
		name          string
		before, after []Alert
		want          []string
	}{
		{name: "nothing fires", want: nil},
		{name: "a new critical alert", after: []Alert{alert("VirtTemplateDown", Critical, "firing")}, want: []string{"VirtTemplateDown"}},
		{name: "already firing before", before: []Alert{old}, after: []Alert{old}, want: nil},
		{name: "same name, other labels, is new", before: []Alert{old}, after: []Alert{old, alert("VirtAPIDown", Critical, "firing", "namespace", "other")}, want: []string{"VirtAPIDown"}},
		{name: "pending before, firing after, is new", before: []Alert{alert("X", Critical, "pending")}, after: []Alert{alert("X", Critical, "firing")}, want: []string{"X"}},
		{name: "pending after is not firing", after: []Alert{alert("X", Critical, "pending")}, want: nil},
		{name: "warnings do not count", after: []Alert{alert("W", "warning", "firing")}, want: nil},
		{name: "stopped alerts are not reported", before: []Alert{old}, want: nil},
		{name: "listed twice counts once", after: []Alert{alert("X", Critical, "firing"), alert("X", Critical, "firing")}, want: []string{"X"}},
		{name: "sorted", after: []Alert{alert("Z", Critical, "firing"), alert("A", Critical, "firing")}, want: []string{"A", "Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range NewCritical(tc.before, tc.after) {
				got = append(got, a.Name())
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("NewCritical = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"monitoring/prometheus-operated:web":            "/api/v1/namespaces/monitoring/services/prometheus-operated:web/proxy/api/v1/alerts",
		"openshift-monitoring/https:thanos-querier:web": "/api/v1/namespaces/openshift-monitoring/services/https:thanos-querier:web/proxy/api/v1/alerts",
		" monitoring/http:prometheus-k8s:9090 ":         "/api/v1/namespaces/monitoring/services/http:prometheus-k8s:9090/proxy/api/v1/alerts",
	} {
		e, err := ParseEndpoint(in)
		if err != nil || e.Path() != want {
			t.Errorf("ParseEndpoint(%q) = %v, %v; path %q, want %q", in, e, err, e.Path(), want)
		}
	}
	for _, bad := range []string{"", "svc:port", "ns/svc", "ns/ftp:svc:port", "ns/:svc:port", "/svc:port", "ns/a:b:c:d"} {
		if _, err := ParseEndpoint(bad); err == nil || !strings.Contains(err.Error(), EnvVar) {
			t.Errorf("ParseEndpoint(%q) = %v, want an error naming %s", bad, err, EnvVar)
		}
	}
}
