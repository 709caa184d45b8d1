package connstr_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/internal/connstr"
)

// TestExplain: each string pgx refuses gets the hint naming its fault,
// and no hint quotes the secret the string holds.
func TestExplain(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"mysql://root:s3cret@localhost/app", `scheme is "mysql": it must be postgres:// or postgresql://`},
		{"postgres://u:s3cret@localhost:99999/app", "port is not a number"},
		{"postgres://u:s3cret@localhost:port/app", "port is not a number"},
		{"postgres://u:s3c%zzret@localhost/app", "% that does not start a valid escape"},
		{"postgres://u:s3cr/et@localhost/app", "must be percent-encoded"},
		{"postgres://u:s3cret@[::1/app", "lacks its closing ]"},
		{"host=localhost password='s3cret", "lacks its closing '"},
		{"s3cret", "neither a postgres:// URL nor key=value pairs"},
	} {
		if _, err := pgconn.ParseConfig(c.in); err == nil {
			t.Errorf("%q: pgx parses it; the case tests nothing", c.in)
			continue
		}
		got := connstr.Explain(c.in)
		if !strings.Contains(got, c.want) {
			t.Errorf("Explain(%q) = %q, want it to say %q", c.in, got, c.want)
		}
		if strings.Contains(got, "s3c") || strings.Contains(got, "root") {
			t.Errorf("Explain(%q) = %q quotes the secret", c.in, got)
		}
	}
}

// FuzzExplain: whatever the input, the hint is built from fixed text and
// at most a quoted URL scheme (letters, digits, + - .), so it cannot leak
// a password.
func FuzzExplain(f *testing.F) {
	for _, s := range []string{"", "mysql://a:b@c/d", "postgres://u:p@h:1/d?sslmode=x", "host=h password='x", "postgres://[::1]:5432/x", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := connstr.Explain(s)
		if rest, ok := strings.CutPrefix(got, `the URL's scheme is "`); ok {
			scheme, _, _ := strings.Cut(rest, `"`)
			for _, c := range scheme {
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
					t.Fatalf("Explain(%q) quotes %q as a scheme", s, scheme)
				}
			}
			return
		}
		for _, h := range fixedHints {
			if strings.HasPrefix(got, h) {
				return
			}
		}
		t.Fatalf("Explain(%q) = %q: not one of the fixed hints", s, got)
	})
}

var fixedHints = []string{
	"it is neither a postgres:// URL",
	"the URL's user or password holds a character",
	"the URL's user or password holds a %",
	"an IPv6 host in the URL",
	"the URL's port is not a number",
	"the URL's query (after ?) does not parse",
	"the URL does not parse",
	"a quoted value in the key=value",
	"the key=value connection string does not parse",
}
