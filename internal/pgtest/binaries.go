package pgtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// EnvBinDir names the environment variable that points pgtest at the
// directory holding initdb and postgres, for installations it does not
// find by itself. When set, it is the only place looked at.
const EnvBinDir = "PHOENIXKITDB_PG_BINDIR"

// installHint is appended to every ErrNoPostgres so the failure says how to
// fix it on the common systems.
const installHint = "install the PostgreSQL server: Debian/Ubuntu `apt-get install postgresql`, " +
	"Fedora/RHEL `dnf install postgresql-server`, macOS `brew install postgresql@15`; " +
	"or set " + EnvBinDir + " to the directory holding initdb and postgres"

// wellKnownDirs are the places distributions install the server binaries
// without putting them on PATH: Debian and Ubuntu, the PostgreSQL project's
// RPMs for Fedora and RHEL, Homebrew on Apple silicon and on Intel, and a
// build from source. Patterns may match several versions; the newest wins.
func wellKnownDirs() []string {
	return []string{
		"/usr/lib/postgresql/*/bin",
		"/usr/pgsql-*/bin",
		"/opt/homebrew/opt/postgresql@*/bin",
		"/opt/homebrew/opt/postgresql/bin",
		"/usr/local/opt/postgresql@*/bin",
		"/usr/local/opt/postgresql/bin",
		"/usr/local/pgsql/bin",
	}
}

// FindBinaries returns the directory Start uses when Options.BinDir is
// empty (see findBinDir for the order), or an error wrapping ErrNoPostgres
// that lists where it looked and how to install PostgreSQL.
func FindBinaries() (string, error) { return findBinDir("") }

// findBinDir returns a directory holding the initdb and postgres server
// binaries: explicit if set; else $PHOENIXKITDB_PG_BINDIR if set; else
// `pg_config --bindir` if that directory holds them (client-only packages
// put pg_config in /usr/bin); else the directory of initdb on PATH (Fedora,
// Homebrew's links); else the newest of wellKnownDirs. It returns an error
// wrapping ErrNoPostgres when there is none.
func findBinDir(explicit string) (string, error) {
	return binSearch{getenv: os.Getenv, lookPath: exec.LookPath, pgConfig: pgConfigBinDir}.find(explicit)
}

// binSearch is findBinDir with its view of the machine injected, so that
// tests can lay out fake installations.
type binSearch struct {
	getenv   func(string) string
	lookPath func(string) (string, error)
	pgConfig func() (string, error) // `pg_config --bindir`
	root     string                 // prefix of wellKnownDirs ("" on a real machine)
}

func (b binSearch) find(explicit string) (string, error) {
	if explicit != "" {
		if !hasServerBinaries(explicit) {
			return "", fmt.Errorf("%w in Options.BinDir %q (%s)", ErrNoPostgres, explicit, installHint)
		}
		return explicit, nil
	}
	if dir := b.getenv(EnvBinDir); dir != "" {
		if !hasServerBinaries(dir) {
			return "", fmt.Errorf("%w in %s=%q (%s)", ErrNoPostgres, EnvBinDir, dir, installHint)
		}
		return dir, nil
	}
	tried := []string{"$" + EnvBinDir + " (unset)"}
	if dir, err := b.pgConfig(); err == nil {
		if hasServerBinaries(dir) {
			return dir, nil
		}
		tried = append(tried, "pg_config --bindir "+dir)
	}
	if initdb, err := b.lookPath("initdb"); err == nil {
		if dir := filepath.Dir(initdb); hasServerBinaries(dir) {
			return dir, nil
		}
	}
	tried = append(tried, "PATH")
	var dirs []string
	for _, pattern := range wellKnownDirs() {
		matches, _ := filepath.Glob(b.root + pattern)
		dirs = append(dirs, matches...)
		tried = append(tried, pattern)
	}
	// Stable: among equal versions, the order of wellKnownDirs() decides.
	slices.SortStableFunc(dirs, func(x, y string) int {
		vx, vy := versionOf(x), versionOf(y)
		switch {
		case vx > vy:
			return -1
		case vx < vy:
			return 1
		}
		return 0
	})
	for _, dir := range dirs {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w (looked in %s); %s", ErrNoPostgres, strings.Join(tried, ", "), installHint)
}

// pgConfigBinDir runs `pg_config --bindir` if pg_config is on PATH.
func pgConfigBinDir() (string, error) {
	pgConfig, err := exec.LookPath("pg_config")
	if err != nil {
		return "", err
	}
	out, err := exec.Command(pgConfig, "--bindir").Output()
	if err != nil {
		return "", err
	}
	return string(bytes.TrimSpace(out)), nil
}

// hasServerBinaries reports whether dir holds executable initdb and postgres.
func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// versionOf extracts the major version from the directory above bin:
// "15" (Debian), "pgsql-16" (RPMs), "postgresql@17" (Homebrew). It returns
// -1 when there is none ("postgresql", "pgsql"), so unversioned
// installations come last.
func versionOf(binDir string) float64 {
	name := filepath.Base(filepath.Dir(binDir))
	if i := strings.LastIndexAny(name, "-@"); i >= 0 {
		name = name[i+1:]
	}
	v, err := strconv.ParseFloat(name, 64)
	if err != nil {
		return -1
	}
	return v
}
