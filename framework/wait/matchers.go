package wait

import (
	"fmt"
	"strings"

	"github.com/onsi/gomega/types"
	"k8s.io/apimachinery/pkg/runtime"
)

// Condition is the part of a status condition the matchers look at. It reads any object with
// status.conditions (metav1.Condition, KubeVirt's and CDI's own condition types).
type Condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// ConditionsOf extracts status.conditions from any API object.
func ConditionsOf(obj any) ([]Condition, error) {
	if obj == nil {
		return nil, fmt.Errorf("no object")
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	status, _ := u["status"].(map[string]any)
	raw, _ := status["conditions"].([]any)
	out := make([]Condition, 0, len(raw))
	for _, r := range raw {
		m, _ := r.(map[string]any)
		str := func(k string) string { s, _ := m[k].(string); return s }
		out = append(out, Condition{Type: str("type"), Status: str("status"), Reason: str("reason"), Message: str("message")})
	}
	return out, nil
}

// HaveCondition matches an object whose condition condType has the given status and, when
// reason is given, that reason. The failure message lists every condition last seen.
func HaveCondition(condType, status string, reason ...string) types.GomegaMatcher {
	want := fmt.Sprintf("condition %s=%s", condType, status)
	if len(reason) > 0 {
		want += " reason " + reason[0]
	}
	return &conditionMatcher{condType: condType, status: status, reason: reason, want: want}
}

// conditionMatcher is HaveCondition. It is a plain matcher rather than a gcustom one so
// the failure message can render the conditions (gcustom templates cannot call our code).
type conditionMatcher struct {
	condType, status string
	reason           []string
	want             string
}

func (m *conditionMatcher) Match(obj any) (bool, error) {
	conds, err := ConditionsOf(obj)
	if err != nil {
		return false, err
	}
	for _, c := range conds {
		if c.Type == m.condType {
			return c.Status == m.status && (len(m.reason) == 0 || c.Reason == m.reason[0]), nil
		}
	}
	return false, nil
}

func (m *conditionMatcher) FailureMessage(obj any) string {
	return fmt.Sprintf("Expected %s to have %s; conditions last seen:\n%s", describeObject(obj), m.want, describeConditions(obj))
}

func (m *conditionMatcher) NegatedFailureMessage(obj any) string {
	return fmt.Sprintf("Expected %s not to have %s; conditions last seen:\n%s", describeObject(obj), m.want, describeConditions(obj))
}

// describeObject names an object by kind, namespace and name when it has them.
func describeObject(obj any) string {
	if o, ok := obj.(interface {
		GetNamespace() string
		GetName() string
	}); ok {
		return fmt.Sprintf("%T %s/%s", obj, o.GetNamespace(), o.GetName())
	}
	return fmt.Sprintf("%T", obj)
}

// describeConditions renders conditions as "Type=Status (Reason): Message" lines.
func describeConditions(obj any) string {
	conds, err := ConditionsOf(obj)
	if err != nil {
		return err.Error()
	}
	if len(conds) == 0 {
		return "(none)"
	}
	lines := make([]string, len(conds))
	for i, c := range conds {
		lines[i] = fmt.Sprintf("%s=%s (%s): %s", c.Type, c.Status, c.Reason, c.Message)
	}
	return strings.Join(lines, "\n")
}
