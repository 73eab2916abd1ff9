package virtctl

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/* from the current output")

// result is one run of the CLI.
type result struct {
	code   int
	stdout string
	stderr string
}

// invocation describes how to run the CLI in a test.
type invocation struct {
	stdin string
	// rest, when set, replaces the kubeconfig; namespace goes with it ("tpl" if empty).
	rest      *rest.Config
	namespace string
}

// deadCluster is a REST config nothing listens on: commands that must not touch the
// cluster fail loudly if they try.
var deadCluster = &rest.Config{Host: "http://127.0.0.1:1"}

// run executes the CLI in-process with a seeded generator, so generated parameter values
// are the same on every run.
func run(t *testing.T, inv invocation, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cfg := Config{
		In:         strings.NewReader(inv.stdin),
		Out:        &stdout,
		ErrOut:     &stderr,
		RESTConfig: inv.rest,
		Namespace:  inv.namespace,
		Rand:       rand.NewChaCha8([32]byte{1}),
	}
	if cfg.RESTConfig == nil {
		cfg.RESTConfig = deadCluster
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "tpl"
	}
	code := Execute(context.Background(), cfg, args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// expectFailure checks the CLI's contract for bad input: exit code 1, nothing on stdout,
// exactly one line on stderr that starts with want.
func expectFailure(t *testing.T, res result, want string) {
	t.Helper()
	if res.code != 1 {
		t.Errorf("exit code %d, want 1 (stderr %q)", res.code, res.stderr)
	}
	if res.stdout != "" {
		t.Errorf("stdout %q, want nothing", res.stdout)
	}
	if strings.Count(res.stderr, "\n") != 1 || !strings.HasSuffix(res.stderr, "\n") {
		t.Errorf("stderr %q, want exactly one line", res.stderr)
	}
	if !strings.HasPrefix(res.stderr, want) {
		t.Errorf("stderr %q\nwant prefix %q", res.stderr, want)
	}
}

// expectSuccess checks exit code 0 and stderr; stdout is left to the caller.
func expectSuccess(t *testing.T, res result, wantStderr string) {
	t.Helper()
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr %q", res.code, res.stderr)
	}
	if res.stderr != wantStderr {
		t.Errorf("stderr %q\nwant   %q", res.stderr, wantStderr)
	}
}

// golden compares got with testdata/golden/name, or rewrites the file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update after an intended change)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// testdataJSON reads a YAML or JSON file of testdata as the JSON a server would send.
func testdataJSON(t *testing.T, name string) json.RawMessage {
	t.Helper()
	data, err := yaml.YAMLToJSON([]byte(readTestdata(t, name)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// exchange is one request the fake API server expects and its answer.
type exchange struct {
	method string
	path   string
	// checkBody inspects the decoded JSON body; nil means the request must have none.
	checkBody func(t *testing.T, body map[string]any)
	status    int
	// response is encoded as JSON; an *apierrors.StatusError is sent as its Status.
	response any
	// warnings are sent as Warning headers (299).
	warnings []string
	// checkHeader, when set, inspects the request headers.
	checkHeader func(t *testing.T, h http.Header)
}

// fakeAPI is an API server that expects a fixed sequence of requests.
type fakeAPI struct {
	t         *testing.T
	mu        sync.Mutex
	exchanges []exchange
	served    int
}

// newFakeAPI starts a server for the exchanges and returns a REST config for it. At the end
// of the test every exchange must have been served.
func newFakeAPI(t *testing.T, exchanges ...exchange) *rest.Config {
	t.Helper()
	return startFakeAPI(t, httptest.NewServer, exchanges)
}

// newFakeTLSAPI is newFakeAPI over HTTPS with a self-signed certificate; client-go sends
// kubeconfig credentials only over TLS.
func newFakeTLSAPI(t *testing.T, exchanges ...exchange) *rest.Config {
	t.Helper()
	return startFakeAPI(t, httptest.NewTLSServer, exchanges)
}

func startFakeAPI(t *testing.T, start func(http.Handler) *httptest.Server, exchanges []exchange) *rest.Config {
	t.Helper()
	api := &fakeAPI{t: t, exchanges: exchanges}
	srv := start(api)
	t.Cleanup(func() {
		srv.Close()
		if api.served != len(api.exchanges) {
			t.Errorf("fake API served %d of %d expected requests", api.served, len(api.exchanges))
		}
	})
	return &rest.Config{Host: srv.URL}
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.served >= len(f.exchanges) {
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		http.Error(w, "unexpected request", http.StatusNotImplemented)
		return
	}
	ex := f.exchanges[f.served]
	f.served++

	if r.Method != ex.method || r.URL.Path != ex.path {
		f.t.Errorf("request %s %s, want %s %s", r.Method, r.URL.Path, ex.method, ex.path)
	}
	if ex.checkHeader != nil {
		ex.checkHeader(f.t, r.Header)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("reading body: %v", err)
	}
	switch {
	case ex.checkBody == nil && len(body) > 0:
		f.t.Errorf("request body %s, want none", body)
	case ex.checkBody != nil:
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			f.t.Errorf("Content-Type %q, want application/json", ct)
		}
		var decoded map[string]any
		if err := json.Unmarshal(body, &decoded); err != nil {
			f.t.Errorf("request body %q is not a JSON object: %v", body, err)
		}
		ex.checkBody(f.t, decoded)
	}

	for _, w8 := range ex.warnings {
		w.Header().Add("Warning", `299 - "`+w8+`"`)
	}
	var payload []byte
	if status, ok := ex.response.(*apierrors.StatusError); ok {
		s := status.ErrStatus
		s.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
		payload, err = json.Marshal(s)
	} else {
		payload, err = json.Marshal(ex.response)
	}
	if err != nil {
		f.t.Errorf("encoding response: %v", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ex.status)
	_, _ = w.Write(payload)
}

// hasKeys fails unless the object has exactly the given top-level keys.
func hasKeys(t *testing.T, obj map[string]any, keys ...string) {
	t.Helper()
	if len(obj) != len(keys) {
		t.Errorf("object %v, want exactly the keys %v", obj, keys)
		return
	}
	for _, k := range keys {
		if _, ok := obj[k]; !ok {
			t.Errorf("object %v lacks key %q", obj, k)
		}
	}
}
