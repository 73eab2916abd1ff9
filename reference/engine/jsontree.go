package engine

import (
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	kubevirtv1 "kubevirt.io/api/core/v1"
)

// Upstream decodes the template's VirtualMachine with encoding/json into
// map[string]interface{} and, inside the strict converter, re-encodes the VMI spec with
// json.Marshal. Those two steps dominate processing time, so this file does both by hand for
// the JSON trees involved (objects, arrays, strings, float64, bool, nil). The results are
// identical to encoding/json's (jsontree_test.go fuzzes them against it); anything unusual
// (a syntax error, an out-of-range number, extreme nesting, a value of another type) makes
// the caller use encoding/json itself, so its error messages stay exact.

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// decodeTree decodes a JSON object exactly as json.Unmarshal into map[string]any would.
// ok is false when the input is anything but a well-formed object within limits.
//
// On the way it collects the parameters referenced by the tree's strings (keys included)
// into refs, which saves the reference check a walk over the tree. refs is nil when that
// is not possible: a duplicate key may have dropped a string that was seen.
func decodeTree(data []byte) (tree map[string]any, refs map[string]struct{}, ok bool) {
	d := treeDecoder{data: data, refs: map[string]struct{}{}}
	d.skipSpace()
	if d.i >= len(d.data) || d.data[d.i] != '{' {
		return nil, nil, false
	}
	v, ok := d.value(0)
	if !ok {
		return nil, nil, false
	}
	d.skipSpace()
	if d.i != len(d.data) {
		return nil, nil, false
	}
	if d.duplicates {
		d.refs = nil
	}
	return v.(map[string]any), d.refs, true
}

type treeDecoder struct {
	data       []byte
	i          int
	refs       map[string]struct{}
	duplicates bool
}

func (d *treeDecoder) addRef(name string) { d.refs[name] = struct{}{} }

func (d *treeDecoder) skipSpace() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *treeDecoder) value(depth int) (any, bool) {
	if depth >= maxDepth {
		return nil, false
	}
	d.skipSpace()
	if d.i >= len(d.data) {
		return nil, false
	}
	switch c := d.data[d.i]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.str()
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, false
}

func (d *treeDecoder) literal(word string) bool {
	if !strings.HasPrefix(string(d.data[d.i:min(len(d.data), d.i+len(word))]), word) {
		return false
	}
	d.i += len(word)
	return true
}

func (d *treeDecoder) object(depth int) (any, bool) {
	d.i++ // '{'
	m := map[string]any{}
	d.skipSpace()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		return m, true
	}
	for {
		d.skipSpace()
		if d.i >= len(d.data) || d.data[d.i] != '"' {
			return nil, false
		}
		k, ok := d.key()
		if !ok {
			return nil, false
		}
		d.skipSpace()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return nil, false
		}
		d.i++
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		size := len(m)
		m[k.(string)] = v
		if len(m) == size {
			d.duplicates = true
		}
		d.skipSpace()
		if d.i >= len(d.data) {
			return nil, false
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return m, true
		default:
			return nil, false
		}
	}
}

func (d *treeDecoder) array(depth int) (any, bool) {
	d.i++ // '['
	a := make([]any, 0)
	d.skipSpace()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		return a, true
	}
	for {
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		d.skipSpace()
		if d.i >= len(d.data) {
			return nil, false
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return a, true
		default:
			return nil, false
		}
	}
}

