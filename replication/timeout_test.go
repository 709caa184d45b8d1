package replication_test

import (
	"context"
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// While the walsender replays a long transaction to a table outside the
// publication it sends nothing for longer than the Source's Timeout. The
// Source must find it at work and wait, not reconnect (the next
// walsender would replay the same transaction from its start, forever).
//
// A replay outlasts a 1 s Timeout only with millions of rows, and not
// even then on a quiet machine, so the test makes the replay slow another
// way: a transaction holds pg_publication_rel locked while the walsender
// reaches the first change of a table it has not seen, where pgoutput
// looks up the table's publications. The walsender then waits on the lock
// (wait event type Lock, like any work but the client's), silent, for as
// long as the test wants: here until the Source has waited three times.
// The frozen path is still given up (TestFrozenPathReplaced).
//
// The server is the test's own, without autovacuum: while the lock is
// held, a new backend whose relation cache must be rebuilt (any catalog
// change in the database, or in a shared catalog such as another test's
// CREATE DATABASE, invalidates the cached copy) waits on the same lock
// at connection, and so would the Source's look at the walsender, which
// then fails as if the server were unreachable.
func TestLongUnpublishedTransactionDoesNotReconnect(t *testing.T) {
	b, c, writer, tx := silentReplaySetup(t, "trust")
	ctx := context.Background()
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `LOCK TABLE pg_catalog.pg_publication_rel IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	exec(t, writer, `INSERT INTO big SELECT g FROM generate_series(1, 1000) g`)
	insert(t, writer, 2, 2, 1)
	pid, _, _ := slotInfo(t, writer, b.cfg.Slot)
	eventually(t, 30*time.Second, "the walsender to wait on the lock", func() bool {
		var waiting bool
		err := writer.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock')`, pid).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		return waiting
	})
	eventually(t, 60*time.Second, "the Source to wait for the busy walsender three times", func() bool {
		st := b.src.Stats()
		if st.Reconnects != 0 || st.LastError != "" {
			t.Fatalf("reconnected while the walsender was at work: stats %+v\n%s", st, b.logs)
		}
		return st.BusyWaits >= 3
	})
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	c.take(b.mb, 2, 30*time.Second)
	expectNothing(t, b.mb)
	if st := b.src.Stats(); st.Reconnects != 0 || st.LastError != "" {
		t.Fatalf("reconnected during the replay: stats %+v", st)
	}
	if !strings.Contains(b.logs.String(), "its walsender is at work") {
		t.Errorf("no WARN about the busy walsender; logs:\n%s", b.logs)
	}
}

// While the walsender is silent at work, a lock may also hold up new
// backends at connection (a long transaction that locked a catalog every
// backend reads as it starts; above, a rebuilt relation cache waiting on
// pg_publication_rel). The Source's look at the walsender then cannot
// finish, but the server did answer the connection: the path works, so
// the Source waits for the walsender's own keepalive (due every
// wal_sender_timeout/2) instead of reconnecting, which would only replay
// the transaction again, and would itself wait on the lock. The Source
// signs in with a password, or over TLS: the server asks for the
// password, or answers the TLS request, before its backend reads any
// catalog (with trust authentication and no TLS it sends nothing until
// the backend started, and the look cannot tell a reachable server from
// a frozen path).
func TestSilentWalsenderWithBlockedConnectionsDoesNotReconnect(t *testing.T) {
	for _, signIn := range []string{"password", "tls"} {
		t.Run(signIn, func(t *testing.T) { testSilentWalsenderBlockedConnections(t, signIn) })
	}
}

func testSilentWalsenderBlockedConnections(t *testing.T, signIn string) {
	b, c, writer, tx := silentReplaySetup(t, signIn)
	ctx := context.Background()
	defer func() { _ = tx.Rollback(ctx) }()
	// pg_database: every new backend reads its database's row as it
	// starts, after authentication.
	if _, err := tx.Exec(ctx, `LOCK TABLE pg_catalog.pg_publication_rel, pg_catalog.pg_database IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	exec(t, writer, `INSERT INTO big SELECT g FROM generate_series(1, 1000) g`)
	insert(t, writer, 2, 2, 1)
	eventually(t, 60*time.Second, "the Source to find the server answering but its look at the walsender held up", func() bool {
		if st := b.src.Stats(); st.Reconnects != 0 || st.LastError != "" {
			t.Fatalf("reconnected while the walsender was at work: stats %+v\n%s", st, b.logs)
		}
		return strings.Contains(b.logs.String(), "the server answers, but the look at its walsender")
	})
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	c.take(b.mb, 2, 30*time.Second)
	expectNothing(t, b.mb)
	if st := b.src.Stats(); st.Reconnects != 0 || st.LastError != "" {
		t.Fatalf("reconnected during the replay: stats %+v\n%s", st, b.logs)
	}
}

// silentReplaySetup starts a server of the test's own (no autovacuum,
// wal_sender_timeout 60 s) and a Source on it with Timeout 1 s, signing
// in as signIn says ("trust", "password" or "tls": trusted, over TLS),
// and has one change delivered; it returns a writer's connection and an
// open transaction of another session, to take locks in.
func silentReplaySetup(t *testing.T, signIn string) (*bundle, *collector, *pgx.Conn, pgx.Tx) {
	t.Helper()
	pgtest.Require(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	settings := map[string]string{"autovacuum": "off", "wal_sender_timeout": "60s"}
	maps.Copy(settings, logicalSettings)
	srv, err := pgtest.Start(ctx, pgtest.Options{Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	db := pgtest.NewDB(t, srv)
	srcURL := db
	switch signIn {
	case "password":
		exec(t, connect(t, db), `CREATE ROLE pkdb_check LOGIN SUPERUSER REPLICATION PASSWORD 'check-secret'`)
		if err := srv.PrependHBA(ctx, "host all pkdb_check 127.0.0.1/32 scram-sha-256"); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(db)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword("pkdb_check", "check-secret")
		srcURL = u.String()
	case "tls":
		ca, err := pgtest.NewCA("replication test CA")
		if err != nil {
			t.Fatal(err)
		}
		cert, key, err := ca.Issue("127.0.0.1", "localhost")
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.SetTLS(ctx, cert, key); err != nil {
			t.Fatal(err)
		}
		srcURL = strings.Replace(db, "sslmode=disable", "sslmode=require", 1)
		if srcURL == db {
			t.Fatalf("no sslmode=disable in %s", db)
		}
	}
	b := setup(t, options{url: srcURL, cfg: replication.Config{Timeout: time.Second}})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	writer := connect(t, db)
	exec(t, writer, `CREATE TABLE big (n int)`)
	c := &collector{t: t, next: 1}
	insert(t, writer, 1, 1, 1)
	c.take(b.mb, 1, 30*time.Second)
	tx, err := connect(t, db).Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b, c, writer, tx
}
