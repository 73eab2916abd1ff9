package engine

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// §3.2: the HTTP status upstream's aggregated API server answers for each engine error.
func TestStatusError(t *testing.T) {
	unknownErr := func() error {
		_, err := Processor{}.Process(templateOf(t, minimalVM, param("NAME", "vm")), map[string]string{"X": "1"})
		return err
	}
	undefinedErr := func() error {
		tpl := templateOf(t, minimalVM)
		tpl.Spec.Message = "${WHO}"
		_, err := Processor{}.Process(tpl, nil)
		return err
	}
	requiredErr := func() error {
		_, err := Processor{}.Process(templateOf(t, minimalVM, required(param("NAME", ""))), nil)
		return err
	}
	cases := []struct {
		name    string
		err     error
		code    int32
		reason  metav1.StatusReason
		message string
		causes  []metav1.StatusCause
	}{
		{
			name:    "3.2 unknown parameter: 409 with empty group and resource (double space)",
			err:     unknownErr(),
			code:    http.StatusConflict,
			reason:  metav1.StatusReasonConflict,
			message: `Operation cannot be fulfilled on  "tpl": parameter X not found in template`,
		},
		{
			name:    "3.2 undefined references: 422, message starting with a space",
			err:     undefinedErr(),
			code:    http.StatusUnprocessableEntity,
			reason:  metav1.StatusReasonInvalid,
			message: ` "tpl" is invalid: [spec.virtualMachine: Invalid value: "NAME": references undefined parameter NAME, spec.virtualMachine: Invalid value: "WHO": references undefined parameter WHO]`,
			causes: []metav1.StatusCause{
				{Type: metav1.CauseTypeFieldValueInvalid, Field: "spec.virtualMachine", Message: `Invalid value: "NAME": references undefined parameter NAME`},
				{Type: metav1.CauseTypeFieldValueInvalid, Field: "spec.virtualMachine", Message: `Invalid value: "WHO": references undefined parameter WHO`},
			},
		},
		{
			name:    "3.2 processing failure: 422 with a single cause",
			err:     requiredErr(),
			code:    http.StatusUnprocessableEntity,
			reason:  metav1.StatusReasonInvalid,
			message: ` "tpl" is invalid: spec.parameters[0].value: Required value: parameter 'NAME' is required and a value must be specified`,
			causes: []metav1.StatusCause{
				{Type: metav1.CauseTypeFieldValueRequired, Field: "spec.parameters[0].value", Message: `Required value: parameter 'NAME' is required and a value must be specified`},
			},
		},
		{
			name:    "a wrapped engine error is recognised",
			err:     fmt.Errorf("context: %w", unknownErr()),
			code:    http.StatusConflict,
			reason:  metav1.StatusReasonConflict,
			message: `Operation cannot be fulfilled on  "tpl": parameter X not found in template`,
		},
		{
			name:    "anything else is an internal error",
			err:     errors.New("boom"),
			code:    http.StatusInternalServerError,
			reason:  metav1.StatusReasonInternalError,
			message: "Internal error occurred: boom",
			causes:  []metav1.StatusCause{{Message: "boom"}},
		},
		{
			name:    "an API status passes through",
			err:     apierrors.NewBadRequest("error parsing ProcessOptions: EOF"),
			code:    http.StatusBadRequest,
			reason:  metav1.StatusReasonBadRequest,
			message: "error parsing ProcessOptions: EOF",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status := StatusError("tpl", tc.err).Status()
			if status.Code != tc.code || status.Reason != tc.reason || status.Message != tc.message {
				t.Errorf("got %d %s %q\nwant %d %s %q", status.Code, status.Reason, status.Message, tc.code, tc.reason, tc.message)
			}
			if status.Details != nil {
				if status.Details.Group != "" || status.Details.Kind != "" {
					t.Errorf("details group/kind = %q/%q, want empty", status.Details.Group, status.Details.Kind)
				}
				if tc.reason != metav1.StatusReasonInternalError && status.Details.Name != "tpl" {
					t.Errorf("details name = %q", status.Details.Name)
				}
				if !reflect.DeepEqual(status.Details.Causes, tc.causes) {
					t.Errorf("causes = %+v\nwant %+v", status.Details.Causes, tc.causes)
				}
			}
		})
	}
	if StatusError("tpl", nil) != nil {
		t.Error("nil error gave a status")
	}
}
