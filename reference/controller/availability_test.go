package controller

import (
	"context"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// Timing of the unit tests.
const (
	unitPoll    = 5 * time.Millisecond
	unitTimeout = 10 * time.Second
)

// servedGroups is a discovery that serves exactly the group versions it is told.
type servedGroups struct {
	mu     sync.Mutex
	served map[string]bool
}

func (s *servedGroups) serve(gv string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.served[gv] = true
}

func (s *servedGroups) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.served[gv] {
		return nil, apierrors.NewNotFound(schema.GroupResource{}, gv)
	}
	return &metav1.APIResourceList{GroupVersion: gv}, nil
}

func TestAvailabilityGate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pending := &v1beta1.VirtualMachineTemplateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pending", Generation: 1}}
	finished := &v1beta1.VirtualMachineTemplateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "finished"},
		Status: v1beta1.VirtualMachineTemplateRequestStatus{Conditions: []metav1.Condition{
			{Type: v1beta1.ConditionProgressing, Status: metav1.ConditionFalse, Reason: v1beta1.ReasonFailed},
		}},
	}
	c := fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(pending, finished).
		WithStatusSubresource(&v1beta1.VirtualMachineTemplateRequest{}).Build()
	discovery := &servedGroups{served: map[string]bool{CDIGroupVersion: true}}
	started := make(chan struct{})
	gate := &availabilityGate{
		discovery:       discovery,
		client:          c,
		interval:        unitPoll,
		startController: func() error { close(started); return nil },
	}
	done := make(chan error, 1)
	go func() { done <- gate.Start(ctx) }()

	get := func(name string) *v1beta1.VirtualMachineTemplateRequest {
		req := &v1beta1.VirtualMachineTemplateRequest{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "ns", Name: name}, req); err != nil {
			t.Fatal(err)
		}
		return req
	}
	err := wait.PollUntilContextTimeout(ctx, unitPoll, unitTimeout, true, func(context.Context) (bool, error) {
		return meta.FindStatusCondition(get("pending").Status.Conditions, v1beta1.ConditionReady) != nil, nil
	})
	if err != nil {
		t.Fatal("the pending request was not marked:", err)
	}
	req := get("pending")
	readyCond := meta.FindStatusCondition(req.Status.Conditions, v1beta1.ConditionReady)
	if readyCond.Status != metav1.ConditionFalse || readyCond.Reason != v1beta1.ReasonWaiting ||
		readyCond.Message != "Required CRDs are not yet available: snapshot.kubevirt.io/v1beta1" || readyCond.ObservedGeneration != 1 {
		t.Errorf("Ready = %+v", readyCond)
	}
	if p := meta.FindStatusCondition(req.Status.Conditions, v1beta1.ConditionProgressing); p == nil ||
		p.Status != metav1.ConditionTrue || p.Reason != v1beta1.ReasonWaiting || p.Message != "" {
		t.Errorf("Progressing = %+v", p)
	}
	if len(get("finished").Status.Conditions) != 1 {
		t.Errorf("a finished request was touched: %+v", get("finished").Status.Conditions)
	}
	select {
	case <-started:
		t.Fatal("controller started while snapshot.kubevirt.io/v1beta1 is missing")
	default:
	}

	discovery.serve(SnapshotGroupVersion)
	select {
	case <-started:
	case <-time.After(unitTimeout):
		t.Fatal("controller not started once both APIs are served")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestMissingAPIsMessageListsBoth(t *testing.T) {
	got := MissingAPIsMessage(missingGroupVersions(&servedGroups{served: map[string]bool{}}))
	if want := "Required CRDs are not yet available: cdi.kubevirt.io/v1beta1, snapshot.kubevirt.io/v1beta1"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
