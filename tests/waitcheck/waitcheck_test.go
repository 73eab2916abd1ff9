package waitcheck

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// root is the module root, seen from this package's directory (go test runs here).
const root = "../.."

func intervals(t *testing.T) []string {
	t.Helper()
	names, err := Intervals(filepath.Join(root, "framework", "wait"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestNoUnboundedWait is the check itself: every Eventually and Consistently of the suite
// and its framework names its timeout, and every duration in them is a named interval.
func TestNoUnboundedWait(t *testing.T) {
	findings, err := Check(root, intervals(t), "tests", "framework")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Error(f)
	}
}

func TestIntervalsAreReadFromFrameworkWait(t *testing.T) {
	got := intervals(t)
	for _, want := range []string{"Poll", "Short", "Medium", "Long", "VMStart", "Request"} {
		if !slices.Contains(got, want) {
			t.Errorf("intervals %q lack %s", got, want)
		}
	}
	if _, err := Intervals(t.TempDir()); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("a directory without intervals: %v, want a one-line error", err)
	}
}

// wantComment marks a line of testdata that must be reported: // want "substring".
var wantComment = regexp.MustCompile(`// want ("(?:[^"\\]|\\.)*")\s*$`)

// TestCheckFailsOnUnboundedWaits proves the check fails where it must: every line of
// testdata/src/bad marked `// want "…"` is reported with that text, and nothing else is;
// testdata/src/good (named intervals under an import alias, a file behind the
// vmt_selftest tag, a _test.go file) gives nothing.
func TestCheckFailsOnUnboundedWaits(t *testing.T) {
	src := filepath.Join("testdata", "src")
	findings, err := Check(src, intervals(t), "bad", "good")
	if err != nil {
		t.Fatal(err)
	}
	want := wants(t, filepath.Join(src, "bad", "waits.go"), "bad/waits.go")
	if len(want) < 10 {
		t.Fatalf("only %d want comments in testdata: the bad example lost its cases", len(want))
	}
	got := map[string][]string{}
	for _, f := range findings {
		if strings.Contains(f.Msg, "\n") {
			t.Errorf("%s: not one line", f)
		}
		key := f.File + ":" + strconv.Itoa(f.Line)
		got[key] = append(got[key], f.Msg)
	}
	for key, text := range want {
		msgs := got[key]
		if len(msgs) != 1 || !strings.Contains(msgs[0], text) {
			t.Errorf("%s: want one finding with %q, got %q", key, text, msgs)
		}
		delete(got, key)
	}
	for key, msgs := range got {
		t.Errorf("%s: unexpected findings %q", key, msgs)
	}
	if t.Failed() {
		return
	}
	for _, f := range findings {
		t.Log(f)
	}
}

// wants reads the want comments of path, keyed by rel:line.
func wants(t *testing.T, path, rel string) map[string]string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(fh)
	for line := 1; sc.Scan(); line++ {
		m := wantComment.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		text, err := strconv.Unquote(m[1])
		if err != nil {
			t.Fatalf("%s:%d: bad want comment: %v", path, line, err)
		}
		out[rel+":"+strconv.Itoa(line)] = text
	}
	return out
}
