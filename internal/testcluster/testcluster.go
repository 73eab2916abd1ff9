// Package testcluster gives a test package's TestMain one hermetic control plane: started
// before the tests with the CRDs they need, stopped after them, skipped under -short (where
// only cluster-free tests run).
package testcluster

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/vmt-conformance/vmt-conformance/fixtures/crds"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/reference/config/crd"
)

// StartTimeout bounds starting the control plane (CI may be compiling on the same cores).
const StartTimeout = 3 * time.Minute

// Options say what the package's cluster holds and what runs beside it.
type Options struct {
	// Templates installs the template CRDs; Sets the CRD fixtures (KubeVirt, CDI, …).
	Templates bool
	Sets      []crds.Set
	// Started runs once the control plane serves, before the tests; the cleanup it returns
	// (may be nil) runs after them. ctx lives as long as the tests.
	Started func(ctx context.Context, cp *local.ControlPlane) (cleanup func(), err error)
}

// Main runs the package's tests against one control plane and exits with their status.
func Main(m *testing.M, opts Options) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	code, err := run(m, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M, opts Options) (int, error) {
	if err := local.CheckAssets(local.DefaultAssetsDir()); err != nil {
		return 1, err
	}
	defs, err := CRDs(opts.Templates, opts.Sets...)
	if err != nil {
		return 1, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	startCtx, startCancel := context.WithTimeout(ctx, StartTimeout)
	defer startCancel()
	cp, err := local.Start(startCtx, local.Options{CRDs: defs, StartTimeout: StartTimeout})
	if err != nil {
		return 1, fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() { _ = cp.Stop() }()
	if opts.Started != nil {
		cleanup, err := opts.Started(ctx, cp)
		if err != nil {
			return 1, err
		}
		if cleanup != nil {
			defer cleanup()
		}
	}
	return m.Run(), nil
}

// CRDs are the template CRDs (when templates) and the fixture sets asked for.
func CRDs(templates bool, sets ...crds.Set) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var defs []*apiextensionsv1.CustomResourceDefinition
	if templates {
		t, err := crd.CustomResourceDefinitions()
		if err != nil {
			return nil, fmt.Errorf("decoding the template CRDs: %w", err)
		}
		defs = append(defs, t...)
	}
	if len(sets) > 0 {
		f, err := crds.Load(sets...)
		if err != nil {
			return nil, fmt.Errorf("loading CRD fixtures %v: %w", sets, err)
		}
		defs = append(defs, f...)
	}
	return defs, nil
}
