package phoenixkitdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// serveService runs a service's Serve until the test ends.
func serveService(t *testing.T, serveFn func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = serveFn(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// changes reads n changes from mb, skipping Resyncs, as payload strings.
func changes(t *testing.T, mb *pubsub.Mailbox, n int) []string {
	t.Helper()
	var got []string
	for len(got) < n {
		ev := wait(t, mb.C(), "a change")
		if ev.Kind == pubsub.TableChanged {
			got = append(got, ev.String())
		}
	}
	return got
}

// On tables with both the trigger and a publication, the Listener and the
// WAL Source report the same (schema, table, operation, row id) sequence.
func TestSameEventsAsNotify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, url, conn := logicalServer(ctx, t)
	// b's uuid is not its key: REPLICA IDENTITY FULL gives a DELETE the
	// uuid the trigger reports.
	if _, err := conn.Exec(ctx, `CREATE TABLE a (id bigint PRIMARY KEY, name text);
CREATE TABLE b (id bigint PRIMARY KEY, uuid uuid NOT NULL DEFAULT gen_random_uuid(), n int);
ALTER TABLE b REPLICA IDENTITY FULL`); err != nil {
		t.Fatal(err)
	}
	tables := []pgsql.Table{{Schema: "public", Name: "a"}, {Schema: "public", Name: "b"}}
	for _, tb := range tables {
		if err := trigger.Ensure(ctx, conn, tb.Schema, tb.Name); err != nil {
			t.Fatal(err)
		}
	}
	if err := replication.EnsurePublication(ctx, conn, "phoenixkitdb", tables...); err != nil {
		t.Fatal(err)
	}

	lps, rps := pubsub.New(quietLogger()), pubsub.New(quietLogger())
	l, err := listener.New(listener.Config{ConnString: url, PubSub: lps, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	src, err := replication.New(replication.Config{ConnString: url, PubSub: rps, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	lmb, rmb := pubsub.NewMailbox(256), pubsub.NewMailbox(256)
	defer lmb.Close()
	defer rmb.Close()
	if err := l.SubscribeAll(lmb); err != nil {
		t.Fatal(err)
	}
	if err := src.SubscribeAll(rmb); err != nil {
		t.Fatal(err)
	}
	serveService(t, l.Serve)
	t.Cleanup(func() { _ = replication.DropSlot(context.Background(), conn, replication.DefaultSlot) })
	serveService(t, src.Serve) // stops before the slot is dropped
	for _, s := range []phoenixkitdb.ChangeSource{l, src} {
		if err := s.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, sql := range []string{
		`INSERT INTO a VALUES (1, 'one'), (2, 'two')`,
		`UPDATE a SET name = 'uno' WHERE id = 1`,
		`DELETE FROM a WHERE id = 2`,
		`INSERT INTO b (id, n) SELECT g, g FROM generate_series(1, 3) g`,
		`UPDATE b SET n = 20 WHERE id = 2`,
		`DELETE FROM b WHERE id = 3`,
		`TRUNCATE a`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	const n = 10
	fromNotify, fromWAL := changes(t, lmb, n), changes(t, rmb, n)
	for i := range n {
		if fromNotify[i] != fromWAL[i] {
			t.Fatalf("event %d: NOTIFY %s, WAL %s\nNOTIFY: %v\nWAL:    %v", i, fromNotify[i], fromWAL[i], fromNotify, fromWAL)
		}
	}
	t.Logf("%v", fromWAL)
}
