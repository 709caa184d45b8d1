package replication_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestSeqNumbersChangesInTheirTransaction: each change carries its index
// in its transaction, from 1, TRUNCATE's tables included, so (LSN, Seq)
// is unique and increasing along the stream.
func TestSeqNumbersChangesInTheirTransaction(t *testing.T) {
	b := setup(t, options{})
	conn := connect(t, b.url)
	exec(t, conn, `ALTER PUBLICATION phoenixkitdb ADD TABLE other`)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	exec(t, conn,
		`INSERT INTO items (id, n) VALUES (1, 1)`,
		`BEGIN`,
		`INSERT INTO items (id, n) SELECT g, g FROM generate_series(2, 4) g`,
		`UPDATE items SET n = 0 WHERE id = 2`,
		`INSERT INTO other VALUES (1, 'x')`,
		`DELETE FROM items WHERE id = 3`,
		`COMMIT`,
		`TRUNCATE items, other`)
	want := []struct {
		op    pubsub.Operation
		table string
		seq   uint64
	}{
		{"INSERT", "items", 1},
		{"INSERT", "items", 1}, {"INSERT", "items", 2}, {"INSERT", "items", 3},
		{"UPDATE", "items", 4}, {"INSERT", "other", 5}, {"DELETE", "items", 6},
		{"TRUNCATE", "items", 1}, {"TRUNCATE", "other", 2},
	}
	var lastLSN pubsub.LSN
	var lastSeq uint64
	lsns := map[pubsub.LSN]bool{}
	for i, w := range want {
		ev := next(t, b.mb, 10*time.Second)
		if ev.Operation != w.op || ev.Table != w.table || ev.Seq != w.seq {
			t.Fatalf("event %d: %v seq %d, want %s %s seq %d", i, ev, ev.Seq, w.op, w.table, w.seq)
		}
		if ev.LSN < lastLSN || ev.LSN == lastLSN && ev.Seq <= lastSeq {
			t.Fatalf("event %d: (LSN, Seq) (%d, %d) after (%d, %d)", i, ev.LSN, ev.Seq, lastLSN, lastSeq)
		}
		lastLSN, lastSeq = ev.LSN, ev.Seq
		lsns[ev.LSN] = true
	}
	if len(lsns) != 3 {
		t.Fatalf("%d transactions, want 3", len(lsns))
	}
	expectNothing(t, b.mb)
}

// TestTruncateOptions: TRUNCATE's CASCADE and RESTART IDENTITY are on
// the event.
func TestTruncateOptions(t *testing.T) {
	b := setup(t, options{})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	conn := connect(t, b.url)
	cases := []struct {
		sql                      string
		cascade, restartIdentity bool
	}{
		{`TRUNCATE items`, false, false},
		{`TRUNCATE items CASCADE`, true, false},
		{`TRUNCATE items RESTART IDENTITY`, false, true},
		{`TRUNCATE items RESTART IDENTITY CASCADE`, true, true},
		{`TRUNCATE items CONTINUE IDENTITY RESTRICT`, false, false},
	}
	for _, c := range cases {
		exec(t, conn, c.sql)
		ev := next(t, b.mb, 10*time.Second)
		if ev.Operation != "TRUNCATE" || ev.Cascade != c.cascade || ev.RestartIdentity != c.restartIdentity {
			t.Errorf("%s: %v cascade %v restart identity %v", c.sql, ev, ev.Cascade, ev.RestartIdentity)
		}
	}
}

