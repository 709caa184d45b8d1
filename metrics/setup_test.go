package metrics_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/metrics"
)

// bundle is a running DB module on a fresh database and its collector.
type bundle struct {
	url  string // the database, for the test's own connections
	app  string // the Listener's application_name
	db   *phoenixkitdb.DB
	c    *metrics.Collector
	conn *pgx.Conn // the test's own connection, for NOTIFY
}

var appSeq atomic.Int64

// setup builds a DB module with fast probes and reconnects, lets subscribe
// add the test's mailboxes before it runs, then serves its children until
// the test ends and waits for it to be ready.
func setup(t *testing.T, subscribe func(db *phoenixkitdb.DB)) *bundle {
	t.Helper()
	b := &bundle{url: pgtest.NewDB(t, pg), app: fmt.Sprintf("pkdb-metrics-%d", appSeq.Add(1))}
	logs := &pgtest.LogBuffer{}
	db, err := phoenixkitdb.New(phoenixkitdb.Config{
		ConnString: pgtest.WithApplicationName(b.url, b.app),
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
		Listener:   listener.Config{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, ProbeInterval: time.Second},
	})
	if err != nil {
		t.Fatalf("phoenixkitdb.New: %v", err)
	}
	b.db = db
	if b.c, err = metrics.New(metrics.DB(db)); err != nil {
		t.Fatalf("metrics.New: %v", err)
	}
	subscribe(db)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range db.Children() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.Serve(ctx)
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	b.waitReady(t)

	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	if b.conn, err = pgx.Connect(cctx, b.url); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.conn.Close(context.Background()) })
	return b
}

func (b *bundle) waitReady(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.db.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
}

// notify sends each payload on the change channel in a transaction of its own.
func (b *bundle) notify(t *testing.T, payloads ...string) {
	t.Helper()
	for _, p := range payloads {
		if _, err := b.conn.Exec(context.Background(), "SELECT pg_notify($1, $2)", b.db.Listener().Channel(), p); err != nil {
			t.Fatal(err)
		}
	}
}

// terminateListener ends the Listener's backend once it is the only
// session with its application_name (the cross-session probe's sender
// uses the same name for a moment).
func (b *bundle) terminateListener(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var pids []int
	eventually(t, 30*time.Second, "exactly one backend named "+b.app, func() bool {
		var err error
		if pids, err = pg.Backends(ctx, b.app); err != nil {
			t.Fatal(err)
		}
		return len(pids) == 1
	})
	if err := pg.TerminateBackend(ctx, pids[0]); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
