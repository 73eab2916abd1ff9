package cdi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vmt-conformance/vmt-conformance/reference/sim/kit"
)

type admitter struct {
	c              client.Client
	faultSkipClone bool // Options.FaultSkipCloneAuthorization
}

func newAdmitter(c client.Client, skipClone bool) *admitter {
	return &admitter{c: c, faultSkipClone: skipClone}
}

// admit authorizes clones for the requesting user as CDI's DataVolume webhook does
// (AuthorizeUser): imports and blank volumes pass; a clone needs create on
// datavolumes/source (or the implicit pod/pvc permissions) in the source namespace. A
// sourceRef to a missing DataSource is a 400 with the API's NotFound text, as in CDI.
func (a *admitter) admit(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	dv := &cdiv1beta1.DataVolume{}
	if err := json.Unmarshal(req.Object.Raw, dv); err != nil {
		return kit.Error(fmt.Errorf("decoding the DataVolume: %w", err))
	}
	if dv.DeletionTimestamp != nil {
		return nil
	}
	if dv.Namespace == "" {
		dv.Namespace = req.Namespace
	}
	src, err := kit.ResolveCloneSource(ctx, a.c, dv)
	if err != nil {
		return kit.Error(err)
	}
	if src.Kind == kit.SourceNone || a.faultSkipClone {
		return nil
	}
	if err := a.c.Get(ctx, client.ObjectKey{Name: src.Namespace}, &corev1.Namespace{}); err != nil {
		return kit.Error(err)
	}
	ok, reason, err := kit.AuthorizeClone(ctx, a.c, kit.RequesterFromUserInfo(req.UserInfo), src, dv.Namespace)
	if err != nil {
		return kit.Error(err)
	}
	if ok {
		return nil
	}
	// CDI's toRejectedAdmissionResponse joins cause messages with a leading space.
	cause := metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Message: reason, Field: "spec.source.PVC.namespace"}
	resp := kit.Deny(" "+reason, cause)
	resp.Result.Reason = ""
	resp.Result.Code = http.StatusUnprocessableEntity
	return resp
}
