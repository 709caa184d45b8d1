package replication_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

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

// newRole creates a NOSUPERUSER role with a unique name (roles are shared by
// the whole server) and drops it, with everything it owns in the test's
// database, when the test ends.
func newRole(t *testing.T, f *roleFixture, prefix string) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	role := prefix + "_" + hex.EncodeToString(b[:])
	f.exec(t, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" NOSUPERUSER NOLOGIN")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, f.url)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		for _, s := range []string{"DROP OWNED BY " + pgx.Identifier{role}.Sanitize() + " CASCADE", "DROP ROLE " + pgx.Identifier{role}.Sanitize()} {
			if _, err := c.Exec(ctx, s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	})
	return role
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
