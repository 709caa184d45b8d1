package shape_test

import (
	"context"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// TestSubscribeBatchStreams: in NOTIFY mode (no WAL to wait for) a
// SubscribeBatch subscriber gets the shape's snapshot while its query
// reads it; read as it grows (Wait) it holds, by the time UpToDate
// comes, exactly the rows and texts PostgreSQL's own query returns.
func TestSubscribeBatchStreams(t *testing.T) {
	b := setup(t, options{notify: true})
	b.exec(t, `INSERT INTO items SELECT g, 'open', g, g * 1.5, g % 2 = 0, repeat('x', g % 400) FROM generate_series(1, 30000) g`)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sub, err := b.m.SubscribeBatch(ctx, shape.Definition{Table: "items", Columns: []string{"note"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	msg := <-sub.C()
	if msg.Kind != shape.Snapshot {
		t.Fatalf("first message %v, want Snapshot", msg.Kind)
	}
	rows := msg.Rows
	if !shape.Streamed(rows) {
		t.Fatal("the snapshot came whole, not while its query ran")
	}
	read := 0
	for !rows.Complete() || read < rows.Len() {
		n, err := rows.Wait(ctx, read)
		if err != nil {
			t.Fatal(err)
		}
		read = n
	}
	if m := <-sub.C(); m.Kind != shape.UpToDate {
		t.Fatalf("after the rows: %v, want UpToDate", m.Kind)
	}
	want := map[string]string{}
	pgRows, err := b.pool.Query(ctx, `SELECT id::text, note FROM items`)
	if err != nil {
		t.Fatal(err)
	}
	for pgRows.Next() {
		var k, v string
		if err := pgRows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		want[k] = v
	}
	if err := pgRows.Err(); err != nil {
		t.Fatal(err)
	}
	if rows.Len() != len(want) {
		t.Fatalf("%d rows, PostgreSQL has %d", rows.Len(), len(want))
	}
	note := -1
	for c := range rows.Layout().Len() {
		if rows.Layout().Column(c).Name == "note" {
			note = c
		}
	}
	for i := range rows.Len() {
		st, v := rows.At(i, note)
		if w, ok := want[rows.Key(i)]; !ok || st != pubsub.Present || v != w {
			t.Fatalf("row %s: %v %q, PostgreSQL has %q (%v)", rows.Key(i), st, v, w, ok)
		}
	}
}
