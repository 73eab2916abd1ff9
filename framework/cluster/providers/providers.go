// Package providers turns the configuration into a cluster.Provider.
package providers

import (
	"fmt"
	"io"
	"strings"

	"github.com/vmt-conformance/vmt-conformance/framework/cluster"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster/existing"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster/kind"
	"github.com/vmt-conformance/vmt-conformance/framework/cluster/local"
	"github.com/vmt-conformance/vmt-conformance/framework/config"
)

// New returns the provider cfg names. progress receives start-up lines (local provider).
func New(cfg *config.Config, progress io.Writer) (cluster.Provider, error) {
	switch cfg.Provider {
	case "existing":
		return existing.New(cfg.Kubeconfig, cfg.WindowsImage, cfg.InstallNamespace).WithProgress(progress), nil
	case "local":
		assets := cfg.LocalAssets
		if assets == "" {
			assets = local.DefaultAssetsDir()
		}
		profile, err := local.LookupProfile(cfg.Local.Profile)
		if err != nil {
			return nil, err
		}
		return local.NewProvider(assets, progress).WithProfile(profile), nil
	case "kind":
		return kind.New(kind.Options{Name: cfg.Kind.Cluster, Keep: cfg.Kind.Keep, Progress: progress, Profile: cfg.Local.Profile}), nil
	default:
		return nil, fmt.Errorf("unknown provider %q (known: %s)", cfg.Provider, strings.Join(config.Providers, ", "))
	}
}
