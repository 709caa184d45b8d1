package trigger_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// newRole creates a NOSUPERUSER role with a unique name (roles are shared by
// the whole server) and drops it, with everything it owns in the test's
// database, when the test ends.
func newRole(t *testing.T, f *trigFixture, prefix string) string {
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
