// Command exports counts the exported identifiers of every public package
// of the repository, fields and methods included, so that the size of the
// API can be watched from commit to commit:
//
//	go run ./internal/cmd/exports [root]
//
// It walks root (default "."), every module in it included, and skips
// internal, testdata and main packages and test files. For each package it
// prints two counts: "decls" are its exported constants, variables,
// functions and types plus the exported fields of its exported struct
// types (embedded ones by their type's name), the measure issue 27 set
// its targets in; "all" adds the exported methods of its exported types
// and the methods of its exported interfaces. Lines are sorted by
// directory; the last is the total.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	counts, err := count(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "exports:", err)
		os.Exit(1)
	}
	dirs := make([]string, 0, len(counts))
	for d := range counts {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var total tally
	fmt.Printf("%-16s %5s %5s\n", "package", "decls", "all")
	for _, d := range dirs {
		c := counts[d]
		fmt.Printf("%-16s %5d %5d\n", d, c.decls, c.decls+c.methods)
		total.add(c)
	}
	fmt.Printf("%-16s %5d %5d\n", "total", total.decls, total.decls+total.methods)
}

// tally is a package's count: exported declarations and fields, and
// exported methods (interface methods included).
type tally struct{ decls, methods int }

func (t *tally) add(u tally) { t.decls += u.decls; t.methods += u.methods }

// count returns the exported identifiers per package directory (relative
// to root, "." for the root package).
func count(root string) (map[string]tally, error) {
	counts := map[string]tally{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (name == "internal" || name == "testdata" || strings.HasPrefix(name, ".")) {
			return filepath.SkipDir
		}
		n, ok, err := countDir(path)
		if err != nil || !ok {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		counts[filepath.ToSlash(rel)] = n
		return nil
	})
	return counts, err
}

// countDir counts the exported identifiers of the package in dir; ok is
// false when dir holds no library package.
func countDir(dir string) (n tally, ok bool, err error) {
	fset := token.NewFileSet()
	notTest := func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }
	pkgs, err := parser.ParseDir(fset, dir, notTest, parser.SkipObjectResolution)
	if err != nil {
		return n, false, err
	}
	for name, pkg := range pkgs {
		if name == "main" {
			continue
		}
		ok = true
		for _, f := range pkg.Files {
			n.add(countFile(f))
		}
	}
	return n, ok, nil
}

// countFile counts f's exported declarations and, for its exported types,
// their exported fields, methods and interface methods.
func countFile(f *ast.File) tally {
	var n tally
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			switch {
			case !d.Name.IsExported():
			case d.Recv == nil:
				n.decls++
			case exportedRecv(d.Recv):
				n.methods++
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.ValueSpec:
					for _, id := range s.Names {
						if id.IsExported() {
							n.decls++
						}
					}
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						n.decls++
						n.add(members(s.Type))
					}
				}
			}
		}
	}
	return n
}

// members counts the exported fields of a struct type or the exported
// methods (and embedded interfaces) of an interface type.
func members(t ast.Expr) tally {
	var list *ast.FieldList
	switch t := t.(type) {
	case *ast.StructType:
		list = t.Fields
	case *ast.InterfaceType:
		list = t.Methods
	default:
		return tally{}
	}
	n := 0
	for _, field := range list.List {
		if len(field.Names) == 0 {
			if embeddedName(field.Type).IsExported() {
				n++
			}
			continue
		}
		for _, id := range field.Names {
			if id.IsExported() {
				n++
			}
		}
	}
	if _, ok := t.(*ast.InterfaceType); ok {
		return tally{methods: n}
	}
	return tally{decls: n}
}

// embeddedName is the name an embedded field (or interface element) goes
// by: its type's name without package or pointer.
func embeddedName(t ast.Expr) *ast.Ident {
	switch t := t.(type) {
	case *ast.Ident:
		return t
	case *ast.StarExpr:
		return embeddedName(t.X)
	case *ast.SelectorExpr:
		return t.Sel
	case *ast.IndexExpr:
		return embeddedName(t.X)
	case *ast.IndexListExpr:
		return embeddedName(t.X)
	}
	return ast.NewIdent("_")
}

// exportedRecv reports whether a method's receiver type is exported.
func exportedRecv(recv *ast.FieldList) bool {
	if len(recv.List) == 0 {
		return false
	}
	return embeddedName(recv.List[0].Type).IsExported()
}
