//go:build tools

// Package tools pins the code generators used by generate.sh, apart from the project's module
// so their dependencies never leak into it.
package tools

import (
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
