package replication_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// errorLine waits for an ERROR line holding both texts.
func errorLine(t *testing.T, b *bundle, what, hint string) {
	t.Helper()
	eventually(t, 30*time.Second, "an ERROR about "+what, func() bool {
		return b.logs.Count("level=ERROR") > 0 && b.logs.Count(what) > 0 && b.logs.Count(hint) > 0
	})
	if b.src.Connected() || b.src.Ready() {
		t.Fatal("connected despite the setup error")
	}
}

func TestMissingPublicationRetried(t *testing.T) {
	srv := pgtest.Require(t, pg)
	u := pgtest.NewDB(t, srv)
	conn := connect(t, u)
	exec(t, conn, `CREATE TABLE items (id bigint PRIMARY KEY, uuid uuid NOT NULL DEFAULT gen_random_uuid(), n int, note text)`)
	b := setup(t, options{url: u, noSchema: true, cfg: replication.Config{MaxBackoff: 200 * time.Millisecond}})
	errorLine(t, b, "publication does not exist", "EnsurePublication")
	if n := b.logs.Count("level=ERROR"); n != 1 {
		t.Errorf("%d ERROR lines for one unchanged cause", n)
	}
	exec(t, conn, `CREATE PUBLICATION phoenixkitdb FOR TABLE items`)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	insert(t, conn, 1, 2, 1)
	c := &collector{t: t, next: 1}
	c.take(b.mb, 2, 30*time.Second)
}

func TestRoleWithoutReplication(t *testing.T) {
	srv := pgtest.Require(t, pg)
	u := pgtest.NewDB(t, srv)
	conn := connect(t, u)
	exec(t, conn, `DO $$ BEGIN CREATE ROLE pkdb_norepl LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`)
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	parsed.User = url.User("pkdb_norepl")
	b := setup(t, options{url: u, cfg: replication.Config{ConnString: parsed.String()}})
	errorLine(t, b, "42501", "ALTER ROLE name REPLICATION")
	// Fixed while the Source runs: it connects at the next attempt.
	exec(t, conn, `ALTER ROLE pkdb_norepl REPLICATION`)
	t.Cleanup(func() {
		_, _ = connect(t, u).Exec(context.Background(), `ALTER ROLE pkdb_norepl NOREPLICATION`)
	})
	waitReady(t, b.src)
}

func TestWALLevelNotLogical(t *testing.T) {
	pgtest.Require(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := pgtest.Start(ctx, pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	b := setup(t, options{srv: srv})
	errorLine(t, b, "wal_level is not logical", "wal_level = logical")
}