// TestRowIDFromReplicaIdentity: the row id is the replica identity key:
// the primary key, or the REPLICA IDENTITY USING INDEX columns; a key of
// several columns is the JSON array of their texts in table order, which
// keeps keys apart whatever separators and quotes they hold. Without a
// key (FULL, NOTHING, no primary key) PhoenixKit's rule applies: the uuid
// column, else the id column.
func TestRowIDFromReplicaIdentity(t *testing.T) {
	b := setup(t, options{noSchema: true, noServe: true})
	conn := connect(t, b.url)
	exec(t, conn,
		// Table order b, a: the key's texts come in that order.
		`CREATE TABLE pk2 (b text, n int, a text, PRIMARY KEY (a, b))`,
		`CREATE TABLE byindex (id int PRIMARY KEY, c1 text NOT NULL, c2 timestamptz NOT NULL, x int)`,
		`CREATE UNIQUE INDEX byindex_c ON byindex (c2, c1)`,
		`ALTER TABLE byindex REPLICA IDENTITY USING INDEX byindex_c`,
		`CREATE TABLE full_t (code text PRIMARY KEY, id int, uuid uuid)`,
		`ALTER TABLE full_t REPLICA IDENTITY FULL`,
		`CREATE TABLE nothing_t (code text PRIMARY KEY, id int)`,
		`ALTER TABLE nothing_t REPLICA IDENTITY NOTHING`,
		`CREATE TABLE nokey (x int, id int)`,
		`CREATE TABLE single (k text PRIMARY KEY, id int)`,
		`CREATE PUBLICATION phoenixkitdb FOR TABLE pk2, byindex, full_t, nothing_t, nokey, single`)
	b.stop = serve(t, b.src)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)

	// Keys that a join on "," or a quote-less format would confuse.
	keys := [][2]string{ // {b, a}
		{"x,y", "z"}, {"x", "y,z"}, {`q"`, `"`}, {`q`, `""`}, {`\`, `"`}, {`\"`, ``}, {`[1]`, "é\t\n\r\b\f\x01<&>"}, {"", ""},
	}
	for i, k := range keys {
		if _, err := conn.Exec(context.Background(), `INSERT INTO pk2 VALUES ($1, $2, $3)`, k[0], i, k[1]); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for _, k := range keys {
		ev := next(t, b.mb, 10*time.Second)
		if want := keyOf(t, k[0], k[1]); ev.RowID != want {
			t.Errorf("pk2 %q: row id %s, want %s", k, ev.RowID, want)
		}
		var back []string
		if err := json.Unmarshal([]byte(ev.RowID), &back); err != nil || len(back) != 2 || back[0] != k[0] || back[1] != k[1] {
			t.Errorf("pk2 %q: row id %s reads back as %q (%v)", k, ev.RowID, back, err)
		}
		seen[ev.RowID] = true
	}
	if len(seen) != len(keys) {
		t.Errorf("%d distinct row ids for %d keys", len(seen), len(keys))
	}
	exec(t, conn,
		`UPDATE pk2 SET n = 100 WHERE a = 'z'`,
		`UPDATE pk2 SET a = 'moved' WHERE a = 'y,z'`,
		`DELETE FROM pk2 WHERE a = 'moved'`)
	for _, want := range []string{keyOf(t, "x,y", "z"), keyOf(t, "x", "moved"), keyOf(t, "x", "moved")} {
		if ev := next(t, b.mb, 10*time.Second); ev.RowID != want {
			t.Errorf("%v: row id %s, want %s (old %s)", ev, ev.RowID, want, rowString(ev.Old))
		}
	}

	// USING INDEX: the index's columns, in table order; the printed
	// timestamptz is the server's text.
	exec(t, conn, `INSERT INTO byindex VALUES (1, 'c,1', '2024-02-29 13:34:56.5+00', 0)`, `DELETE FROM byindex`)
	for _, op := range []pubsub.Operation{pubsub.Insert, pubsub.Delete} {
		ev := next(t, b.mb, 10*time.Second)
		if want := keyOf(t, "c,1", "2024-02-29 13:34:56.5+00"); ev.Operation != op || ev.RowID != want {
			t.Errorf("byindex: %v, want %s %s", ev, op, want)
		}
	}

	// No key in the message: PhoenixKit's rule.
	exec(t, conn,
		`INSERT INTO full_t VALUES ('c1', 7, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')`,
		`DELETE FROM full_t`,
		`INSERT INTO nothing_t VALUES ('c2', 8)`,
		`INSERT INTO nokey VALUES (1, 9)`,
		`INSERT INTO single VALUES ('a,"b"', 10)`)
	for _, want := range []string{
		"public.full_t:INSERT:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "public.full_t:DELETE:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		"public.nothing_t:INSERT:8", "public.nokey:INSERT:9",
		// One column: its text as it is, not the id column.
		`public.single:INSERT:a,"b"`,
	} {
		if ev := next(t, b.mb, 10*time.Second); ev.String() != want {
			t.Errorf("got %v, want %s", ev, want)
		}
	}
}

// keyOf is the row id a key of texts must give: the text itself for one
// column, else a JSON array of them, as encoding/json writes it without
// HTML escaping (for texts without U+2028 and U+2029, which it escapes).
func keyOf(t *testing.T, texts ...string) string {
	t.Helper()
	if len(texts) == 1 {
		return texts[0]
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(texts); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
