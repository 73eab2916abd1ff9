package config

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Bounds of the per-failed-spec dumps (framework/artifacts), as kubevirt's reporter bounds
// its own (REPORTER_MAX_FAILS): a run with many failures must not fill the disk or bury the
// first failure under the hundredth.
const (
	// DefaultDumpMaxSpecs is how many failed specs of a run get a dump; later failures get a
	// report line saying the cap was reached.
	DefaultDumpMaxSpecs = 10
	// DefaultDumpMaxFileBytes caps one file of a dump (a list of objects, a log tail).
	DefaultDumpMaxFileBytes = 256 << 10
	// DefaultDumpMaxSpecBytes caps everything one failed spec's dump writes.
	DefaultDumpMaxSpecBytes = 4 << 20
)

// Dumps shapes the per-failed-spec dumps.
type Dumps struct {
	// MaxSpecs is how many failed specs are dumped per run (0 turns dumps off).
	MaxSpecs int
	// MaxFileBytes and MaxSpecBytes cap one file and one spec's whole dump.
	MaxFileBytes, MaxSpecBytes int64
	// ComponentLogs are log files (or directories of *.log files) of the template components,
	// where they do not run as pods (the local lane); the runner sets them.
	ComponentLogs []string
}

// registerDumps adds the dump flags; sizes take Kubernetes quantities (256Ki, 4Mi) or bytes.
func (d *Dumps) register(c *Config, fs *flag.FlagSet) {
	d.MaxSpecs = DefaultDumpMaxSpecs
	if v := os.Getenv("VMT_DUMP_MAX_SPECS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.envError(fmt.Errorf("VMT_DUMP_MAX_SPECS=%q is not a whole number ≥ 0", v))
		} else {
			d.MaxSpecs = n
		}
	}
	fs.IntVar(&d.MaxSpecs, "vmt.dump.max-specs", d.MaxSpecs, "failed specs that get an artifact dump, per run; 0 = none (env VMT_DUMP_MAX_SPECS)")
	d.size(c, fs, &d.MaxFileBytes, "vmt.dump.max-file-size", "VMT_DUMP_MAX_FILE_SIZE", DefaultDumpMaxFileBytes, "cap of one file of a failure dump, e.g. 256Ki")
	d.size(c, fs, &d.MaxSpecBytes, "vmt.dump.max-spec-size", "VMT_DUMP_MAX_SPEC_SIZE", DefaultDumpMaxSpecBytes, "cap of one failed spec's whole dump, e.g. 4Mi")
	if v := os.Getenv("VMT_COMPONENT_LOGS"); v != "" {
		d.ComponentLogs = filepath.SplitList(v)
	}
	fs.Func("vmt.component-logs", "log files or directories of the template components when they are not pods, "+
		"separated by "+string(os.PathListSeparator)+" (env VMT_COMPONENT_LOGS; the runner sets it on the local lane)", func(s string) error {
		d.ComponentLogs = filepath.SplitList(s)
		return nil
	})
}

func (d *Dumps) size(c *Config, fs *flag.FlagSet, p *int64, name, env string, def int64, usage string) {
	*p = def
	if v := os.Getenv(env); v != "" {
		n, err := ParseSize(v)
		if err != nil {
			c.envError(fmt.Errorf("%s=%q: %w", env, v, err))
		} else {
			*p = n
		}
	}
	fs.Func(name, fmt.Sprintf("%s (default %s, env %s)", usage, resource.NewQuantity(def, resource.BinarySI), env), func(s string) error {
		n, err := ParseSize(s)
		if err != nil {
			return err
		}
		*p = n
		return nil
	})
}

func (d *Dumps) validate() []error {
	var errs []error
	if d.MaxSpecs < 0 {
		errs = append(errs, fmt.Errorf("--vmt.dump.max-specs=%d: want 0 or more", d.MaxSpecs))
	}
	if d.MaxFileBytes > d.MaxSpecBytes {
		errs = append(errs, fmt.Errorf("--vmt.dump.max-file-size (%d bytes) exceeds --vmt.dump.max-spec-size (%d bytes)", d.MaxFileBytes, d.MaxSpecBytes))
	}
	return errs
}

// ParseSize reads a byte size: a Kubernetes quantity (64Ki, 4Mi, 1G) or a plain number.
func ParseSize(s string) (int64, error) {
	q, err := resource.ParseQuantity(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("not a size (use bytes or a quantity such as 256Ki, 4Mi)")
	}
	n, ok := q.AsInt64()
	if !ok || n < 1 {
		return 0, fmt.Errorf("want a positive whole number of bytes")
	}
	return n, nil
}
