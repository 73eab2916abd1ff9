package virtctl

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vmt-conformance/vmt-conformance/framework/release"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/subresourcesv1beta1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1alpha1"
	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// KubeVirtVersionEnv selects the KubeVirt release whose `virtctl template` the CLI plays
// (cmd/vmt-virtctl reads it; the hidden --kubevirt-version flag overrides it). The local
// lane sets it to its profile's KubeVirt version.
const KubeVirtVersionEnv = "VMT_VIRTCTL_KUBEVIRT_VERSION"

// DefaultKubeVirtVersion is played when none is given: v1.9's virtctl.
const DefaultKubeVirtVersion = "v1.9.0"

// kubeVirtVersionFlag is the hidden global flag that overrides KubeVirtVersionEnv.
const kubeVirtVersionFlag = "kubevirt-version"

// The two generations of `virtctl template` differ only in the API versions they speak;
// flags, defaults and messages are the same:
//   - kubevirt/kubevirt pkg/virtctl/template@v1.8.0 (and v1.8.1 … v1.8.4, v1.9.0-alpha.0,
//     v1.9.0-beta.0) uses template.kubevirt.io/v1alpha1 and subresources v1alpha1 for
//     everything: process/process.go fetchRemote (TemplateV1alpha1().Get), processRemote
//     (/process), createRemote (/create), create/create.go (VMTR create), and
//     convert/convert.go prints apiVersion template.kubevirt.io/v1alpha1.
//   - @v1.9.0 (since v1.9.0-rc.0, commit 98b182f1 "Switch template commands to virt-template
//     v1beta1 API") uses v1beta1 throughout.
var firstV1beta1Virtctl = release.MustParse("v1.9.0-rc.0")

// firstTemplateVirtctl is the first KubeVirt whose virtctl has `template` (pkg/virtctl/template
// is absent at v1.8.0-beta.0, present at v1.8.0-rc.0).
var firstTemplateVirtctl = release.MustParse("v1.8.0-rc.0")

// apiVersions are the versions of the two template APIs one virtctl generation speaks.
type apiVersions struct {
	templates, subresources schema.GroupVersion
}

func (a apiVersions) v1alpha1() bool { return a.templates == v1alpha1.GroupVersion }

// apiVersionsFor reads a KubeVirt version ("v1.8.4", "1.9.0"; "v1.8" stands for v1.8.0;
// "" for DefaultKubeVirtVersion) and gives the API versions its virtctl speaks.
func apiVersionsFor(kubevirt string) (apiVersions, error) {
	s := strings.TrimSpace(kubevirt)
	if s == "" {
		s = DefaultKubeVirtVersion
	}
	if strings.Count(s, ".") == 1 && !strings.ContainsAny(s, "-+") {
		s += ".0"
	}
	v, err := release.Parse(s)
	if err != nil {
		return apiVersions{}, fmt.Errorf("KubeVirt version %q (--%s or %s): want a version such as v1.8.4", kubevirt, kubeVirtVersionFlag, KubeVirtVersionEnv)
	}
	switch {
	case v.Less(firstTemplateVirtctl):
		return apiVersions{}, fmt.Errorf("KubeVirt version %q (--%s or %s): virtctl has the template command since %s", kubevirt, kubeVirtVersionFlag, KubeVirtVersionEnv, firstTemplateVirtctl)
	case v.Less(firstV1beta1Virtctl):
		return apiVersions{templates: v1alpha1.GroupVersion, subresources: subresourcesv1alpha1.GroupVersion}, nil
	default:
		return apiVersions{templates: v1beta1.GroupVersion, subresources: subresourcesv1beta1.GroupVersion}, nil
	}
}

// convertVersion copies in into out, which are the same kind in v1alpha1 and v1beta1: the
// two versions have the same fields (reference/api/core), so JSON carries everything. The
// API version in out's TypeMeta is left to the encoder (or to the caller).
func convertVersion(in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}
