package cleanup

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// clusterScoped are the cluster-scoped types whose literals the suite may write.
var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"VirtualMachineClusterInstancetype": true, "VirtualMachineClusterPreference": true,
}

// TestEveryClusterScopedObjectCarriesTheRunLabels keeps the check honest: an object of the
// suite without the run's labels is invisible to it. Every literal of a cluster-scoped type in
// the specs and the framework (the providers' own infrastructure aside) must be built in a
// function that uses namespace.RunLabels (directly, or through AddRunLabels).
func TestEveryClusterScopedObjectCarriesTheRunLabels(t *testing.T) {
	root := filepath.Join("..", "..")
	var checked int
	for _, dir := range []string{"tests", "framework"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "cluster" || d.Name() == "testdata") {
				return filepath.SkipDir // the providers' infrastructure is not the suite's
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, src, 0)
			if err != nil {
				return err
			}
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				body := string(src[fset.Position(fn.Body.Pos()).Offset:fset.Position(fn.Body.End()).Offset])
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					lit, ok := n.(*ast.CompositeLit)
					if !ok {
						return true
					}
					sel, ok := lit.Type.(*ast.SelectorExpr)
					if !ok || !clusterScoped[sel.Sel.Name] {
						return true
					}
					checked++
					if !strings.Contains(body, "RunLabels(") {
						t.Errorf("%s: a %s is built in %s without the run's labels (namespace.RunLabels)", fset.Position(lit.Pos()), sel.Sel.Name, fn.Name.Name)
					}
					return true
				})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked == 0 {
		t.Fatal("found no cluster-scoped literal at all: the scan is broken")
	}
	t.Logf("%d cluster-scoped literals carry the run's labels", checked)
}
