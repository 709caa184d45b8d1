package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// walChange decodes a change frame's row data as plain values.
type walChange struct {
	Schema    string         `json:"schema"`
	Table     string         `json:"table"`
	Operation string         `json:"operation"`
	RowID     string         `json:"row_id"`
	LSN       string         `json:"lsn"`
	New       map[string]any `json:"new"`
	Old       map[string]any `json:"old"`
}

// TestWALEventsCarryRows: in WAL mode the demo tables are watched through
// the publication (no trigger anywhere), and a change made with SQL reaches
// the SSE stream with its row: the new values of an INSERT, the old and
// new values of an UPDATE, the old row of a DELETE; the status names the
// source, its slot and its confirmed position.
func TestWALEventsCarryRows(t *testing.T) {
	b := setup(t, setupOptions{wal: true})
	b.waitReady(t)
	if n := b.scalar(t, `SELECT count(*)::text FROM pg_trigger WHERE NOT tgisinternal`); n != "0" {
		t.Errorf("WAL mode installed %s triggers, want none", n)
	}
	if got := b.scalar(t, `SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY tablename)
		FROM pg_publication_tables WHERE pubname = 'phoenixkitdb'`); got != "demo.events_log,demo.orders,demo.users" {
		t.Errorf("published tables = %q, want the three demo tables", got)
	}

	s := openStream(t, b.ts.Client(), b.ts.URL+"/events")
	var st statusFrame
	s.next(t, 5*time.Second, "first status frame", isEvent("status")).decode(t, &st)
	if st.Source != "wal" || st.Listener.Slot != b.slot || st.Listener.Publication != "phoenixkitdb" ||
		!st.Listener.Connected || st.Listener.ConfirmedLSN == "" || st.Listener.LagBytes == nil {
		t.Fatalf("status = %+v / %+v, want source wal on slot %s with a confirmed LSN and lag", st, st.Listener, b.slot)
	}

	uuid := b.scalar(t, `INSERT INTO demo.users (name, email) VALUES ('Ada', 'ada@example.com') RETURNING uuid::text`)
	var c walChange
	s.next(t, 5*time.Second, "users INSERT", isChange(t, "demo.users", "INSERT")).decode(t, &c)
	if c.RowID != uuid || c.LSN == "" || c.New["email"] != "ada@example.com" || c.New["uuid"] != uuid || c.Old != nil {
		t.Fatalf("INSERT frame = %+v, want row %s with new values and no old ones", c, uuid)
	}

	b.exec(t, `UPDATE demo.users SET email = 'ada@lovelace.example' WHERE uuid = $1`, uuid)
	f := s.next(t, 5*time.Second, "users UPDATE", isChange(t, "demo.users", "UPDATE"))
	c = walChange{}
	f.decode(t, &c)
	if c.RowID != uuid || c.New["email"] != "ada@lovelace.example" || c.Old["email"] != "ada@example.com" || c.Old["name"] != "Ada" {
		t.Fatalf("UPDATE frame = %+v, want old email ada@example.com and new ada@lovelace.example", c)
	}
	// Raw field names are part of the page's contract.
	for _, key := range []string{`"new":{`, `"old":{`, `"lsn":"`, `"commit_time":"`} {
		if !strings.Contains(f.data, key) {
			t.Errorf("change data %s lacks %s", f.data, key)
		}
	}

	b.exec(t, `DELETE FROM demo.users WHERE uuid = $1`, uuid)
	c = walChange{}
	s.next(t, 5*time.Second, "users DELETE", isChange(t, "demo.users", "DELETE")).decode(t, &c)
	if c.RowID != uuid || c.Old["email"] != "ada@lovelace.example" || c.New != nil {
		t.Fatalf("DELETE frame = %+v, want the old row and no new one", c)
	}

	// The table list and the table view read the published tables.
	code, body, _ := get(t, b.ts.Client(), http.MethodGet, b.ts.URL+"/api/tables")
	if code != http.StatusOK || !strings.Contains(body, `"table":"users"`) {
		t.Fatalf("GET /api/tables: %d %s", code, body)
	}
	id := b.scalar(t, `INSERT INTO demo.orders (amount_cents) VALUES (321) RETURNING id::text`)
	code, body, _ = get(t, b.ts.Client(), http.MethodGet, b.ts.URL+"/api/tables/demo/orders/rows")
	var tr tableRows
	if err := json.Unmarshal([]byte(body), &tr); code != http.StatusOK || err != nil || tr.Key != "id" || len(tr.Rows) != 1 {
		t.Fatalf("GET rows: %d %s (%v)", code, body, err)
	}
	if code, body, _ := get(t, b.ts.Client(), http.MethodGet, b.ts.URL+"/api/tables/demo/orders/rows/"+id); code != http.StatusOK {
		t.Fatalf("GET row %s: %d %s", id, code, body)
	}
	if code, body, _ := get(t, b.ts.Client(), http.MethodGet, b.ts.URL+"/healthz"); code != http.StatusOK || !strings.Contains(body, `"source":"wal"`) {
		t.Fatalf("GET /healthz: %d %s", code, body)
	}
	want := `phoenixkitdb_source_connected{channel="",slot="` + b.slot + `",source="wal"} 1`
	if code, body, _ := get(t, b.ts.Client(), http.MethodGet, b.ts.URL+"/metrics"); code != http.StatusOK || !strings.Contains(body, want) {
		t.Errorf("GET /metrics: %d, lacks %s:\n%s", code, want, body)
	}
}

