package engine

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// §4.3: the alphabet of each range, as upstream's code (not its docs) builds it: classes,
// spans over a…zA…Z0…9, literal runs, deduplicated and sorted by byte value.
func TestExpressionAlphabet(t *testing.T) {
	const (
		lower = "abcdefghijklmnopqrstuvwxyz"
		upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	)
	cases := []struct{ ranges, want string }{
		{"a-z", lower},
		{"A-Z", upper},
		{"0-9", digits},
		{"a-zA-Z0-9", digits + upper + lower},
		{`\w`, digits + upper + "_" + lower},
		{`\d`, digits},
		{`\a`, digits + upper + lower},
		{`\A`, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"},
		{"a-Z", upper + lower},                        // spans run over the ordered alphabet…
		{"j-9", digits + upper + "jklmnopqrstuvwxyz"}, // …across letter case and into digits
		{"G-2", "012GHIJKLMNOPQRSTUVWXYZ"},
		{"abc123", "123abc"},
		{"cbacba", "abc"},
		{"ab-z", "abz"}, // a run "ab", then "z": no span without a single character before "-"
		{"xa-c", "acx"}, // likewise "xa" and "c"
		{`\x`, "x"},     // an unknown escape is the letter alone
		{`\w\d`, digits + upper + "_" + lower},
		{`a-c\A`, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`abc{|}~"},
	}
	for _, tc := range cases {
		got, err := alphabetOf(rangeTokens(tc.ranges))
		if err != nil || got != tc.want {
			t.Errorf("alphabetOf(%q) = %q, %v; want %q", tc.ranges, got, err, tc.want)
		}
	}
}

// §4.3 error cases, with upstream's messages.
func TestExpressionErrors(t *testing.T) {
	cases := []struct{ from, want string }{
		{"[a-z]{0}", "range must be within [1-255] characters: 0"},
		{"[a-z]{256}", "range must be within [1-255] characters: 256"},
		{"[a-z]{abc}", `malformed length syntax: strconv.Atoi: parsing "abc": invalid syntax`},
		{"[a-z]{99999999999999999999}", `malformed length syntax: strconv.Atoi: parsing "99999999999999999999": value out of range`},
		{"[--]{1}", "malformed ranges syntax: --"},
		{`[\\]{1}`, `malformed ranges syntax: \\`},
		{"[z-a]{1}", "invalid range specified: z-a"},
		{"[Z-a]{1}", "invalid range specified: Z-a"},
		{"[9-0]{1}", "invalid range specified: 9-0"},
		{`[\-a]{1}`, `invalid start character in range: \`},
		{`[a-\]{1}`, `invalid end character in range: \`},
		{"[--a]{1}", "invalid start character in range: -"},
		{"ok-[a]{2}-[b-a]{1}", "invalid range specified: b-a"}, // groups are handled left to right
	}
	for _, tc := range cases {
		got, err := generateExpression(tc.from, newSeeded(1))
		if err == nil || err.Error() != tc.want {
			t.Errorf("generateExpression(%q) = %q, %v; want error %q", tc.from, got, err, tc.want)
		}
	}
}

func TestGenerateExpression(t *testing.T) {
	cases := []struct {
		name, from, want string
		rand             []byte // nil: seeded
		pattern          string // checked when want is empty
	}{
		{name: "text around the group is kept", from: "test[0]{1}x", want: "test0x"},
		{name: "a single-character alphabet", from: "[a]{10}", want: "aaaaaaaaaa"},
		{name: "several groups", from: "[a]{2}-[0]{3}", want: "aa-000"},
		{name: "no group: returned unchanged", from: "[invalid", want: "[invalid"},
		{name: "plain text: returned unchanged", from: "no-expression", want: "no-expression"},
		{name: "escaped group is still a group", from: `[\d]{4}`, pattern: "^[0-9]{4}$"},
		{name: "uppercase hex", from: "0x[A-F0-9]{4}", pattern: "^0x[A-F0-9]{4}$"},
		{name: "longest length", from: "[a-z]{255}", pattern: "^[a-z]{255}$"},
		{
			// Upstream rescans the whole string after each replacement, so generated
			// characters can complete a new group: "]" (index 24 of the punctuation)
			// turns "[x" + "]{2}" into a group of its own.
			name: "generated text can form a new group", from: `[x[\A]{1}{2}`, rand: []byte{24, 0, 0}, want: "xx",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r = newSeeded(7)
			var got string
			var err error
			if tc.rand != nil {
				got, err = generateExpression(tc.from, bytes.NewReader(tc.rand))
			} else {
				got, err = generateExpression(tc.from, r)
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if tc.pattern != "" && !regexpMatch(tc.pattern, got) {
				t.Errorf("got %q, want it to match %s", got, tc.pattern)
			}
		})
	}
}

func TestGeneratorIsSeedable(t *testing.T) {
	a, _ := generateExpression("vm-[a-z0-9]{12}", newSeeded(42))
	b, _ := generateExpression("vm-[a-z0-9]{12}", newSeeded(42))
	c, _ := generateExpression("vm-[a-z0-9]{12}", newSeeded(43))
	if a != b || a == c {
		t.Errorf("seeded values: %q %q %q", a, b, c)
	}
	// crypto/rand by default: two draws of 60 bits differ.
	d, _ := generateExpression("[a-z0-9]{12}", Processor{}.rand())
	e, _ := generateExpression("[a-z0-9]{12}", Processor{}.rand())
	if d == e {
		t.Errorf("crypto/rand draws are equal: %q", d)
	}
}

func TestGeneratorRandomSourceFailures(t *testing.T) {
	if _, err := generateExpression("[a-z]{8}", bytes.NewReader([]byte{1, 2})); err == nil ||
		!strings.Contains(err.Error(), "reading random bytes") {
		t.Errorf("short source: %v", err)
	}
	// 26 letters accept bytes below 234; a source of 0xff bytes must not spin forever.
	if _, err := generateExpression("[a-z]{8}", constantReader(0xff)); err == nil {
		t.Error("a source of only unusable bytes did not fail")
	}
	// A source that rebuilds the group forever is cut off.
	quine := bytes.Repeat([]byte(`[\A\w]{10}`), 1)
	if _, err := generateExpression(string(quine), &replayer{want: quine}); err == nil {
		t.Error("a self-reproducing expression did not stop")
	}
}

type constantReader byte

func (c constantReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

// replayer yields, for any alphabet, the bytes that pick each character of want in turn,
// so the generator keeps producing want.
type replayer struct {
	want []byte
	i    int
}

func (r *replayer) Read(p []byte) (int, error) {
	alphabet, _ := alphabetOf(rangeTokens(`\A\w`))
	for k := range p {
		p[k] = byte(strings.IndexByte(alphabet, r.want[r.i%len(r.want)]))
		r.i++
	}
	return len(p), nil
}

// Upstream's two regular expressions, used here only as the oracle for the hand-written
// scanners in generator.go.
var (
	groupOracle = regexp.MustCompile(`\[([a-zA-Z0-9\-\\]+)\](\{(\w+)\})`)
	tokenOracle = regexp.MustCompile(`(\\w)|(\\d)|(\\a)|(\\A)|(.-.)|([a-zA-Z0-9]+)`)
)

func checkGrammar(t *testing.T, s string) {
	t.Helper()
	start, end, rStart, rEnd, lStart, lEnd, ok := nextGroup(s)
	loc := groupOracle.FindStringSubmatchIndex(s)
	switch {
	case (loc != nil) != ok:
		t.Fatalf("nextGroup(%q) found=%v, regexp %v", s, ok, loc)
	case ok && !slices.Equal(loc[:8], []int{start, end, rStart, rEnd, start + (rEnd - rStart) + 2, end, lStart, lEnd}):
		t.Fatalf("nextGroup(%q) = %v, regexp %v", s, []int{start, end, rStart, rEnd, lStart, lEnd}, loc)
	}
	// rangeTokens only ever sees the inside of a group: letters, digits, '-' and '\\'.
	ranges := strings.Map(func(r rune) rune {
		if r < 128 && isRangeByte(byte(r)) {
			return r
		}
		return -1
	}, s)
	if got, want := rangeTokens(ranges), tokenOracle.FindAllString(ranges, -1); !slices.Equal(got, want) {
		t.Fatalf("rangeTokens(%q) = %q, regexp %q", ranges, got, want)
	}
}

func TestGrammarMatchesUpstreamExpressions(t *testing.T) {
	for _, s := range []string{
		"", "[a]{1}", "x[a-z]{5}y[0]{2}", "[[a]{1}", "[a]]{1}", "[a]{{1}", "[a]{1}}", "[]{1}", "[a]{}", "[a]{_}",
		`[\w\d\a\A]{3}`, `[\-a]{1}`, "ab-z", "xa-c", `\x`, "---", "--", `\\`, "a-b-c", "\n-a", "a-\n", "é-a", "[é]{1}",
	} {
		checkGrammar(t, s)
	}
}

func FuzzExpressionGrammar(f *testing.F) {
	for _, s := range []string{"[a-z]{5}", `pre[\w\A]{2}post[0-9]{x}`, "ab-z-", `[\-\\]{1}`} {
		f.Add(s)
	}
	f.Fuzz(checkGrammar)
}
