package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/vmt-conformance/vmt-conformance/framework/wait"
)

// A server that accepts every request and never answers: every client of New, and of As,
// gives up after wait.Request with an error that says it timed out.
func TestClientsGiveUpOnAServerThatNeverAnswers(t *testing.T) {
	saved := wait.Request
	wait.Request = 300 * time.Millisecond
	t.Cleanup(func() { wait.Request = saved })
	silent := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer silent.Close()

	admin, err := New(&rest.Config{Host: silent.URL})
	if err != nil {
		t.Fatal(err)
	}
	user, err := admin.As("someone")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Clients{"admin": admin, "impersonated": user} {
		if c.Config.Timeout != wait.Request {
			t.Errorf("%s: request timeout %v, want wait.Request (%v)", name, c.Config.Timeout, wait.Request)
		}
		calls := map[string]func(context.Context) error{
			"typed": func(ctx context.Context) error {
				_, err := c.Kube.CoreV1().Namespaces().Get(ctx, "x", metav1.GetOptions{})
				return err
			},
			"controller-runtime": func(ctx context.Context) error {
				return c.Client.List(ctx, &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "NamespaceList"}})
			},
		}
		for call, do := range calls {
			began := time.Now()
			err := do(context.Background())
			took := time.Since(began)
			if err == nil || !(strings.Contains(err.Error(), "deadline exceeded") || strings.Contains(err.Error(), "Timeout")) {
				t.Errorf("%s, %s call: %v, want a timeout error", name, call, err)
			}
			if took > 10*wait.Request {
				t.Errorf("%s, %s call took %v, want about wait.Request (%v)", name, call, took, wait.Request)
			}
		}
	}
}
