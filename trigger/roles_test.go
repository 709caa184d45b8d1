package trigger_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

// connectAs opens a connection whose current_user is role (SET ROLE from the
// superuser the harness connects as).
func connectAs(t *testing.T, f *trigFixture, role string) *pgx.Conn {
	t.Helper()
	c := connect(t, f.url)
	if _, err := c.Exec(t.Context(), "SET ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return c
}

func execOn(t *testing.T, c *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := c.Exec(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func isSuperuser(t *testing.T, f *trigFixture, role string) bool {
	t.Helper()
	var super bool
	if err := f.db.QueryRow(t.Context(), "SELECT rolsuper FROM pg_roles WHERE rolname = $1", role).Scan(&super); err != nil {
		t.Fatal(err)
	}
	return super
}
