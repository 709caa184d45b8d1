package replication_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// roleFixture is a fresh database and a superuser connection to it, for
// tests that act as other roles.
type roleFixture struct {
	url string
	db  *pgx.Conn
}

func setupRoles(t *testing.T) *roleFixture {
	t.Helper()
	url := pgtest.NewDB(t, pg)
	return &roleFixture{url: url, db: connect(t, url)}
}

// exec runs each statement on the superuser connection.
func (f *roleFixture) exec(t *testing.T, stmts ...string) {
	t.Helper()
	execOn(t, f.db, stmts...)
}

// connectAs opens a connection whose current_user is role.
func connectAs(t *testing.T, f *roleFixture, role string) *pgx.Conn {
	t.Helper()
	c := connect(t, f.url)
	execOn(t, c, "SET ROLE "+pgx.Identifier{role}.Sanitize())
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
