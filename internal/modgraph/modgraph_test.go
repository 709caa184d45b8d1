package modgraph_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// userProgram imports exactly the packages a user of the library imports.
const userProgram = `package main

import (
	"fmt"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

func main() {
	fmt.Println(phoenixkitdb.Version, listener.DefaultApplicationName, pubsub.Resync)
}
`

// heavy are module paths that belong to the example host, its browser
// test, the metrics module and the cluster module, never to the library's
// users.
var heavy = []string{"github.com/chromedp/", "github.com/lmittmann/tint", "github.com/prometheus/", "github.com/nats-io/"}

// TestUserModuleGraphIsLean builds a user's module beside the repository
// (a replace directive points at it, as a local checkout would), runs
// go mod tidy and go list -m all, and fails if any heavy module appears.
func TestUserModuleGraphIsLean(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list a module graph: %v", err)
	}
	root := repoRoot(t, goBin)
	dir := t.TempDir()
	gomod := "module example.com/user\n\ngo 1.25.0\n\n" +
		"require github.com/phoenixkit/phoenixkitdb v0.0.0\n\n" +
		"replace github.com/phoenixkit/phoenixkitdb => " + root + "\n"
	for name, body := range map[string]string{"go.mod": gomod, "main.go": userProgram} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The library's checksums: the user's tidy needs a subset of them.
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}

	goCmd(t, goBin, dir, "mod", "tidy")
	graph := goCmd(t, goBin, dir, "list", "-m", "all")
	for _, line := range strings.Split(graph, "\n") {
		for _, h := range heavy {
			if strings.HasPrefix(line, h) {
				t.Errorf("a program importing only the library has %q in its module graph", line)
			}
		}
	}
	if !strings.Contains(graph, "github.com/jackc/pgx/v5") {
		t.Fatalf("go list -m all does not look like the library's graph:\n%s", graph)
	}
}

// repoRoot is the directory of the library's go.mod.
func repoRoot(t *testing.T, goBin string) string {
	t.Helper()
	gomod := strings.TrimSpace(goCmd(t, goBin, ".", "env", "GOMOD"))
	if filepath.Base(gomod) != "go.mod" {
		t.Fatalf("go env GOMOD = %q", gomod)
	}
	return filepath.Dir(gomod)
}

// goCmd runs the go command in dir, outside any workspace and vendor
// mode, and returns its standard output.
func goCmd(t *testing.T, goBin, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
