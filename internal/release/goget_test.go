package release_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/phoenixkit/phoenixkitdb"
)

// module is one module users `go get`, with the program of the docs that
// uses it: example is copied from the repository into the user's module
// at dest.
type module struct {
	dir           string // "" for the root
	example, dest string
}

// modules are the modules users `go get`; bench and supervisor_example
// are programs nobody imports.
var modules = []module{
	{"", "examples/quickstart/main.go", "quickstart/main.go"},                // the README's Quick start
	{"metrics", "metrics/example_test.go", "metricsexample/example_test.go"}, // the metrics docs' example
	{"cluster", "cluster/example_test.go", "clusterexample/example_test.go"}, // the cluster docs' example
}

// TestGoGetEachModule tags the working tree at v<phoenixkitdb.Version>
// (and metrics/…, cluster/… at the same version) in a module proxy on
// disk, then, in a fresh module of a user's for each order of the three
// modules, `go get`s them one by one and after each step type-checks the
// docs' programs of the modules gotten so far (go vet; once per set).
//
// It fails when a module requires another at a version no release
// provides, such as a pseudo-version kept working by a replace directive,
// which Go ignores in a dependency. Third-party modules come from the
// local module cache, else from `go env GOPROXY`.
func TestGoGetEachModule(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to fetch modules: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(goOut(t, goBin, ".", nil, "env", "GOMOD")))
	version := "v" + phoenixkitdb.Version

	var mods []published
	var sums []byte
	for _, m := range modules {
		gomod := filepath.Join(root, m.dir, "go.mod")
		mods = append(mods, published{dir: m.dir, path: modulePath(t, gomod), version: version})
		if m.dir != "" {
			if err := checkTagged(filepath.Join(root, m.dir)); err != nil {
				t.Error(err)
			}
		}
		sum, err := os.ReadFile(filepath.Join(root, m.dir, "go.sum"))
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, sum...)
	}
	proxy := t.TempDir()
	writeProxy(t, root, proxy, mods)

	shared := strings.TrimSpace(goOut(t, goBin, ".", nil, "env", "GOMODCACHE"))
	upstream := strings.TrimSpace(goOut(t, goBin, ".", nil, "env", "GOPROXY"))
	env := []string{
		"GOWORK=off",
		// -trimpath keys the build cache by module version, not by this
		// test's temporary module cache, so runs share compiled packages.
		"GOFLAGS=-mod=mod -modcacherw -trimpath",
		"GOTOOLCHAIN=local",
		// Ours first, then the module cache as a proxy (what this machine
		// already downloaded), then the proxy the user configured.
		"GOPROXY=" + fileURL(proxy) + "," + fileURL(filepath.Join(shared, "cache", "download")) + "," + upstream,
		"GONOSUMDB=" + mods[0].path, // the fake tags are in no checksum database
		"GONOPROXY=", "GOPRIVATE=",
		// A cache of the test's own: the fake tags must never reach the
		// real one, where a later run would find them stale.
		"GOMODCACHE=" + t.TempDir(),
	}
	checksums := dedupLines(sums)

	// The build list depends on the set of modules gotten, not on the
	// order: each set's programs are type-checked once, by the first
	// order that reaches the set. The orders run in parallel: each waits
	// mostly on the go command's I/O, and the go command locks the shared
	// module cache itself.
	var vetMu sync.Mutex
	vetted := make(map[string]bool)
	firstToVet := func(key string) bool {
		vetMu.Lock()
		defer vetMu.Unlock()
		first := !vetted[key]
		vetted[key] = true
		return first
	}
	for _, order := range permutations(len(modules)) {
		var names []string
		for _, i := range order {
			names = append(names, orRoot(modules[i].dir))
		}
		t.Run(strings.Join(names, ","), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			write(t, filepath.Join(dir, "go.mod"), []byte("module example.com/user\n\ngo 1.25.0\n"))
			write(t, filepath.Join(dir, "go.sum"), checksums)
			var set []string
			for _, i := range order {
				m := modules[i]
				goOut(t, goBin, dir, env, "get", mods[i].path+"@"+version)
				body, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(m.example)))
				if err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(dir, filepath.FromSlash(m.dest)), body)
				set = append(set, names[len(set)])
				if firstToVet(strings.Join(slices.Sorted(slices.Values(set)), ",")) {
					goOut(t, goBin, dir, env, "vet", "./...")
				}
			}
			// Each module at exactly the tagged version.
			list := goOut(t, goBin, dir, env, "list", "-m", "-f", "{{.Path}} {{.Version}}", "all")
			for _, m := range mods {
				if !strings.Contains(list, m.path+" "+version+"\n") {
					t.Errorf("go list -m all lacks %s %s:\n%s", m.path, version, list)
				}
			}
		})
	}
}

// checkTagged reports an error when the go.mod in dir requires a module of
// this repository at a version no release tag provides (a pseudo-version)
// or replaces one: Go ignores replace directives outside the main module.
func checkTagged(dir string) error {
	body, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "replace") && strings.Contains(line, "phoenixkitdb") {
			return fmt.Errorf("%s/go.mod: %q: Go ignores a dependency's replace; go.work ties the modules during development", dir, line)
		}
	}
	return nil
}

// modulePath reads the module path of the go.mod file at gomod.
func modulePath(t *testing.T, gomod string) string {
	t.Helper()
	body, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(p), `"`)
		}
	}
	t.Fatalf("%s has no module line", gomod)
	return ""
}

// goOut runs the go command in dir with env added to the test's
// environment and returns its standard output; it fails the test with the
// command's output otherwise.
func goOut(t *testing.T, goBin, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s (in %s): %v\n%s%s", strings.Join(args, " "), dir, err, out, stderr.Bytes())
	}
	return string(out)
}

// permutations returns every order of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			out = append(out, slices.Insert(slices.Clone(p), i, n-1))
		}
	}
	return out
}

// dedupLines returns the distinct lines of b, in their first order.
func dedupLines(b []byte) []byte {
	seen := make(map[string]bool)
	var out []byte
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || seen[line] {
			continue
		}
		seen[line] = true
		out = append(out, line+"\n"...)
	}
	return out
}

func orRoot(dir string) string {
	if dir == "" {
		return "root"
	}
	return dir
}

func fileURL(dir string) string { return "file://" + filepath.ToSlash(dir) }

func write(t *testing.T, file string, body []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
}
