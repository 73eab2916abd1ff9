package artifacts

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// keep says which end of an oversized file survives: the head of an object list (the first
// objects whole), the tail of a log (the latest lines).
type keep int

const (
	keepHead keep = iota
	keepTail
)

// budget writes a dump's files within the per-file and per-spec caps and remembers what it
// wrote, cut and could not collect, for index.txt.
type budget struct {
	dir      string
	left     int64 // bytes the spec may still write
	maxFile  int64
	written  int64
	files    []string
	cut      []string
	notes    []string
	problems []string
}

func (b *budget) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func (b *budget) problem(format string, args ...any) {
	b.problems = append(b.problems, fmt.Sprintf(format, args...))
}

// writeYAML writes items as one v1 List, without managedFields (noise for a reader).
func (b *budget) writeYAML(rel string, items []unstructured.Unstructured) {
	if len(items) == 0 {
		return
	}
	list := make([]any, len(items))
	for i := range items {
		u := items[i].DeepCopy()
		unstructured.RemoveNestedField(u.Object, "metadata", "managedFields")
		list[i] = u.Object
	}
	raw, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": list})
	if err != nil {
		b.problem("%s: %v", rel, err)
		return
	}
	b.write(rel, raw, keepHead)
}

// write stores data at rel, cut to what the caps allow; a cut file says so in its first
// (logs) or last (everything else) line.
func (b *budget) write(rel string, data []byte, end keep) {
	limit := min(b.maxFile, b.left)
	if limit <= 0 {
		b.cut = append(b.cut, fmt.Sprintf("%s (%d bytes): left out, the spec's dump reached its size cap", rel, len(data)))
		return
	}
	if int64(len(data)) > limit {
		marker := fmt.Sprintf("\n# [vmt-conformance: cut to %d of %d bytes by the dump's size caps]\n", limit, len(data))
		room := limit - int64(len(marker))
		if room < 0 {
			b.cut = append(b.cut, fmt.Sprintf("%s (%d bytes): left out, too little room under the size cap", rel, len(data)))
			return
		}
		b.cut = append(b.cut, fmt.Sprintf("%s: cut to %d of %d bytes", rel, limit, len(data)))
		if end == keepTail {
			data = append([]byte(strings.TrimPrefix(marker, "\n")+"\n"), data[int64(len(data))-room:]...)
			data = data[:min(int64(len(data)), limit)]
		} else {
			data = append(data[:room:room], marker...)
		}
	}
	path := filepath.Join(b.dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.problem("%s: %v", rel, err)
		return
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.problem("%s: %v", rel, err)
		return
	}
	b.left -= int64(len(data))
	b.written += int64(len(data))
	b.files = append(b.files, fmt.Sprintf("%-60s %8d", rel, len(data)))
}

// index renders index.txt: what the dump holds, what the caps cut, what could not be read.
func (b *budget) index(spec Spec, l Limits) string {
	var s strings.Builder
	fmt.Fprintf(&s, "failure dump of %s\n", spec.Text)
	fmt.Fprintf(&s, "caps: %d bytes per file, %d bytes per spec, %d specs per run (--vmt.dump.*)\n\n", l.MaxFileBytes, l.MaxSpecBytes, l.MaxSpecs)
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&s, "%s:\n", title)
		for _, l := range lines {
			fmt.Fprintf(&s, "  %s\n", l)
		}
		s.WriteString("\n")
	}
	section("files (bytes)", b.files)
	section("cut by the size caps", b.cut)
	section("notes", b.notes)
	section("collection problems", b.problems)
	return s.String()
}
