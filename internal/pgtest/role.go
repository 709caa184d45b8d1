package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// roleTimeout bounds NewRole's CREATE and its clean-up.
const roleTimeout = 10 * time.Second

// NewRole creates a NOSUPERUSER NOLOGIN role named prefix, an underscore
// and eight random hex digits (roles are shared by the whole server), on
// the database url names as a superuser, and fails the test if it cannot.
// When the test ends it drops everything the role owns in that database,
// then the role. It blocks for the statements, each bounded by 10 s.
func NewRole(t testing.TB, url, prefix string) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	role := prefix + "_" + hex.EncodeToString(b[:])
	quoted := pgx.Identifier{role}.Sanitize()
	run := func(stmts ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), roleTimeout)
		defer cancel()
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		for _, s := range stmts {
			if _, err := c.Exec(ctx, s); err != nil {
				return err
			}
		}
		return nil
	}
	if err := run("CREATE ROLE " + quoted + " NOSUPERUSER NOLOGIN"); err != nil {
		t.Fatalf("pgtest: create role %s: %v", role, err)
	}
	t.Cleanup(func() {
		if err := run("DROP OWNED BY "+quoted+" CASCADE", "DROP ROLE "+quoted); err != nil {
			t.Errorf("pgtest: drop role %s: %v", role, err)
		}
	})
	return role
}
