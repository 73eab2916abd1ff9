package controller

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

type cond struct {
	status  metav1.ConditionStatus
	reason  string
	message string
}

func condOf(req *v1beta1.VirtualMachineTemplateRequest, t string) cond {
	c := meta.FindStatusCondition(req.Status.Conditions, t)
	if c == nil {
		return cond{}
	}
	return cond{c.Status, c.Reason, c.Message}
}

func TestSettleConditions(t *testing.T) {
	cases := []struct {
		name                 string
		setup                func(*v1beta1.VirtualMachineTemplateRequest)
		err                  error
		wantReady, wantProgr cond
	}{
		{
			name:      "first reconcile",
			setup:     func(*v1beta1.VirtualMachineTemplateRequest) {},
			wantReady: cond{metav1.ConditionFalse, v1beta1.ReasonReconciling, ""},
			wantProgr: cond{metav1.ConditionTrue, v1beta1.ReasonReconciling, ""},
		},
		{
			name:      "transient error retries",
			setup:     func(*v1beta1.VirtualMachineTemplateRequest) {},
			err:       errors.New("boom"),
			wantReady: cond{metav1.ConditionFalse, v1beta1.ReasonFailed, "boom"},
			wantProgr: cond{metav1.ConditionTrue, v1beta1.ReasonReconciling, ""},
		},
		{
			name:      "permanent failure keeps Progressing=False",
			setup:     func(r *v1beta1.VirtualMachineTemplateRequest) { failPermanently(r, v1beta1.ReasonFailed) },
			err:       errors.New("taken"),
			wantReady: cond{metav1.ConditionFalse, v1beta1.ReasonFailed, "taken"},
			wantProgr: cond{metav1.ConditionFalse, v1beta1.ReasonFailed, ""},
		},
		{
			name: "ready finishes",
			setup: func(r *v1beta1.VirtualMachineTemplateRequest) {
				setReady(r, metav1.ConditionTrue, v1beta1.ReasonReconciled, "ok")
			},
			wantReady: cond{metav1.ConditionTrue, v1beta1.ReasonReconciled, "ok"},
			wantProgr: cond{metav1.ConditionFalse, v1beta1.ReasonReconciled, ""},
		},
		{
			name: "waiting step keeps its Progressing",
			setup: func(r *v1beta1.VirtualMachineTemplateRequest) {
				setReady(r, metav1.ConditionFalse, v1beta1.ReasonWaiting, "w")
				setProgressing(r, metav1.ConditionTrue, v1beta1.ReasonWaiting)
			},
			wantReady: cond{metav1.ConditionFalse, v1beta1.ReasonWaiting, "w"},
			wantProgr: cond{metav1.ConditionTrue, v1beta1.ReasonWaiting, ""},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := &v1beta1.VirtualMachineTemplateRequest{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
			c.setup(req)
			settleConditions(req, c.err)
			if got := condOf(req, v1beta1.ConditionReady); got != c.wantReady {
				t.Errorf("Ready = %+v, want %+v", got, c.wantReady)
			}
			if got := condOf(req, v1beta1.ConditionProgressing); got != c.wantProgr {
				t.Errorf("Progressing = %+v, want %+v", got, c.wantProgr)
			}
			for _, cd := range req.Status.Conditions {
				if cd.ObservedGeneration != 3 {
					t.Errorf("%s observedGeneration = %d", cd.Type, cd.ObservedGeneration)
				}
			}
			if reconcilable(req) == (c.wantProgr.status == metav1.ConditionFalse) {
				t.Errorf("reconcilable = %v with Progressing %s", reconcilable(req), c.wantProgr.status)
			}
		})
	}
}
