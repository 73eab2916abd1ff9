package engine

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Stage says which step of processing refused a template.
type Stage string

const (
	// StageReferences is the reference check: a parameter is used but not declared, or the
	// VirtualMachine cannot be decoded.
	StageReferences Stage = "references"
	// StageProcessing is rendering: parameters, generators, substitution, conversion.
	StageProcessing Stage = "processing"
)

// UnknownParameterError is returned when a caller supplies a value for a parameter the
// template does not declare. Upstream's API server answers it with 409 Conflict.
type UnknownParameterError struct {
	Name string
}

func (e *UnknownParameterError) Error() string {
	return fmt.Sprintf("parameter %s not found in template", e.Name)
}

// InvalidError is a template the engine refuses, with the field errors upstream reports.
// Upstream's API server answers it with 422 Invalid. The reference check may report several
// errors; processing stops at the first one.
type InvalidError struct {
	Stage  Stage
	Errors field.ErrorList
}

// Error reads exactly like upstream's error: the single field error, or the bracketed list
// of several.
func (e *InvalidError) Error() string {
	return e.Errors.ToAggregate().Error()
}

func invalid(stage Stage, errs ...*field.Error) *InvalidError {
	return &InvalidError{Stage: stage, Errors: errs}
}

// StatusError converts an error of this package into the API error upstream's aggregated
// API server returns for /process and /create of the template templateName:
//
//   - *UnknownParameterError: 409 Conflict, message
//     `Operation cannot be fulfilled on  "<name>": parameter X not found in template`
//     (empty group and resource, hence the double space);
//   - *InvalidError: 422 Invalid with an empty group and kind, message
//     ` "<name>" is invalid: <field errors>`, one cause per field error;
//   - an *apierrors.StatusError is returned as is; anything else becomes 500 InternalError.
//
// A nil error gives nil.
func StatusError(templateName string, err error) *apierrors.StatusError {
	if err == nil {
		return nil
	}
	var status *apierrors.StatusError
	if errors.As(err, &status) {
		return status
	}
	var unknown *UnknownParameterError
	if errors.As(err, &unknown) {
		// Upstream takes group and resource from the template's TypeMeta, which the typed
		// client leaves empty.
		return apierrors.NewConflict(schema.GroupResource{}, templateName, unknown)
	}
	var inv *InvalidError
	if errors.As(err, &inv) {
		return apierrors.NewInvalid(schema.GroupKind{}, templateName, inv.Errors)
	}
	return apierrors.NewInternalError(err)
}
