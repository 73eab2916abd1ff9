package main

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// testdata/gotest.json is real `go test -json -count=1 -timeout 3s ./...` output of a module
// with: a package with t.Log then t.Errorf, t.Fatalf, a failing subtest with a gomega-style
// message and a skip; a package that does not compile; a TestMain that exits 3; a test that
// panics; a test that hits the timeout (it gets no fail event of its own).
func TestParseGoTestFixture(t *testing.T) {
	f, err := os.Open("testdata/gotest.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parseGoTest(f, "example.com/t2j")
	if err != nil {
		t.Fatal(err)
	}
	want := []failure{
		{"unit", "./a TestFatal", "a_test.go:15: policy never enforced"},
		{"unit", "./a TestLogThenError", "a_test.go:9: got 3 objects, want 4"},
		{"unit", "./a TestSub/bad_case", "a_test.go:20: Expected"},
		{"unit", "./broken (package)", `build failed: broken/b_test.go:5:45: cannot use "s" (untyped string constant) as int value in variable declaration`},
		{"unit", "./mainexit (package)", "setup failed: no cluster"},
		{"unit", "./panicky TestPanics", "panic: runtime error: index out of range [3] with length 0 [recovered, repanicked]"},
		{"unit", "./slow TestSlow", "panic: test timed out after 3s"},
	}
	if !reflect.DeepEqual(res.Failures, want) {
		t.Errorf("failures:\n got %q\nwant %q", res.Failures, want)
	}
	if res.Packages != 5 || res.FailedPackages != 5 {
		t.Errorf("packages %d, failed %d; want 5 and 5", res.Packages, res.FailedPackages)
	}
}

func TestParseGoTestPassAndNoise(t *testing.T) {
	in := strings.Join([]string{
		`go: warning: something the go command said`,
		`{"Action":"start","Package":"m/p"}`,
		`{"Action":"run","Package":"m/p","Test":"TestA"}`,
		`{"Action":"output","Package":"m/p","Test":"TestA","Output":"    a_test.go:3: expected nothing, got nothing\n"}`,
		`{"Action":"pass","Package":"m/p","Test":"TestA"}`,
		`{"Action":"pass","Package":"m/p"}`,
		`{"Action":"start","Package":"m/q"}`,
		`{"Action":"run","Package":"m/q","Test":"TestParent"}`,
		`{"Action":"run","Package":"m/q","Test":"TestParent/child"}`,
		`{"Action":"output","Package":"m/q","Test":"TestParent/child","Output":"    q_test.go:9: applying\n"}`,
		`{"Action":"output","Package":"m/q","Test":"TestParent/child","Output":"    q_test.go:10: deleted twice\n"}`,
		`{"Action":"fail","Package":"m/q","Test":"TestParent/child"}`,
		`{"Action":"output","Package":"m/q","Test":"TestParent","Output":"    q_test.go:20: parent also complains: wrong count\n"}`,
		`{"Action":"fail","Package":"m/q","Test":"TestParent"}`,
		`{"Action":"fail","Package":"m/q"}`,
	}, "\n")
	res, err := parseGoTest(strings.NewReader(in), "m")
	if err != nil {
		t.Fatal(err)
	}
	// The parent's own failure is hidden behind its failed subtest: the leaf is what failed.
	want := []failure{{"unit", "./q TestParent/child", "q_test.go:10: deleted twice"}}
	if !reflect.DeepEqual(res.Failures, want) {
		t.Errorf("failures: got %q, want %q", res.Failures, want)
	}
	if res.Packages != 2 || res.FailedPackages != 1 {
		t.Errorf("packages %d, failed %d; want 2 and 1", res.Packages, res.FailedPackages)
	}
	if len(res.Other) != 1 || !strings.HasPrefix(res.Other[0], "go: warning") {
		t.Errorf("non-JSON lines: %q", res.Other)
	}
}

func TestParseGoTestUnfinished(t *testing.T) {
	// The binary was killed (an interrupt, an OOM): the running test has no end event.
	in := `{"Action":"run","Package":"m/p","Test":"TestHangs"}
{"Action":"output","Package":"m/p","Test":"TestHangs","Output":"    p_test.go:5: waiting for the cluster\n"}
{"Action":"output","Package":"m/p","Output":"signal: interrupt\n"}
{"Action":"fail","Package":"m/p"}
`
	res, err := parseGoTest(strings.NewReader(in), "m")
	if err != nil {
		t.Fatal(err)
	}
	want := []failure{{"unit", "./p TestHangs", "did not finish: p_test.go:5: waiting for the cluster"}}
	if !reflect.DeepEqual(res.Failures, want) {
		t.Errorf("failures: got %q, want %q", res.Failures, want)
	}
}

func TestFirstFailureLine(t *testing.T) {
	for _, c := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"failure words win over earlier logs", []string{"=== RUN   TestX", "    x_test.go:3: starting", "    x_test.go:4: want 2, got 3", "    x_test.go:5: unexpected too"}, "x_test.go:4: want 2, got 3"},
		{"otherwise the last file line (t.Fatal is last)", []string{"    x_test.go:3: starting", "    x_test.go:9: the roles never aggregated into edit", "--- FAIL: TestX (1.00s)"}, "x_test.go:9: the roles never aggregated into edit"},
		{"a panic beats a plain log", []string{"    x_test.go:3: starting", "--- FAIL: TestX (0.00s)", "panic: boom [recovered]", "goroutine 1 [running]:"}, "panic: boom [recovered]"},
		{"empty message takes the next line", []string{"    x_test.go:7: ", "        Expected", "            <int>: 1"}, "x_test.go:7: Expected"},
		{"plain output", []string{"=== RUN   TestX", "some text printed", "--- FAIL: TestX (0.00s)"}, "some text printed"},
		{"frame only", []string{"=== RUN   TestX", "--- FAIL: TestX (0.00s)"}, "--- FAIL: TestX (0.00s)"},
		{"nothing", nil, ""},
	} {
		if got := firstFailureLine(c.lines); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
