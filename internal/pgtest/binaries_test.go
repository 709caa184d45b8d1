package pgtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeInstall creates dir with executable initdb and postgres files (the
// search only looks for them; nothing is run) and returns dir.
func fakeInstall(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"initdb", "postgres"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// machine is a fake machine for binSearch: root holds the well-known
// directories, env the environment, path the directory initdb is found in
// on PATH, pgConfig what `pg_config --bindir` prints.
type machine struct {
	root, path, pgConfig string
	env                  map[string]string
}

func (m machine) search() binSearch {
	return binSearch{
		getenv: func(k string) string { return m.env[k] },
		lookPath: func(name string) (string, error) {
			if m.path == "" {
				return "", errors.New("not on PATH")
			}
			return filepath.Join(m.path, name), nil
		},
		pgConfig: func() (string, error) {
			if m.pgConfig == "" {
				return "", errors.New("no pg_config")
			}
			return m.pgConfig, nil
		},
		root: m.root,
	}
}

func TestFindBinDirPlaces(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layout []string // directories, under root, made to hold the binaries
		env    bool     // set PHOENIXKITDB_PG_BINDIR to root/custom/bin
		path   string   // under root: where initdb is on PATH
		pgcfg  string   // under root: what pg_config --bindir says
		want   string   // under root
	}{
		{name: "Debian, newest version", layout: []string{"/usr/lib/postgresql/13/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/9.6/bin"}, want: "/usr/lib/postgresql/16/bin"},
		{name: "Fedora/RHEL PGDG", layout: []string{"/usr/pgsql-15/bin", "/usr/pgsql-17/bin"}, want: "/usr/pgsql-17/bin"},
		{name: "Homebrew on Apple silicon", layout: []string{"/opt/homebrew/opt/postgresql@14/bin", "/opt/homebrew/opt/postgresql@16/bin"}, want: "/opt/homebrew/opt/postgresql@16/bin"},
		{name: "Homebrew on Intel", layout: []string{"/usr/local/opt/postgresql@15/bin"}, want: "/usr/local/opt/postgresql@15/bin"},
		{name: "versioned beats unversioned", layout: []string{"/usr/local/pgsql/bin", "/usr/lib/postgresql/12/bin"}, want: "/usr/lib/postgresql/12/bin"},
		{name: "source build", layout: []string{"/usr/local/pgsql/bin"}, want: "/usr/local/pgsql/bin"},
		{name: "PATH beats well-known dirs", layout: []string{"/usr/bin", "/usr/lib/postgresql/16/bin"}, path: "/usr/bin", want: "/usr/bin"},
		{name: "pg_config beats PATH", layout: []string{"/usr/bin", "/pgc/bin"}, path: "/usr/bin", pgcfg: "/pgc/bin", want: "/pgc/bin"},
		{name: "client-only pg_config is passed over", layout: []string{"/usr/lib/postgresql/15/bin"}, pgcfg: "/usr/bin", want: "/usr/lib/postgresql/15/bin"},
		{name: "env var beats everything", layout: []string{"/custom/bin", "/usr/lib/postgresql/16/bin", "/pgc/bin"}, env: true, pgcfg: "/pgc/bin", want: "/custom/bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, d := range tc.layout {
				fakeInstall(t, root+d)
			}
			m := machine{root: root, env: map[string]string{}}
			if tc.env {
				m.env[EnvBinDir] = root + "/custom/bin"
			}
			if tc.path != "" {
				m.path = root + tc.path
			}
			if tc.pgcfg != "" {
				m.pgConfig = root + tc.pgcfg
			}
			got, err := m.search().find("")
			if err != nil {
				t.Fatal(err)
			}
			if got != root+tc.want {
				t.Fatalf("found %s, want %s", strings.TrimPrefix(got, root), tc.want)
			}
		})
	}
}

// TestFindBinDirMissing: with nothing installed the error wraps
// ErrNoPostgres, lists where it looked and names the package to install on
// the common systems; a wrong PHOENIXKITDB_PG_BINDIR is reported as such
// instead of being passed over.
func TestFindBinDirMissing(t *testing.T) {
	root := t.TempDir()
	_, err := machine{root: root, env: map[string]string{}}.search().find("")
	if !errors.Is(err, ErrNoPostgres) {
		t.Fatalf("err = %v, want ErrNoPostgres", err)
	}
	for _, want := range []string{
		"PATH", "/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/postgresql@*/bin",
		"apt-get install postgresql", "dnf install postgresql-server", "brew install postgresql@", EnvBinDir,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}

	fakeInstall(t, root+"/usr/lib/postgresql/16/bin")
	_, err = machine{root: root, env: map[string]string{EnvBinDir: root + "/nope"}}.search().find("")
	if !errors.Is(err, ErrNoPostgres) || !strings.Contains(err.Error(), EnvBinDir+"=") {
		t.Fatalf("wrong %s: err = %v, want ErrNoPostgres naming it", EnvBinDir, err)
	}
}

// TestDescribeMissing: the line `make test` prints says the database tests
// will be skipped, and how to install PostgreSQL.
func TestDescribeMissing(t *testing.T) {
	t.Setenv(EnvDatabaseURL, "")
	t.Setenv("CI", "")
	t.Setenv(EnvBinDir, t.TempDir())
	line, ok := Describe()
	if ok || !strings.Contains(line, "SKIPPED") || !strings.Contains(line, "apt-get install postgresql") || strings.Contains(line, "\n") {
		t.Fatalf("Describe() = %q, %v; want one line saying SKIPPED and how to install", line, ok)
	}
	t.Setenv("CI", "true")
	if line, _ := Describe(); !strings.Contains(line, "FAIL") {
		t.Fatalf("Describe() with CI=true = %q, want FAIL", line)
	}
}
