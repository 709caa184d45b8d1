package pgtest

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// validSettingName reports whether name is a postgresql.conf parameter name
// (custom "extension.name" parameters included).
func validSettingName(name string) bool {
	for i, r := range name {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r == '.' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return name != ""
}

// baseSettings returns the settings every owned server gets; Options.Settings
// are applied after them and win. The port is not here: it is passed on the
// postgres command line, which takes precedence over any file setting.
func baseSettings(sockDir string) [][2]string {
	return [][2]string{
		{"listen_addresses", "127.0.0.1"},
		{"unix_socket_directories", sockDir},
		{"fsync", "off"},
		{"synchronous_commit", "off"},
		{"full_page_writes", "off"},
		{"max_connections", "200"},
		{"logging_collector", "off"},
		{"log_destination", "stderr"},
		// 13 hashes passwords with md5 by default, which the
		// scram-sha-256 lines of the tests' pg_hba.conf refuse.
		{"password_encryption", "scram-sha-256"},
	}
}

// writeSettings appends the base settings and then extra (sorted by name, for
// a reproducible file) to the postgresql.conf at path; later lines win.
func writeSettings(path, sockDir string, extra map[string]string) error {
	var b strings.Builder
	b.WriteString("\n# Added by pgtest.\n")
	for _, kv := range baseSettings(sockDir) {
		fmt.Fprintf(&b, "%s = %s\n", kv[0], quoteSetting(kv[1]))
	}
	names := make([]string, 0, len(extra))
	for name := range extra {
		if !validSettingName(name) {
			return fmt.Errorf("pgtest: invalid setting name %q", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&b, "%s = %s\n", name, quoteSetting(extra[name]))
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgtest: writing %s: %w", path, err)
	}
	return nil
}

// quoteSetting quotes a postgresql.conf value; PostgreSQL accepts quoted
// values for every parameter type, numbers and booleans included.
func quoteSetting(v string) string {
	v = strings.ReplaceAll(v, `\`, `\\`)
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}
