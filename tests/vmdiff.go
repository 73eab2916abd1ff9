package tests

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	. "github.com/onsi/gomega"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// The fields of a VM read back after /create that are not the rendered VM's to decide.
//
// Upstream's /create sends the VM /process renders to kube-apiserver as it is and answers
// with what kube-apiserver returns; it adds nothing of its own (CreateREST.Connect,
// internal/apiserver/storage/virtualmachinetemplate/create.go@v0.1.8:79-95;
// V1beta1CreateREST.Connect and V1alpha1CreateREST.Connect,
// internal/apiserver/storage/virtualmachinetemplate/{v1beta1,v1alpha1}/create.go@v0.2.2:77-99,
// both after ProcessTemplate, process.go@v0.2.2:61-108). What the created VM may carry beyond
// the rendered one therefore comes from the cluster alone:
var (
	// serverSetVMFields are set by kube-apiserver and the VM controller on every object;
	// they are left out on both sides.
	serverSetVMFields = []fieldPattern{
		{"metadata", "uid"}, {"metadata", "resourceVersion"}, {"metadata", "creationTimestamp"},
		{"metadata", "generation"}, {"metadata", "managedFields"}, {"status"},
	}
	// clusterAddedVMFields may appear on the created VM only where the rendered VM leaves them
	// unset: KubeVirt's VM mutating webhook fills spec.template.spec.architecture,
	// spec.template.spec.domain.machine.type, the instancetype and preference kinds and a
	// preferred storage class (pkg/virt-api/webhooks/mutating-webhook/mutators/vm-mutator.go:
	// setDefaultArchitecture, setDefaultMachineType, setDefault{Instancetype,Preference}Kind,
	// setPreferenceStorageClassName); virt-controller adds its finalizer, the
	// kubevirt.io/{latest,storage}-observed-api-version annotations and the instancetype and
	// preference revision names. A value the rendered VM has is still compared.
	clusterAddedVMFields = []fieldPattern{
		{"metadata", "finalizers"},
		{"metadata", "annotations", "kubevirt.io/latest-observed-api-version"},
		{"metadata", "annotations", "kubevirt.io/storage-observed-api-version"},
		{"spec", "template", "spec", "architecture"},
		{"spec", "template", "spec", "domain", "machine"},
		{"spec", "instancetype", "kind"}, {"spec", "instancetype", "revisionName"},
		{"spec", "preference", "kind"}, {"spec", "preference", "revisionName"},
		{"spec", "dataVolumeTemplates", "*", "spec", "storage", "storageClassName"},
	}
)

// fieldPattern is a JSON path; "*" matches any one key or index, and a pattern covers every
// field below it.
type fieldPattern []string

func (p fieldPattern) covers(path []string) bool {
	if len(path) < len(p) {
		return false
	}
	for i, seg := range p {
		if seg != "*" && seg != path[i] {
			return false
		}
	}
	return true
}

func coveredByAny(ps []fieldPattern, path []string) bool {
	return slices.ContainsFunc(ps, func(p fieldPattern) bool { return p.covers(path) })
}

// vmFieldDiff compares got with the rendered VM want field by field (every leaf of their JSON
// forms, a JSON null counting as unset) and lists each difference as one line: a rendered
// field that is missing or has another value, and a field only got has. serverSet are left
// out on both sides; added may be on got where want leaves them unset. It returns nil when
// they agree.
func vmFieldDiff(want, got *kubevirtv1.VirtualMachine, serverSet, added []fieldPattern) []string {
	w, g := flattenJSON(want), flattenJSON(got)
	var out []string
	for key, wl := range w {
		if coveredByAny(serverSet, wl.path) {
			continue
		}
		gl, ok := g[key]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: rendered %s, missing from the created VM", key, show(wl.value)))
		case !reflect.DeepEqual(wl.value, gl.value):
			out = append(out, fmt.Sprintf("%s: rendered %s, created %s", key, show(wl.value), show(gl.value)))
		}
	}
	for key, gl := range g {
		if _, ok := w[key]; ok || coveredByAny(serverSet, gl.path) || coveredByAny(added, gl.path) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: not rendered, only on the created VM: %s", key, show(gl.value)))
	}
	slices.Sort(out)
	return out
}

type leaf struct {
	path  []string
	value any
}

// flattenJSON is every leaf of v's JSON form by its path (metadata.labels["app.kubernetes.io/name"],
// spec.template.spec.volumes[0].name); empty objects and arrays are leaves, nulls are left out.
func flattenJSON(v any) map[string]leaf {
	raw, err := json.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	var tree any
	Expect(json.Unmarshal(raw, &tree)).To(Succeed())
	out := map[string]leaf{}
	var walk func(path []string, key string, node any)
	walk = func(path []string, key string, node any) {
		switch n := node.(type) {
		case nil:
		case map[string]any:
			if len(n) == 0 && len(path) > 0 {
				out[key] = leaf{path, n}
			}
			for k, child := range n {
				walk(append(slices.Clip(path), k), key+pathKey(k, len(path) == 0), child)
			}
		case []any:
			if len(n) == 0 {
				out[key] = leaf{path, n}
			}
			for i, child := range n {
				idx := strconv.Itoa(i)
				walk(append(slices.Clip(path), idx), key+"["+idx+"]", child)
			}
		default:
			out[key] = leaf{path, n}
		}
	}
	walk(nil, "", tree)
	return out
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func pathKey(k string, first bool) string {
	switch {
	case !plainKey.MatchString(k):
		return "[" + strconv.Quote(k) + "]"
	case first:
		return k
	}
	return "." + k
}

func show(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(raw)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return strings.TrimSpace(s)
}
