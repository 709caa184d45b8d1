package replication_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// bundle is what setup returns.
type bundle struct {
	srv  *pgtest.Server
	url  string // the database, for the test's own connections
	ps   *pubsub.PubSub
	src  *replication.Source
	cfg  replication.Config
	mb   *pubsub.Mailbox // subscribed to TopicAll before Serve
	logs *pgtest.LogBuffer
	stop func() error // cancels Serve and returns its error; idempotent
}

type options struct {
	cfg      replication.Config // PubSub, Logger, Slot and ConnString are filled in when empty
	srv      *pgtest.Server     // default pg
	url      string             // default: a fresh database on srv
	capacity int
	noServe  bool
	noSchema bool // do not create the items table and the publication
}

// setup creates a database with table items published by publication
// "phoenixkitdb", and a Source on a slot of the test's own.
func setup(t *testing.T, o options) *bundle {
	t.Helper()
	b := &bundle{srv: o.srv, url: o.url, logs: &pgtest.LogBuffer{}}
	if b.srv == nil {
		b.srv = pgtest.Require(t, pg)
	}
	if b.url == "" {
		b.url = pgtest.NewDB(t, b.srv)
	}
	if !o.noSchema {
		conn := connect(t, b.url)
		exec(t, conn, `CREATE TABLE items (id bigint PRIMARY KEY, uuid uuid NOT NULL DEFAULT gen_random_uuid(), n int, note text)`,
			`CREATE TABLE other (id bigint PRIMARY KEY, pad text)`,
			`CREATE PUBLICATION phoenixkitdb FOR TABLE items`)
	}
	b.ps = pubsub.New(slog.New(slog.NewTextHandler(b.logs, nil)))
	cfg := o.cfg
	cfg.PubSub = b.ps
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.ConnString == "" {
		cfg.ConnString = b.url
	}
	if cfg.Slot == "" {
		cfg.Slot = newSlotName()
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = time.Second
	}
	b.cfg = cfg
	src, err := replication.New(cfg)
	if err != nil {
		t.Fatalf("replication.New: %v", err)
	}
	b.src = src
	// Runs after the Source stopped (cleanups run last-in first-out) and
	// before the database is dropped, which a slot would block.
	t.Cleanup(func() { dropSlot(t, b.url, cfg.Slot) })
	capacity := o.capacity
	if capacity == 0 {
		capacity = 1 << 16
	}
	b.mb = pubsub.NewMailbox(capacity)
	t.Cleanup(b.mb.Close)
	if err := src.SubscribeAll(b.mb); err != nil {
		t.Fatal(err)
	}
	if !o.noServe {
		b.stop = serve(t, src)
	}
	return b
}

// serve runs src.Serve in a goroutine; the returned func cancels it and
// returns Serve's error. t.Cleanup calls it too.
func serve(t *testing.T, src *replication.Source) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- src.Serve(ctx) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-errc:
			case <-time.After(10 * time.Second):
				serveErr = fmt.Errorf("Serve did not return within 10s")
			}
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil && err != context.Canceled {
			t.Errorf("Serve: %v", err)
		}
	})
	return stop
}

func newSlotName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t_" + hex.EncodeToString(b[:])
}

// dropSlot drops slot if it exists, waiting for it to become inactive.
func dropSlot(t *testing.T, url, slot string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("dropSlot: %v", err)
		return
	}
	defer conn.Close(context.Background())
	for {
		_, err := conn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, slot)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Errorf("dropSlot %s: %v", slot, err)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec(t *testing.T, conn *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, sql := range sqls {
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// next returns the next event of mb or fails after timeout.
func next(t *testing.T, mb *pubsub.Mailbox, timeout time.Duration) pubsub.Event {
	t.Helper()
	select {
	case ev, ok := <-mb.C():
		if !ok {
			t.Fatal("mailbox closed")
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no event within %v", timeout)
	}
	return pubsub.Event{}
}

// expectResync reads the next event and checks it is a Resync for reason.
func expectResync(t *testing.T, mb *pubsub.Mailbox, reason pubsub.Reason, timeout time.Duration) {
	t.Helper()
	ev := next(t, mb, timeout)
	if ev.Kind != pubsub.Resync || ev.Reason != reason {
		t.Fatalf("got %v, want Resync(%s)", ev, reason)
	}
}

// expectNothing fails if mb holds an event.
func expectNothing(t *testing.T, mb *pubsub.Mailbox) {
	t.Helper()
	select {
	case ev := <-mb.C():
		t.Fatalf("unexpected event %v", ev)
	default:
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

func waitReady(t *testing.T, src *replication.Source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := src.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

// slotInfo returns the slot's active pid (0 if inactive) and its lag:
// pg_current_wal_lsn() - confirmed_flush_lsn in bytes. ok is false when
// the slot does not exist.
func slotInfo(t *testing.T, conn *pgx.Conn, slot string) (pid int, lag int64, ok bool) {
	t.Helper()
	err := conn.QueryRow(context.Background(),
		`SELECT COALESCE(active_pid, 0), pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint
		 FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&pid, &lag)
	if err == pgx.ErrNoRows {
		return 0, 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return pid, lag, true
}

// collector checks that ids arrive exactly once and in order.
type collector struct {
	t    *testing.T
	next int64 // the id expected next
}

// take reads INSERT events of items until id upto arrived, failing on a
// gap, a duplicate, a reordering or a Resync.
func (c *collector) take(mb *pubsub.Mailbox, upto int64, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for c.next <= upto {
		left := time.Until(deadline)
		if left <= 0 {
			c.t.Fatalf("timed out waiting for id %d (up to %d)", c.next, upto)
		}
		ev := next(c.t, mb, left)
		if ev.Kind != pubsub.TableChanged {
			c.t.Fatalf("got %v while waiting for id %d", ev, c.next)
		}
		text, _ := ev.New.Text("id")
		if text != strconv.FormatInt(c.next, 10) {
			c.t.Fatalf("got %v (id %q), want id %d: lost, duplicated or reordered", ev, text, c.next)
		}
		c.next++
	}
}

// insert inserts ids [from, to] in transactions of per rows each, with
// synchronous_commit on so they survive an immediate shutdown.
func insert(t *testing.T, conn *pgx.Conn, from, to, per int64) {
	t.Helper()
	for lo := from; lo <= to; lo += per {
		hi := min(lo+per-1, to)
		if _, err := conn.Exec(context.Background(),
			`INSERT INTO items (id, n) SELECT g, g FROM generate_series($1::bigint, $2::bigint) g`, lo, hi); err != nil {
			t.Fatal(err)
		}
	}
}

// rowString lists a row's columns in table order as name=text, with
// name=NULL for NULL and name=<toast> for an unchanged TOASTed value;
// absent columns are left out. "<nil>" for the nil row.
func rowString(r *pubsub.Row) string {
	if r == nil {
		return "<nil>"
	}
	var parts []string
	for i, name := range r.Names() {
		st, text := r.At(i)
		switch st {
		case pubsub.Null:
			parts = append(parts, name+"=NULL")
		case pubsub.UnchangedTOAST:
			parts = append(parts, name+"=<toast>")
		case pubsub.Present:
			parts = append(parts, name+"="+text)
		}
	}
	return strings.Join(parts, " ")
}

// textOf returns the text of column col of r, failing if it has none.
func textOf(t *testing.T, r *pubsub.Row, col string) string {
	t.Helper()
	text, ok := r.Text(col)
	if !ok {
		t.Fatalf("column %s is %v in %s", col, r.State(col), rowString(r))
	}
	return text
}
