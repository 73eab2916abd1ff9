package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// References have two forms:
//   - "${NAME}" anywhere inside a string, any number of times (upstream's
//     `\$\{([a-zA-Z0-9_]+)\}`);
//   - "${{NAME}}" as the whole string (upstream's `^\$\{\{([a-zA-Z0-9_]+)\}\}$`), replaced by
//     the value decoded as JSON.
// Both need "${", which lets every other string be skipped cheaply.

func isNameByte(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// typedReference returns NAME when s is exactly "${{NAME}}".
func typedReference(s string) (string, bool) {
	if len(s) < len("${{x}}") || !strings.HasPrefix(s, "${{") || !strings.HasSuffix(s, "}}") {
		return "", false
	}
	name := s[3 : len(s)-2]
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return "", false
		}
	}
	return name, true
}

// nextReference finds the leftmost "${NAME}" in s at or after from and returns its bounds.
func nextReference(s string, from int) (start, end int, ok bool) {
	for from < len(s) {
		j := strings.Index(s[from:], "${")
		if j < 0 {
			return 0, 0, false
		}
		start = from + j
		k := start + 2
		for k < len(s) && isNameByte(s[k]) {
			k++
		}
		if k > start+2 && k < len(s) && s[k] == '}' {
			return start, k + 1, true
		}
		from = start + 1
	}
	return 0, 0, false
}

// referencesIn calls fn for every parameter name s references.
func referencesIn(s string, fn func(name string)) {
	if !strings.Contains(s, "${") {
		return
	}
	if name, ok := typedReference(s); ok {
		fn(name)
	}
	for i := 0; ; {
		start, end, ok := nextReference(s, i)
		if !ok {
			return
		}
		fn(s[start+2 : end-1])
		i = end
	}
}

// collectReferences adds every name referenced by a string of the decoded JSON tree v,
// object keys included.
func collectReferences(v any, refs map[string]struct{}) {
	add := func(name string) { refs[name] = struct{}{} }
	switch t := v.(type) {
	case string:
		referencesIn(t, add)
	case map[string]any:
		for k, e := range t {
			referencesIn(k, add)
			collectReferences(e, refs)
		}
	case []any:
		for _, e := range t {
			collectReferences(e, refs)
		}
	}
}

// substitution replaces references with parameter values.
type substitution struct {
	values map[string]string
	// sorted visits object keys in sorted order, so that the first error found is the same
	// on every run (upstream leaves it to map iteration order). Successful results do not
	// depend on the order, so the fast path visits keys in map order and only a failed
	// substitution is redone sorted.
	sorted bool
}

func undefinedParameter(name string) error {
	return fmt.Errorf("found parameter '%s' but it was not defined", name)
}

// text substitutes s. typed reports that s was a "${{NAME}}" reference, whose value the
// caller decodes as JSON.
func (sub substitution) text(s string) (out string, typed bool, err error) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	if name, ok := typedReference(s); ok {
		value, found := sub.values[name]
		if !found {
			return "", false, undefinedParameter(name)
		}
		return value, true, nil
	}
	// Like upstream: find the references of the original string, then replace each one's
	// first occurrence in the string as rewritten so far. Values that contain or complete a
	// reference therefore shift later replacements; this is kept on purpose.
	var refs []string
	for i := 0; ; {
		start, end, ok := nextReference(s, i)
		if !ok {
			break
		}
		refs = append(refs, s[start:end])
		i = end
	}
	out = s
	for _, ref := range refs {
		value, found := sub.values[ref[2:len(ref)-1]]
		if !found {
			return "", false, undefinedParameter(ref[2 : len(ref)-1])
		}
		if i := strings.Index(out, ref); i >= 0 {
			out = out[:i] + value + out[i+len(ref):]
		}
	}
	return out, false, nil
}

// decodeTyped decodes the value of a "${{NAME}}" reference for a place that holds any JSON
// value. Text that is not JSON stays a string; JSON null is refused.
func decodeTyped(value string, target string) (any, error) {
	var data any
	if err := json.Unmarshal([]byte(value), &data); err != nil {
		return value, nil
	}
	if data == nil {
		return nil, fmt.Errorf("cannot assign nil value to target type %s", target)
	}
	return data, nil
}

// value returns v with every string substituted. Maps and slices are rewritten in place.
func (sub substitution) value(v any) (any, error) {
	switch t := v.(type) {
	case string:
		if !strings.Contains(t, "${") {
			return v, nil // no reference; keep the boxed value as it is
		}
		out, typed, err := sub.text(t)
		if err != nil || !typed {
			return out, err
		}
		return decodeTyped(out, "interface {}")
	case map[string]any:
		return t, sub.object(t)
	case []any:
		for i, e := range t {
			ne, err := sub.value(e)
			if err != nil {
				return nil, err
			}
			if _, ok := e.(string); ok {
				t[i] = ne
			}
		}
		return t, nil
	default:
		return v, nil
	}
}

// key substitutes an object key; a "${{NAME}}" key must decode to a string (or not be JSON).
func (sub substitution) key(k string) (string, error) {
	out, typed, err := sub.text(k)
	if err != nil || !typed {
		return out, err
	}
	data, err := decodeTyped(out, "string")
	if err != nil {
		return "", err
	}
	s, ok := data.(string)
	if !ok {
		return "", fmt.Errorf("substituted value type %T is not assignable to target type string", data)
	}
	return s, nil
}

// object substitutes keys and values of m in place.
func (sub substitution) object(m map[string]any) error {
	type rename struct {
		from, to string
		value    any
	}
	var renames []rename
	visit := func(k string) error {
		nk, err := sub.key(k)
		if err != nil {
			return err
		}
		old := m[k]
		nv, err := sub.value(old)
		if err != nil {
			return err
		}
		if nk == k {
			if _, isString := old.(string); isString {
				m[k] = nv // maps and slices were changed in place
			}
		} else {
			renames = append(renames, rename{from: k, to: nk, value: nv})
		}
		return nil
	}
	if sub.sorted {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if err := visit(k); err != nil {
				return err
			}
		}
	} else {
		for k := range m {
			if err := visit(k); err != nil {
				return err
			}
		}
	}
	if len(renames) == 0 {
		return nil
	}
	// As upstream: drop the renamed keys first, then write the renamed entries, so a new key
	// replaces an unchanged key of the same name. Upstream lets map order pick the winner when
	// two keys become equal; here the later key in sorted order wins.
	slices.SortFunc(renames, func(a, b rename) int { return strings.Compare(a.from, b.from) })
	for _, r := range renames {
		delete(m, r.from)
	}
	for _, r := range renames {
		m[r.to] = r.value
	}
	return nil
}
