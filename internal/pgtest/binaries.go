package pgtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// installHint is appended to every ErrNoPostgres so the failure says how to fix it.
const installHint = "install them with: apt-get install postgresql"

// findBinDir returns a directory holding the initdb and postgres server
// binaries: explicit if set, else `pg_config --bindir` if that directory
// holds them (client-only packages put pg_config in /usr/bin), else the newest
// /usr/lib/postgresql/*/bin. It returns an error wrapping ErrNoPostgres when
// there is none.
func findBinDir(explicit string) (string, error) {
	if explicit != "" {
		if !hasServerBinaries(explicit) {
			return "", fmt.Errorf("%w in Options.BinDir %q (%s)", ErrNoPostgres, explicit, installHint)
		}
		return explicit, nil
	}
	tried := []string{}
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		if out, err := exec.Command(pgConfig, "--bindir").Output(); err == nil {
			dir := string(bytes.TrimSpace(out))
			if hasServerBinaries(dir) {
				return dir, nil
			}
			tried = append(tried, dir)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, dir := range dirs {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	tried = append(tried, "/usr/lib/postgresql/*/bin")
	return "", fmt.Errorf("%w (looked in %s; %s)", ErrNoPostgres, strings.Join(tried, ", "), installHint)
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

// versionOf extracts the major version from /usr/lib/postgresql/VERSION/bin,
// or -1 when the path does not hold a number there.
func versionOf(binDir string) float64 {
	v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	if err != nil {
		return -1
	}
	return v
}
