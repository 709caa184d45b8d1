package metrics_test

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// walBundle is a PostgreSQL server with wal_level=logical, a database
// with a published table, and a replication Source on a persistent slot
// that reaches the server through a proxy the test can cut.
type walBundle struct {
	srv   *pgtest.Server
	url   string // the database, directly
	conn  *pgx.Conn
	proxy *pgtest.Proxy
	src   *replication.Source
	mb    *pubsub.Mailbox
	serve func() (stop func()) // runs src.Serve until stop, which waits for it
}

// walSetup starts the server (max_slot_wal_keep_size set, so the slot
// reports safe_wal_size; WAL segments made without zero-filling, so a
// test can advance the WAL by gigabytes cheaply) and builds the Source.
// It does not run the Source.
func walSetup(t *testing.T, slot string) *walBundle {
	t.Helper()
	pgtest.Require(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
		"wal_level": "logical", "max_replication_slots": "4", "max_wal_senders": "4",
		"max_slot_wal_keep_size": "64GB", "wal_init_zero": "off", "wal_recycle": "off",
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	b := &walBundle{srv: srv, url: pgtest.NewDB(t, srv)}
	if b.conn, err = pgx.Connect(ctx, b.url); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.conn.Close(context.Background()) })
	for _, sql := range []string{
		`CREATE TABLE items (id bigint PRIMARY KEY, note text)`,
		`CREATE PUBLICATION phoenixkitdb FOR TABLE items`,
		`CREATE TABLE pad (x int)`,
	} {
		if _, err := b.conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if b.proxy, err = pgtest.NewProxy(net.JoinHostPort(srv.Host(), strconv.Itoa(srv.Port()))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.proxy.Close() })
	b.src, err = replication.New(replication.Config{
		ConnString: b.proxy.URL(b.url), Slot: slot, PubSub: pubsub.New(slog.New(slog.DiscardHandler)),
		Logger: slog.New(slog.DiscardHandler), StatusInterval: 100 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	b.mb = pubsub.NewMailbox(1000)
	t.Cleanup(b.mb.Close)
	if err := b.src.SubscribeAll(b.mb); err != nil {
		t.Fatal(err)
	}
	b.serve = func() func() {
		sctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.src.Serve(sctx) }()
		wctx, wcancel := context.WithTimeout(context.Background(), time.Minute)
		defer wcancel()
		if err := b.src.WaitReady(wctx); err != nil {
			stop()
			<-done
			t.Fatalf("WaitReady: %v", err)
		}
		var once bool
		stopAndWait := func() {
			if !once {
				once = true
				stop()
				<-done
			}
		}
		t.Cleanup(stopAndWait)
		return stopAndWait
	}
	// The slot is persistent: drop it when the test ends, so the server
	// can be closed without a reader.
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		_, _ = b.conn.Exec(cctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active`)
	})
	return b
}

// insert writes n rows in one transaction.
func (b *walBundle) insert(t *testing.T, from, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := b.conn.Exec(ctx, `INSERT INTO items SELECT g, 'x' FROM generate_series($1::bigint, $2::bigint) AS g`, from, from+n-1); err != nil {
		t.Fatal(err)
	}
}

// advanceWAL moves the server's WAL position forward by at least bytes:
// each round writes a row and switches to a new WAL segment (16 MB), which
// costs little with wal_init_zero off.
func (b *walBundle) advanceWAL(t *testing.T, bytes int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var start, now int64
	if err := b.conn.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&start); err != nil {
		t.Fatal(err)
	}
	for now-start < bytes {
		if _, err := b.conn.Exec(ctx, `INSERT INTO pad VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		if err := b.conn.QueryRow(ctx, `SELECT (pg_switch_wal() - '0/0'::pg_lsn)::bigint`).Scan(&now); err != nil {
			t.Fatal(err)
		}
	}
}

// serverLag is the slot's lag as the server computes it.
func (b *walBundle) serverLag(t *testing.T, slot string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var lag int64
	if err := b.conn.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&lag); err != nil {
		t.Fatal(err)
	}
	return lag
}
