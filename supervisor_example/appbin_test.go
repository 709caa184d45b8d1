package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// appBuild is the program built once for the tests that run it as a user
// does (TestProcess and its siblings): one link instead of one per test.
// Safe for concurrent use.
type appBuild struct {
	once sync.Once
	dir  string // removed by cleanup
	bin  string
	err  error
	out  []byte
}

// built is the package's one build, removed after the tests by runMain.
var built appBuild

// binary builds the program on the first call and returns its path;
// a failed build fails every test that asks for it.
func (b *appBuild) binary(t *testing.T) string {
	t.Helper()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "supervisor-example-bin-"); b.err != nil {
			return
		}
		b.bin = filepath.Join(b.dir, "supervisor_example")
		b.out, b.err = exec.Command("go", "build", "-o", b.bin, ".").CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build: %v\n%s", b.err, b.out)
	}
	return b.bin
}

// cleanup removes the build's directory. Call it after the tests.
func (b *appBuild) cleanup() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}
