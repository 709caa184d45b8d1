package release_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
)

// published is one module as a release tag publishes it.
type published struct {
	dir     string // inside the repository, "" for the root
	path    string // module path, from dir's go.mod
	version string
}

// writeProxy writes mods into dir with the layout of a GOPROXY
// (<escaped path>/@v/list, <version>.info, .mod and .zip), each module's
// zip holding the files git would tag: tracked or new and not ignored,
// outside any nested module, as the go command itself zips a module.
func writeProxy(t *testing.T, root, dir string, mods []published) {
	t.Helper()
	files := gitFiles(t, root)
	var nested []string // directories holding a go.mod of their own
	for _, f := range files {
		if d := path.Dir(f); path.Base(f) == "go.mod" && d != "." {
			nested = append(nested, d)
		}
	}
	for _, m := range mods {
		var zipped []string
		for _, f := range files {
			rel, ok := within(f, m.dir)
			if !ok || inNested(f, m.dir, nested) {
				continue
			}
			zipped = append(zipped, rel)
		}
		modFile, err := os.ReadFile(filepath.Join(root, m.dir, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		at := filepath.Join(dir, filepath.FromSlash(escapePath(t, m.path)), "@v")
		if err := os.MkdirAll(at, 0o755); err != nil {
			t.Fatal(err)
		}
		info := fmt.Sprintf(`{"Version":%q,"Time":%q}`, m.version, time.Now().UTC().Format(time.RFC3339))
		for name, body := range map[string][]byte{
			"list":              []byte(m.version + "\n"),
			m.version + ".info": []byte(info),
			m.version + ".mod":  modFile,
			m.version + ".zip":  moduleZip(t, filepath.Join(root, m.dir), m.path+"@"+m.version, zipped),
		} {
			if err := os.WriteFile(filepath.Join(at, name), body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// moduleZip returns the module zip of files (slash paths relative to
// dir), each stored under prefix/.
func moduleZip(t *testing.T, dir, prefix string, files []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		body, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(prefix + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gitFiles lists the regular files of the working tree that a commit of it
// would hold: tracked ones still present and untracked ones not ignored.
func gitFiles(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files in %s (the test zips the files git would tag): %v", root, err)
	}
	var files []string
	for _, f := range strings.Split(string(out), "\x00") {
		if f == "" {
			continue
		}
		if fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(f))); err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or a symlink (never zipped)
		}
		files = append(files, f)
	}
	return files
}

// within reports whether f lies in dir ("" for the root), and f's path
// relative to dir.
func within(f, dir string) (string, bool) {
	if dir == "" {
		return f, true
	}
	return strings.CutPrefix(f, dir+"/")
}

// inNested reports whether f belongs to a module nested below the module
// at dir.
func inNested(f, dir string, nested []string) bool {
	for _, n := range nested {
		if n != dir && strings.HasPrefix(f, n+"/") && (dir == "" || strings.HasPrefix(n, dir+"/")) {
			return true
		}
	}
	return false
}

// escapePath is the module proxy protocol's case encoding: each upper-case
// letter becomes '!' and its lower-case form.
func escapePath(t *testing.T, p string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range p {
		if r == '!' || r >= unicode.MaxASCII {
			t.Fatalf("module path %q cannot be escaped", p)
		}
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