// TestWALWatchAndNothingUnasked: in WAL mode with a database of the user's,
// nothing is created without -watch or -demo (no publication, no
// trigger); -watch adds exactly the named tables to the publication,
// creating it, logs that, and their changes stream with their rows; a
// second start logs that nothing was written.
func TestWALWatchAndNothingUnasked(t *testing.T) {
	url := newUserDB(t)
	b := setup(t, setupOptions{url: url, wal: true, noDemoSchema: true})
	if n := b.scalar(t, `SELECT count(*)::text FROM pg_publication`); n != "0" {
		t.Errorf("%s publications created without -watch or -demo", n)
	}
	if n := b.scalar(t, `SELECT count(*)::text FROM pg_trigger WHERE NOT tgisinternal`); n != "0" {
		t.Errorf("%s triggers created without -watch or -demo", n)
	}
	if !strings.Contains(b.logs.String(), "watch: changing no publication") {
		t.Errorf("the log does not say that nothing was published:\n%s", b.logs.String())
	}

	w := setup(t, setupOptions{url: url, wal: true, noDemoSchema: true, watch: []watchTable{{Schema: "public", Table: "orders"}}})
	logs := w.logs.String()
	for _, line := range []string{`msg="watch: created publication" publication=phoenixkitdb`,
		`msg="watch: added to publication" table=public.orders publication=phoenixkitdb`} {
		if !strings.Contains(logs, line) {
			t.Errorf("log lacks %s:\n%s", line, logs)
		}
	}
	if got := w.scalar(t, `SELECT string_agg(schemaname || '.' || tablename, ',') FROM pg_publication_tables`); got != "public.orders" {
		t.Errorf("published tables = %q, want public.orders only", got)
	}
	if n := w.scalar(t, `SELECT count(*)::text FROM pg_trigger WHERE NOT tgisinternal`); n != "0" {
		t.Errorf("-watch in WAL mode installed %s triggers, want none", n)
	}
	w.waitReady(t)
	s := openStream(t, w.ts.Client(), w.ts.URL+"/events?table=public.orders")
	id := w.scalar(t, `INSERT INTO public.orders (amount_cents) VALUES (99) RETURNING id::text`)
	w.exec(t, `UPDATE public.orders SET amount_cents = 100 WHERE id = $1::bigint`, id)
	var c walChange
	s.next(t, 10*time.Second, "orders UPDATE", isChange(t, "public.orders", "UPDATE")).decode(t, &c)
	// Default replica identity: the old row is not logged, the new one is.
	if c.RowID != id || c.New["amount_cents"] != float64(100) || c.Old != nil {
		t.Fatalf("UPDATE frame = %+v, want new amount 100 and no old row", c)
	}

	again := setup(t, setupOptions{url: url, wal: true, noDemoSchema: true, watch: []watchTable{{Schema: "public", Table: "orders"}}})
	if l := again.logs.String(); !strings.Contains(l, "watch: table already in the publication; nothing written") ||
		strings.Contains(l, "watch: created") || strings.Contains(l, "watch: added") {
		t.Errorf("second start logs:\n%s", l)
	}
}

// newUserDB returns a fresh database holding a table of the user's,
// public.orders, and one never to be touched, public.secrets.
func newUserDB(t *testing.T) string {
	t.Helper()
	url := pgtest.NewDB(t, srv)
	userSQL(t, url, `CREATE TABLE public.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, amount_cents int)`)
	userSQL(t, url, `CREATE TABLE public.secrets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, value text)`)
	return url
}
