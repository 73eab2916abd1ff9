package kit

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/types"
	cdiv1beta1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Source kinds of a DataVolume.
const (
	SourceNone     = ""
	SourcePVC      = "pvc"
	SourceSnapshot = "snapshot"
)

// CloneSource is what a DataVolume clones from, with its sourceRef resolved.
type CloneSource struct {
	Kind      string // SourcePVC, SourceSnapshot, or SourceNone for imports and blank
	Namespace string
	Name      string
}

// ResolveCloneSource follows spec.sourceRef to its DataSource (NotFound when it is missing) and
// returns the PVC or snapshot a clone reads; the namespace defaults to the DataVolume's.
func ResolveCloneSource(ctx context.Context, c client.Reader, dv *cdiv1beta1.DataVolume) (CloneSource, error) {
	src := dv.Spec.Source
	if ref := dv.Spec.SourceRef; ref != nil {
		if ref.Kind != cdiv1beta1.DataVolumeDataSource {
			return CloneSource{}, fmt.Errorf("unsupported sourceRef kind %q", ref.Kind)
		}
		ns := dv.Namespace
		if ref.Namespace != nil && *ref.Namespace != "" {
			ns = *ref.Namespace
		}
		ds := &cdiv1beta1.DataSource{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, ds); err != nil {
			return CloneSource{}, err
		}
		src = &cdiv1beta1.DataVolumeSource{PVC: ds.Spec.Source.PVC, Snapshot: ds.Spec.Source.Snapshot}
		if src.PVC == nil && src.Snapshot == nil {
			return CloneSource{}, fmt.Errorf("DataSource %s/%s has no source", ns, ref.Name)
		}
		// A DataSource's source namespace defaults to the DataSource's own.
		if src.PVC != nil && src.PVC.Namespace == "" {
			src.PVC = &cdiv1beta1.DataVolumeSourcePVC{Namespace: ns, Name: src.PVC.Name}
		}
		if src.Snapshot != nil && src.Snapshot.Namespace == "" {
			src.Snapshot = &cdiv1beta1.DataVolumeSourceSnapshot{Namespace: ns, Name: src.Snapshot.Name}
		}
	}
	switch {
	case src == nil:
		return CloneSource{}, nil
	case src.PVC != nil:
		return CloneSource{Kind: SourcePVC, Namespace: orDefault(src.PVC.Namespace, dv.Namespace), Name: src.PVC.Name}, nil
	case src.Snapshot != nil:
		return CloneSource{Kind: SourceSnapshot, Namespace: orDefault(src.Snapshot.Namespace, dv.Namespace), Name: src.Snapshot.Name}, nil
	}
	return CloneSource{}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Requester is who a clone is authorized for.
type Requester struct {
	User   string
	UID    string
	Groups []string
	Extra  map[string]authorizationv1.ExtraValue
}

// RequesterFromUserInfo is the requester of an admission request.
func RequesterFromUserInfo(u authenticationv1.UserInfo) Requester {
	r := Requester{User: u.Username, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		r.Extra = map[string]authorizationv1.ExtraValue{}
		for k, v := range u.Extra {
			r.Extra[k] = authorizationv1.ExtraValue(v)
		}
	}
	return r
}

// ServiceAccountRequester is a service account as CDI's AuthorizeSA asks about it.
func ServiceAccountRequester(namespace, name string) Requester {
	return Requester{
		User:   fmt.Sprintf("system:serviceaccount:%s:%s", namespace, name),
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
	}
}

// AuthorizeClone asks, with SubjectAccessReviews, whether r may clone src into
// targetNamespace, the way CDI does (containerized-data-importer-api
// pkg/apis/core/v1beta1/authorize_utils.go): a clone within one namespace needs nothing;
// otherwise, for a PVC, create on datavolumes/source or on pods in the source namespace; for
// a snapshot, create on datavolumes/source, or on both pods and pvcs. The reason is CDI's
// message.
func AuthorizeClone(ctx context.Context, c client.Client, r Requester, src CloneSource, targetNamespace string) (bool, string, error) {
	if src.Kind == SourceNone || src.Namespace == targetNamespace {
		return true, "", nil
	}
	allowed := func(group, resource, subresource string) (bool, error) {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: r.User, UID: r.UID, Groups: r.Groups, Extra: r.Extra,
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: src.Namespace, Verb: "create", Group: group, Resource: resource, Subresource: subresource, Name: src.Name,
			},
		}}
		if err := c.Create(ctx, sar); err != nil {
			return false, fmt.Errorf("asking whether %s may create %s/%s in %s: %w", r.User, resource, subresource, src.Namespace, err)
		}
		return sar.Status.Allowed, nil
	}
	explicit, err := allowed(cdiv1beta1.SchemeGroupVersion.Group, "datavolumes", cdiv1beta1.DataVolumeCloneSourceSubresource)
	if err != nil || explicit {
		return explicit, "", err
	}
	pods, err := allowed("", "pods", "")
	if err != nil {
		return false, "", err
	}
	ok := pods
	if src.Kind == SourceSnapshot && pods {
		ok, err = allowed("", "pvcs", "")
		if err != nil {
			return false, "", err
		}
	}
	if !ok {
		return false, fmt.Sprintf("User %s has insufficient permissions in clone source namespace %s", r.User, src.Namespace), nil
	}
	return true, "", nil
}
