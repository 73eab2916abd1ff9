package engine

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// GeneratorExpression is the only generator: random characters from "[ranges]{length}".
const GeneratorExpression = "expression"

const (
	lowerLetters = "abcdefghijklmnopqrstuvwxyz"
	upperLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits       = "0123456789"
	// spanAlphabet orders the characters a span like "a-Z" or "j-9" runs over.
	spanAlphabet = lowerLetters + upperLetters + digits
	punctuation  = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

	minGeneratedLength = 1
	maxGeneratedLength = 255

	// extraExpansions bounds how many "[...]{...}" groups may appear in generated text
	// itself (upstream rescans the whole string after every replacement, so generated
	// characters can form a new group). Random output essentially never does; only a
	// crafted Rand could make the loop endless.
	extraExpansions = 1024
)

// The generator's grammar is upstream's pair of regular expressions, matched here by hand
// (generator_test.go checks the scanners against the expressions themselves):
//
//	group: \[([a-zA-Z0-9\-\\]+)\](\{(\w+)\})  (the CRD's pattern for "from", unanchored)
//	token: (\\w)|(\\d)|(\\a)|(\\A)|(.-.)|([a-zA-Z0-9]+)
//
// Token alternatives are tried in that order at each position (leftmost-first): a class,
// then a three-character span, then a run of letters and digits. So "ab-z" is the run "ab"
// and then "z", not a span, and an unknown escape such as `\x` contributes just "x".

func isAlnum(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func isRangeByte(c byte) bool { return isAlnum(c) || c == '-' || c == '\\' }

// nextGroup finds the leftmost "[ranges]{length}" group in s. It returns the group's bounds
// and the bounds of ranges and length inside it.
func nextGroup(s string) (start, end, rStart, rEnd, lStart, lEnd int, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] != '[' {
			continue
		}
		j := i + 1
		for j < len(s) && isRangeByte(s[j]) {
			j++
		}
		if j == i+1 || j+1 >= len(s) || s[j] != ']' || s[j+1] != '{' {
			continue
		}
		k := j + 2
		for k < len(s) && isNameByte(s[k]) {
			k++
		}
		if k == j+2 || k >= len(s) || s[k] != '}' {
			continue
		}
		return i, k + 1, i + 1, j, j + 2, k, true
	}
	return 0, 0, 0, 0, 0, 0, false
}

// rangeTokens splits the inside of the brackets into tokens.
func rangeTokens(ranges string) []string {
	var tokens []string
	for i := 0; i < len(ranges); {
		switch {
		case ranges[i] == '\\' && i+1 < len(ranges) && strings.IndexByte("wdaA", ranges[i+1]) >= 0:
			tokens = append(tokens, ranges[i:i+2])
			i += 2
		case i+2 < len(ranges) && ranges[i+1] == '-' && ranges[i] != '\n' && ranges[i+2] != '\n':
			tokens = append(tokens, ranges[i:i+3])
			i += 3
		case isAlnum(ranges[i]):
			j := i + 1
			for j < len(ranges) && isAlnum(ranges[j]) {
				j++
			}
			tokens = append(tokens, ranges[i:j])
			i = j
		default:
			i++
		}
	}
	return tokens
}

// generateExpression replaces every "[ranges]{length}" group of from with length random
// characters of the ranges, reading randomness from r.
func generateExpression(from string, r io.Reader) (string, error) {
	budget := strings.Count(from, "]{") + extraExpansions
	s := from
	for {
		start, end, rStart, rEnd, lStart, lEnd, ok := nextGroup(s)
		if !ok {
			return s, nil
		}
		if budget == 0 {
			return "", errors.New("generated text keeps forming new expressions")
		}
		budget--

		ranges, lengthText := s[rStart:rEnd], s[lStart:lEnd]
		tokens := rangeTokens(ranges)
		if len(tokens) == 0 {
			return "", fmt.Errorf("malformed ranges syntax: %s", ranges)
		}
		length, err := strconv.Atoi(lengthText)
		if err != nil {
			return "", fmt.Errorf("malformed length syntax: %w", err)
		}
		if length < minGeneratedLength || length > maxGeneratedLength {
			return "", fmt.Errorf("range must be within [%d-%d] characters: %d",
				minGeneratedLength, maxGeneratedLength, length)
		}
		alphabet, err := alphabetOf(tokens)
		if err != nil {
			return "", err
		}
		value, err := randomString(r, alphabet, length)
		if err != nil {
			return "", err
		}
		// The leftmost match is also the first occurrence of its text, so replacing it in
		// place equals upstream's replace-first-occurrence.
		s = s[:start] + value + s[end:]
	}
}

// alphabetOf returns the characters the range tokens allow, deduplicated and in byte order.
func alphabetOf(tokens []string) (string, error) {
	var set [128]bool
	add := func(chars string) {
		for i := 0; i < len(chars); i++ {
			set[chars[i]&0x7f] = true
		}
	}
	for _, tok := range tokens {
		switch tok {
		case `\w`:
			add(lowerLetters + upperLetters + digits + "_")
		case `\d`:
			add(digits)
		case `\a`:
			add(lowerLetters + upperLetters + digits)
		case `\A`:
			add(punctuation)
		default:
			if len(tok) == 3 && tok[1] == '-' {
				span, err := spanOf(tok[0], tok[2])
				if err != nil {
					return "", err
				}
				add(span)
				continue
			}
			add(tok)
		}
	}
	alphabet := make([]byte, 0, len(set))
	for c, ok := range set {
		if ok {
			alphabet = append(alphabet, byte(c))
		}
	}
	return string(alphabet), nil
}

// spanOf returns the characters from first to last in spanAlphabet order.
func spanOf(first, last byte) (string, error) {
	from, to := indexByte(spanAlphabet, first), indexByte(spanAlphabet, last)
	switch {
	case from < 0:
		return "", fmt.Errorf("invalid start character in range: %s", string(first))
	case to < 0:
		return "", fmt.Errorf("invalid end character in range: %s", string(last))
	case from > to:
		return "", fmt.Errorf("invalid range specified: %s-%s", string(first), string(last))
	}
	return spanAlphabet[from : to+1], nil
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// randomString draws n characters uniformly from alphabet (at most 128 characters), one
// random byte per try, rejecting bytes that would bias the draw.
func randomString(r io.Reader, alphabet string, n int) (string, error) {
	if len(alphabet) == 0 {
		return "", errors.New("alphabet cannot be empty")
	}
	size := len(alphabet)
	accept := 256 - 256%size
	out := make([]byte, 0, n)
	var buf [64]byte
	// A source that only yields rejected bytes would spin forever; real randomness is
	// rejected at most half the time.
	for tries := 0; len(out) < n; tries++ {
		if tries > 64+4*n {
			return "", errors.New("random source yields no usable bytes")
		}
		want := min(n-len(out), len(buf))
		if _, err := io.ReadFull(r, buf[:want]); err != nil {
			return "", fmt.Errorf("reading random bytes: %w", err)
		}
		for _, b := range buf[:want] {
			if int(b) < accept {
				out = append(out, alphabet[int(b)%size])
			}
		}
	}
	return string(out), nil
}
