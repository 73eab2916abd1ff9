package engine

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// The hand-written JSON paths must agree with encoding/json and with the strict converter
// wherever they claim success.

var jsonSeeds = []string{
	`{}`, `{"a":1}`, ` {"a" : [ 1 , 2.5e3, -0, 0.000001, 1e-7, 1e21, 123456789012345678901234567890 ] } `,
	`{"s":"plain","e":"\"\\\/\b\f\n\r\t\u0041\u00e9\u2028\u2029<>&"}`,
	`{"pair":"\ud83d\ude00","lone":"\ud83d x","low":"\ude00","bad":"\ud83d\u0041"}`,
	"{\"utf8\":\"\xff\xfe ok \xe2\x82\"}", `{"dup":1,"dup":{"x":2}}`, `{"n":null,"t":true,"f":false,"o":{},"a":[]}`,
	`{"a":"\'"}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":"x` + "\x01" + `"}`, `{"a":1e400}`, `[1]`, `null`, `{"a":1} x`,
	`{"a":"${A}","a":"${B}x${C}","${K}":{"${{T}}":["${A}"]}}`, `{"a":"\u0024{A}"}`, `{"a":tru}`, `{"a":[1,]}`, `{,}`, `{"a" 1}`, minimalJSON,
}

func checkTree(t *testing.T, data []byte) {
	t.Helper()
	mine, refs, ok := decodeTree(data)
	var ref map[string]any
	refErr := json.Unmarshal(data, &ref)
	if ok {
		if refErr != nil {
			t.Fatalf("decodeTree accepted %q, encoding/json: %v", data, refErr)
		}
		if !reflect.DeepEqual(mine, ref) {
			t.Fatalf("decodeTree(%q) = %#v, encoding/json %#v", data, mine, ref)
		}
		walked := map[string]struct{}{}
		collectReferences(ref, walked)
		if refs != nil && !reflect.DeepEqual(refs, walked) {
			t.Fatalf("decodeTree(%q) collected references %v, the tree has %v", data, refs, walked)
		}
	}
	if refErr != nil || ref == nil {
		return
	}
	want, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := encodeTree(ref)
	if !ok || !bytes.Equal(got, want) {
		t.Fatalf("encodeTree = %q (%v), json.Marshal %q", got, ok, want)
	}
	// The fast conversion, where it succeeds, equals the converter's.
	if vm, ok := fastVirtualMachine(ref); ok {
		full := &kubevirtv1.VirtualMachine{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(ref, full, true); err != nil {
			t.Fatalf("fast conversion succeeded where the converter fails: %v", err)
		}
		if !reflect.DeepEqual(vm, full) {
			t.Fatalf("fast conversion differs:\n%#v\n%#v", vm, full)
		}
	}
}

func TestJSONTreeMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonSeeds {
		checkTree(t, []byte(s))
	}
	checkTree(t, largeTemplate(t).Spec.VirtualMachine.Raw)
	deep := bytes.Repeat([]byte(`{"a":`), maxDepth+1)
	checkTree(t, append(deep, bytes.Repeat([]byte("}"), maxDepth+1)...))
}

func FuzzJSONTree(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Add(largeTemplate(f).Spec.VirtualMachine.Raw)
	f.Fuzz(checkTree)
}