func (d *treeDecoder) number() (any, bool) {
	start := d.i
	digits := func() int {
		n := 0
		for d.i < len(d.data) && '0' <= d.data[d.i] && d.data[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.data[d.i] == '-' {
		d.i++
	}
	if d.i < len(d.data) && d.data[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return nil, false
	}
	if d.i < len(d.data) && d.data[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return nil, false
		}
	}
	if d.i < len(d.data) && (d.data[d.i] == 'e' || d.data[d.i] == 'E') {
		d.i++
		if d.i < len(d.data) && (d.data[d.i] == '+' || d.data[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(string(d.data[start:d.i]), 64)
	if err != nil {
		return nil, false // out of range: encoding/json reports it
	}
	return f, true
}

// key decodes an object key, sharing the string of field names KubeVirt's types know.
func (d *treeDecoder) key() (any, bool) {
	start := d.i + 1
	end := start
	for end < len(d.data) && d.data[end] != '"' && d.data[end] != '\\' && d.data[end] >= 0x20 && d.data[end] < utf8.RuneSelf {
		end++
	}
	if end < len(d.data) && d.data[end] == '"' {
		if k, ok := knownKeys()[string(d.data[start:end])]; ok {
			d.i = end + 1
			return k, true
		}
	}
	return d.str()
}

// knownKeys holds the JSON field names of VirtualMachine and everything it contains.
var knownKeys = sync.OnceValue(func() map[string]string {
	keys := map[string]string{}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				keys[name] = name
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[kubevirtv1.VirtualMachine]())
	return keys
})

// str decodes a string the way encoding/json does: the escapes JSON allows, lone or broken
// surrogates and invalid UTF-8 bytes become U+FFFD, raw control characters are refused.
func (d *treeDecoder) str() (any, bool) {
	d.i++ // '"'
	start := d.i
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			s := string(d.data[start:d.i])
			d.i++
			referencesIn(s, d.addRef)
			return s, true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return d.slowStr(start)
		}
		d.i++
	}
	return nil, false
}

func (d *treeDecoder) slowStr(start int) (any, bool) {
	b := append(make([]byte, 0, d.i-start+16), d.data[start:d.i]...)
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			s := string(b)
			referencesIn(s, d.addRef)
			return s, true
		case c < 0x20:
			return nil, false
		case c == '\\':
			if d.i+1 >= len(d.data) {
				return nil, false
			}
			switch e := d.data[d.i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(d.data[d.i:])
				if r < 0 {
					return nil, false
				}
				d.i += 6
				if utf16.IsSurrogate(r) {
					// encoding/json pairs it with a following \uXXXX when that forms a valid
					// pair, and otherwise substitutes U+FFFD and leaves what follows alone.
					if next := hex4(d.data[d.i:]); next >= 0 {
						if dec := utf16.DecodeRune(r, next); dec != unicode.ReplacementChar {
							d.i += 6
							b = utf8.AppendRune(b, dec)
							continue
						}
					}
					r = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				return nil, false
			}
			d.i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.i++
		default:
			r, size := utf8.DecodeRune(d.data[d.i:])
			b = utf8.AppendRune(b, r)
			d.i += size
		}
	}
	return nil, false
}

// hex4 reads "\uXXXX" at the start of s, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// encodeTree encodes a JSON tree exactly as json.Marshal would (sorted keys, HTML-safe
// escaping, encoding/json's float format). ok is false for values outside JSON trees.
func encodeTree(v any) (out []byte, ok bool) {
	return appendTree(make([]byte, 0, 4096), v)
}

func appendTree(b []byte, v any) ([]byte, bool) {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), true
	case bool:
		return strconv.AppendBool(b, t), true
	case string:
		return appendJSONString(b, t), true
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return nil, false
		}
		format := byte('f')
		if abs := math.Abs(t); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
			format = 'e'
		}
		b = strconv.AppendFloat(b, t, format, -1, 64)
		if format == 'e' {
			// e-09 → e-9, as encoding/json does.
			if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
				b[n-2] = b[n-1]
				b = b[:n-1]
			}
		}
		return b, true
	case map[string]any:
		if t == nil {
			return append(b, "null"...), true
		}
		var small [32]string
		keys := small[:0]
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			var ok bool
			if b, ok = appendTree(b, t[k]); !ok {
				return nil, false
			}
		}
		return append(b, '}'), true
	case []any:
		if t == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendTree(b, e); !ok {
				return nil, false
			}
		}
		return append(b, ']'), true
	}
	return nil, false
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding with HTML escaping.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
