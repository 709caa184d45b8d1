package phoenixkitdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// startFixture is a database with a Standalone on it, under an
// application name of its own so that its backend can be found.
type startFixture struct {
	url  string // without the application name
	conn *pgx.Conn
}

func setupStart(t *testing.T) *startFixture {
	t.Helper()
	url := pgtest.NewDB(t, pg)
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return &startFixture{url: url, conn: conn}
}

func (f *startFixture) notify(t *testing.T, payload string) {
	t.Helper()
	if _, err := f.conn.Exec(context.Background(), "SELECT pg_notify($1, $2)", listener.DefaultChannel, payload); err != nil {
		t.Fatal(err)
	}
}

// backends counts the sessions named app.
func backends(t *testing.T, app string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pids, err := pg.Backends(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	return len(pids)
}

// Start returns once changes flow: a notification sent right after it is
// delivered, without any wait of the caller's. Close stops the Listener
// and returns only after it has returned; a second Close is a no-op.
func TestStartDeliversThenCloses(t *testing.T) {
	f := setupStart(t)
	const app = "pkdb-start-test"
	db, err := phoenixkitdb.Start(context.Background(), phoenixkitdb.Config{
		ConnString: pgtest.WithApplicationName(f.url, app), Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !db.Ready() || !db.DB().Listener().Running() || !db.DB().PubSub().Serving() {
		t.Fatalf("Start returned before changes flow: ready %v, listener %v, pubsub %v",
			db.Ready(), db.DB().Listener().Running(), db.DB().PubSub().Serving())
	}
	if db.ChangeSource != phoenixkitdb.ChangeSource(db.DB().Listener()) {
		t.Fatal("Changes() is not the module's Listener")
	}
	one, all := pubsub.NewMailbox(16), pubsub.NewMailbox(16)
	defer one.Close()
	defer all.Close()
	if err := db.Subscribe(one, "public", "t"); err != nil {
		t.Fatal(err)
	}
	if err := db.SubscribeAll(all); err != nil {
		t.Fatal(err)
	}
	f.notify(t, "public.t:INSERT:1")
	for _, mb := range []*pubsub.Mailbox{one, all} {
		if ev := wait(t, mb.C(), "change"); ev.String() != "public.t:INSERT:1" {
			t.Fatalf("got %v", ev)
		}
	}
	if err := db.Unsubscribe(one, "public", "t"); err != nil {
		t.Fatal(err)
	}
	if err := db.UnsubscribeAll(all); err != nil {
		t.Fatal(err)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db.DB().Listener().Running() || db.DB().PubSub().Serving() {
		t.Fatal("the Listener or the PubSub still runs after Close returned")
	}
	// The server ends the backend a moment after the connection's close.
	deadline := time.Now().Add(5 * time.Second)
	for backends(t, app) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the Listener's backend is still in pg_stat_activity 5 s after Close")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// When ctx ends, the module stops by itself; Close then returns nil once
// it has.
func TestStartStopsWhenCtxEnds(t *testing.T) {
	f := setupStart(t)
	ctx, cancel := context.WithCancel(context.Background())
	db, err := phoenixkitdb.Start(ctx, phoenixkitdb.Config{ConnString: f.url, Logger: quietLogger()})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cancel()
	if err := db.Close(); err != nil {
		t.Fatalf("Close after ctx ended: %v", err)
	}
	if db.DB().Listener().Running() || db.Ready() {
		t.Fatal("the Listener still runs after ctx ended and Close returned")
	}
}

// A database that cannot be reached: Start gives up after the ready
// timeout with an error naming the Listener's last connection error, and
// leaves nothing running (goleak checks after the package's tests).
func TestStartNotReady(t *testing.T) {
	start := time.Now()
	_, err := phoenixkitdb.Start(context.Background(),
		phoenixkitdb.Config{ConnString: "postgres://nobody@127.0.0.1:1/none?connect_timeout=1", Logger: quietLogger()},
		phoenixkitdb.WithReadyTimeout(300*time.Millisecond))
	if !errors.Is(err, phoenixkitdb.ErrNotReady) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start on a closed port = %v, want ErrNotReady and DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Start took %v with a 300 ms ready timeout", d)
	}
	t.Log(err)

	// The caller's ctx bounds the wait too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = phoenixkitdb.Start(ctx, phoenixkitdb.Config{ConnString: "postgres://nobody@127.0.0.1:1/none", Logger: quietLogger()})
	if !errors.Is(err, phoenixkitdb.ErrNotReady) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with an ended ctx = %v, want ErrNotReady and Canceled", err)
	}
}

// A configuration error is returned before anything runs.
func TestStartInvalidConfig(t *testing.T) {
	_, err := phoenixkitdb.Start(context.Background(), phoenixkitdb.Config{ConnString: "postgres://x:y@[bad"})
	if !errors.Is(err, listener.ErrInvalidConfig) {
		t.Fatalf("Start with a bad connection string = %v, want listener.ErrInvalidConfig", err)
	}
}

// With a negative ready timeout Start returns at once; WaitReady waits.
func TestStartWithoutWaiting(t *testing.T) {
	f := setupStart(t)
	db, err := phoenixkitdb.Start(context.Background(), phoenixkitdb.Config{ConnString: f.url, Logger: quietLogger()},
		phoenixkitdb.WithReadyTimeout(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	mb := pubsub.NewMailbox(16)
	defer mb.Close()
	if err := db.Subscribe(mb, "public", "t"); err != nil {
		t.Fatal(err)
	}
	f.notify(t, "public.t:DELETE:9")
	if ev := wait(t, mb.C(), "change"); ev.String() != "public.t:DELETE:9" {
		t.Fatalf("got %v", ev)
	}
}

// In WAL mode Start waits for the replication Source, and Close returns
// only after the Source has returned; the slot can be dropped then.
func TestStartWALMode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, url, conn := logicalServer(ctx, t)
	if _, err := conn.Exec(ctx, `CREATE TABLE t (id bigint PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if err := replication.EnsurePublication(ctx, conn, "phoenixkitdb", pgsql.Table{Schema: "public", Name: "t"}); err != nil {
		t.Fatal(err)
	}
	db, err := phoenixkitdb.Start(ctx, phoenixkitdb.Config{ConnString: url, Source: phoenixkitdb.SourceWAL, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if db.ChangeSource != phoenixkitdb.ChangeSource(db.DB().Replication()) || !db.Ready() {
		t.Fatalf("Start in WAL mode: source %T, ready %v", db.ChangeSource, db.Ready())
	}
	mb := pubsub.NewMailbox(16)
	defer mb.Close()
	if err := db.Subscribe(mb, "public", "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO t VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	if ev := wait(t, mb.C(), "change"); ev.String() != "public.t:INSERT:7" {
		t.Fatalf("got %v", ev)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db.DB().Replication().Running() {
		t.Fatal("the replication Source still runs after Close returned")
	}
	if err := replication.DropSlot(ctx, conn, "phoenixkitdb"); err != nil {
		t.Fatal(err)
	}
}
