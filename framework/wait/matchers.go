package wait

import (
	"fmt"
	"strings"

	"github.com/onsi/gomega/gcustom"
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
	return gcustom.MakeMatcher(func(obj any) (bool, error) {
		conds, err := ConditionsOf(obj)
		if err != nil {
			return false, err
		}
		for _, c := range conds {
			if c.Type == condType {
				return c.Status == status && (len(reason) == 0 || c.Reason == reason[0]), nil
			}
		}
		return false, nil
	}).WithTemplate("Expected {{.To}} have " + want + "; conditions last seen:\n{{format (conditions .Actual) 1}}").
		WithTemplateData(nil)
}

func init() {
	// Registered here so every matcher template can render conditions compactly.
	_ = describeConditions
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
