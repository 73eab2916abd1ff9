// Package waitcheck refuses unbounded waits in the suite (issue 12, "No wait without a
// bound"). It parses every .go file below tests/ and framework/ that the default build
// compiles (no _test.go files, no testdata, no files behind a build tag such as
// vmt_selftest) and reports, as file:line,
//
//   - an Eventually or Consistently (also EventuallyWithOffset, ConsistentlyWithOffset and
//     g.Eventually on a Gomega) whose call chain names no timeout: neither
//     .WithTimeout(<interval>) nor .Within(<interval>) nor a positional timeout argument;
//   - any duration in such a call that is not a named interval of framework/wait
//     (wait.Short, wait.Medium, ...): 5*time.Second, time.Second, "5s", a local variable.
//   - a wait.Reach under a negated assertion (ShouldNot, ToNot, NotTo): Reach awaits an
//     outcome and stops the wait at the outcome's wrong terminal states (issue 14).
//
// The named intervals are the exported package-level time.Duration variables of
// framework/wait (read from its source, so a new interval is known at once). The check is
// syntactic: a helper that returns an unbounded AsyncAssertion for its caller to bound is
// reported too; bound it where it is built.
package waitcheck

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// WaitPackage is the import path of the named intervals.
const WaitPackage = "github.com/vmt-conformance/vmt-conformance/framework/wait"

// Finding is one unbounded wait or unnamed duration.
type Finding struct {
	File string // relative to the checked root, slash-separated
	Line int
	Msg  string
}

func (f Finding) String() string { return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Msg) }

// Intervals reads the names of the intervals: the exported package-level variables of the
// package in dir (framework/wait) whose type or value is a time.Duration.
func Intervals(dir string) ([]string, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.VAR {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !name.IsExported() {
						continue
					}
					isDuration := vs.Type != nil && types.ExprString(vs.Type) == "time.Duration"
					if i < len(vs.Values) && mentionsTime(vs.Values[i]) {
						isDuration = true
					}
					if isDuration {
						names = append(names, name.Name)
					}
				}
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no named intervals (exported time.Duration variables) in %s", dir)
	}
	sort.Strings(names)
	return names, nil
}

