package faults

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"", ""},
		{" , ,", ""},
		{"keep-source-mac", "keep-source-mac"},
		{" keep-source-mac , ignore-parameter-defaults,keep-source-mac,", "ignore-parameter-defaults,keep-source-mac"},
		{"create-without-permission,ignore-parameter-defaults,keep-source-mac", "create-without-permission,ignore-parameter-defaults,keep-source-mac"},
		{"never-answer, keep-source-mac", "keep-source-mac,never-answer"},
	}
	for _, tc := range cases {
		s, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if s.String() != tc.want || s.Empty() != (tc.want == "") {
			t.Errorf("Parse(%q) = %q (empty %t), want %q", tc.in, s, s.Empty(), tc.want)
		}
		// String is EnvVar's syntax: it parses back to the same set.
		if again, err := Parse(s.String()); err != nil || again.String() != s.String() {
			t.Errorf("round trip of %q: %q, %v", s, again, err)
		}
	}
}

func TestParseRefusesUnknownNames(t *testing.T) {
	for _, in := range []string{"keep-mac", "Keep-Source-MAC", "keep-source-mac,bogus", "keep-source-mac;ignore-parameter-defaults", "all", "1", "true"} {
		s, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want an error", in, s)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, EnvVar+": unknown fault ") || !strings.Contains(msg, "(known: "+KnownList()+")") || strings.Contains(msg, "\n") {
			t.Errorf("Parse(%q): %q, want one line naming %s, the fault and the known ones", in, msg, EnvVar)
		}
		if !s.Empty() {
			t.Errorf("Parse(%q) returned faults %q with its error", in, s)
		}
	}
}

func TestHasAndFromEnv(t *testing.T) {
	s, err := FromEnv(func(k string) string {
		if k == EnvVar {
			return "keep-source-mac"
		}
		return "ignore-parameter-defaults"
	})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Has(KeepSourceMAC) || s.Has(IgnoreParameterDefaults) || s.Has(CreateWithoutPermission) {
		t.Errorf("FromEnv read %q, want keep-source-mac from %s only", s, EnvVar)
	}
	var none Set
	if none.Has(KeepSourceMAC) || !none.Empty() || none.String() != "" || none.Banner("x") != "" {
		t.Error("the zero Set must inject nothing and say nothing")
	}
}

func TestBannerIsLoud(t *testing.T) {
	s, _ := Parse("keep-source-mac,create-without-permission")
	b := s.Banner("vmt-template-controller")
	for _, want := range []string{"vmt-template-controller: ", "FAULTS INJECTED", EnvVar + "=create-without-permission,keep-source-mac", "must fail conformance"} {
		if !strings.Contains(b, want) {
			t.Errorf("banner %q lacks %q", b, want)
		}
	}
}

func TestKnownIsSortedAndComplete(t *testing.T) {
	for i := 1; i < len(Known); i++ {
		if Known[i-1] >= Known[i] {
			t.Errorf("Known is not sorted: %q", Known)
		}
	}
	if len(Known) != 15 {
		t.Errorf("Known = %q; a new fault needs a self-test in tests/selftest", Known)
	}
}
