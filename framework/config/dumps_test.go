package config

import (
	"flag"
	"strings"
	"testing"
)

func loadDumps(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	for _, k := range []string{"VMT_DUMP_MAX_SPECS", "VMT_DUMP_MAX_FILE_SIZE", "VMT_DUMP_MAX_SPEC_SIZE", "VMT_COMPONENT_LOGS", "VMT_PROVIDER"} {
		t.Setenv(k, "")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c := Register(fs)
	if err := fs.Parse(append([]string{"-vmt.provider=local"}, args...)); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func TestDumpBounds(t *testing.T) {
	c, err := loadDumps(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Dumps.MaxSpecs != DefaultDumpMaxSpecs || c.Dumps.MaxFileBytes != DefaultDumpMaxFileBytes || c.Dumps.MaxSpecBytes != DefaultDumpMaxSpecBytes {
		t.Errorf("defaults: %+v", c.Dumps)
	}

	c, err = loadDumps(t, map[string]string{"VMT_DUMP_MAX_SPECS": "0", "VMT_DUMP_MAX_FILE_SIZE": "64Ki", "VMT_COMPONENT_LOGS": "/a.log:/logs"}, "-vmt.dump.max-spec-size=1Mi")
	if err != nil {
		t.Fatal(err)
	}
	if c.Dumps.MaxSpecs != 0 || c.Dumps.MaxFileBytes != 64<<10 || c.Dumps.MaxSpecBytes != 1<<20 || strings.Join(c.Dumps.ComponentLogs, ",") != "/a.log,/logs" {
		t.Errorf("from env and flags: %+v", c.Dumps)
	}

	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"VMT_DUMP_MAX_SPECS": "many"}, nil, `VMT_DUMP_MAX_SPECS="many" is not a whole number`},
		{map[string]string{"VMT_DUMP_MAX_FILE_SIZE": "big"}, nil, `VMT_DUMP_MAX_FILE_SIZE="big": not a size`},
		{nil, []string{"-vmt.dump.max-spec-size=0"}, "want a positive whole number of bytes"},
		{nil, []string{"-vmt.dump.max-specs=-1"}, "--vmt.dump.max-specs=-1: want 0 or more"},
		{map[string]string{"VMT_DUMP_MAX_FILE_SIZE": "2Mi", "VMT_DUMP_MAX_SPEC_SIZE": "1Mi"}, nil, "exceeds --vmt.dump.max-spec-size"},
	} {
		_, err := loadDumps(t, tc.env, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v args %v: err = %v, want %q", tc.env, tc.args, err, tc.want)
		}
	}
}