// Check reports every unbounded wait and unnamed duration in the .go files below
// root/dirs[i] that the default build compiles, sorted by file and line.
func Check(root string, intervals []string, dirs ...string) ([]Finding, error) {
	c := &checker{root: root, intervals: intervals, fset: token.NewFileSet()}
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := e.Name()
			if e.IsDir() {
				if path != filepath.Join(root, d) && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				return nil
			}
			// Only what the suite compiles by default: files behind a build tag (the
			// vmt_selftest specs that fail on purpose) are not part of any lane.
			if ok, err := build.Default.MatchFile(filepath.Dir(path), name); err != nil || !ok {
				return err
			}
			return c.file(path)
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(c.findings, func(i, j int) bool {
		a, b := c.findings[i], c.findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return c.findings, nil
}

type checker struct {
	root      string
	intervals []string
	fset      *token.FileSet
	findings  []Finding
}

// waitCalls are the functions (or Gomega methods) that start a wait.
var waitCalls = map[string]bool{
	"Eventually": true, "Consistently": true, "EventuallyWithOffset": true, "ConsistentlyWithOffset": true,
}

func (c *checker) file(path string) error {
	f, err := parser.ParseFile(c.fset, path, nil, 0)
	if err != nil {
		return err
	}
	waitName := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == WaitPackage {
			waitName = "wait"
			if imp.Name != nil {
				waitName = imp.Name.Name
			}
		}
	}
	rel, err := filepath.Rel(c.root, path)
	if err != nil {
		rel = path
	}
	rel = filepath.ToSlash(rel)

	var stack []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		name := calleeName(call.Fun)
		if !waitCalls[name] {
			return true
		}
		report := func(msg string, args ...any) {
			c.findings = append(c.findings, Finding{File: rel, Line: c.fset.Position(call.Pos()).Line, Msg: fmt.Sprintf(msg, args...)})
		}
		kind := strings.TrimSuffix(name, "WithOffset")

		// Positional arguments after the actual value are the timeout and the polling
		// interval: Eventually([ctx,] actual, timeout, polling).
		args := call.Args
		if strings.HasSuffix(name, "WithOffset") && len(args) > 0 {
			args = args[1:]
		}
		if len(args) > 1 && looksLikeContext(args[0]) {
			args = args[1:]
		}
		var durations []ast.Expr
		hasTimeout := false
		if len(args) > 1 {
			durations = append(durations, args[1:]...)
			hasTimeout = true
		}
		// The chain: Eventually(...).WithContext(ctx).WithTimeout(t).Should(...).
		cur := ast.Expr(call)
		for i := len(stack) - 2; i >= 1; i -= 2 {
			sel, ok := stack[i].(*ast.SelectorExpr)
			if !ok || sel.X != cur {
				break
			}
			method, ok := stack[i-1].(*ast.CallExpr)
			if !ok || method.Fun != sel {
				break
			}
			switch sel.Sel.Name {
			case "WithTimeout", "Within":
				hasTimeout = true
				durations = append(durations, method.Args...)
			case "WithPolling", "ProbeEvery":
				durations = append(durations, method.Args...)
			case "ShouldNot", "ToNot", "NotTo":
				// wait.Reach stops at a wrong terminal state of what is awaited; negated,
				// "awaited" and "wrong" swap and the stop means nothing.
				for _, a := range method.Args {
					if c.isReach(a, waitName) {
						report("%s(wait.Reach(...)) in %s: Reach awaits an outcome and stops at its wrong terminal states; use Should with the outcome wanted", sel.Sel.Name, kind)
					}
				}
			}
			cur = method
		}
		if !hasTimeout {
			report("%s without a named timeout: add .WithTimeout(wait.<interval>) (one of %s); without it the wait is bounded by a default at best, and with a context not at all",
				kind, c.intervalList())
		}
		for _, d := range durations {
			if c.named(d, waitName) {
				continue
			}
			if isLiteral(d) {
				report("literal duration %s in %s: use a named interval of framework/wait (%s)", types.ExprString(d), kind, c.intervalList())
			} else {
				report("duration %s in %s is not a named interval of framework/wait (%s)", types.ExprString(d), kind, c.intervalList())
			}
		}
		return true
	})
	return nil
}

// isReach reports whether e is a call of wait.Reach with wait the file's name of
// framework/wait.
func (c *checker) isReach(e ast.Expr, waitName string) bool {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok || waitName == "" {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == waitName && sel.Sel.Name == "Reach"
}

func (c *checker) intervalList() string {
	names := make([]string, len(c.intervals))
	for i, n := range c.intervals {
		names[i] = "wait." + n
	}
	return strings.Join(names, ", ")
}

// named reports whether e is wait.<Interval> with wait the file's name of framework/wait.
func (c *checker) named(e ast.Expr, waitName string) bool {
	e = ast.Unparen(e)
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || waitName == "" {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == waitName && slices.Contains(c.intervals, sel.Sel.Name)
}

// calleeName is the name of the called function or method: Eventually, g.Eventually,
// gomega.Eventually.
func calleeName(fun ast.Expr) string {
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

// looksLikeContext recognises the context argument of Eventually(ctx, actual, ...): ctx,
// fooCtx, a SpecContext, context.Background() and friends.
func looksLikeContext(e ast.Expr) bool {
	switch x := ast.Unparen(e).(type) {
	case *ast.Ident:
		return x.Name == "ctx" || strings.HasSuffix(x.Name, "Ctx")
	case *ast.CallExpr:
		if sel, ok := x.Fun.(*ast.SelectorExpr); ok {
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "context" {
				return true
			}
		}
	}
	return false
}

// isLiteral reports whether e writes a duration itself: a number or string literal, or
// anything built from the time package's units.
func isLiteral(e ast.Expr) bool {
	literal := false
	ast.Inspect(e, func(n ast.Node) bool {
		switch n.(type) {
		case *ast.BasicLit:
			literal = true
		}
		return !literal
	})
	return literal || mentionsTime(e)
}

// mentionsTime reports whether e uses the time package (time.Second, time.Duration(...)).
func mentionsTime(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "time" {
				found = true
			}
		}
		return !found
	})
	return found
}
