package main

import (
	"os"
	"path/filepath"
	"testing"
)

// count counts exported declarations, fields (embedded ones by their
// type's name), methods of exported types and interface methods, and
// skips unexported ones, test files, internal and main packages.
func TestCount(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"a/a.go": `package a

import "io"

const A, b = 1, 2

var V int

type T struct {
	F, g int
	io.Reader
	*inner
}

type inner struct{ X int }

type I interface {
	M()
	n()
	io.Closer
}

func (T) M()      {}
func (T) m()      {}
func (inner) Y()  {}
func New() T      { return T{} }
func helper()     {}
`,
		"a/a_test.go":       "package a\n\nfunc Exported() {}\n",
		"a/internal/x/x.go": "package x\n\nfunc X() {}\n",
		"cmd/tool/main.go":  "package main\n\nfunc Exported() {}\n",
		"b/testdata/t/t.go": "package t\n\nfunc X() {}\n",
		"b/b.go":            "package b\n\ntype S = string\n",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := count(root)
	if err != nil {
		t.Fatal(err)
	}
	// a: A, V, T + F + Reader, I, New = 7 declarations and fields;
	// I's M and Closer, T.M = 3 methods.
	want := map[string]tally{"a": {decls: 7, methods: 3}, "b": {decls: 1}}
	if len(got) != len(want) || got["a"] != want["a"] || got["b"] != want["b"] {
		t.Fatalf("count = %v, want %v", got, want)
	}
}
