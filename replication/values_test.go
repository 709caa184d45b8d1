package replication_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestRowTextIsTheServersText: every value of a row is the text the
// server prints for the column, including values at the edges
// of their types, NULLs, and an enum; each column carries its type.
func TestRowTextIsTheServersText(t *testing.T) {
	b := setup(t, options{noSchema: true, noServe: true})
	conn := connect(t, b.url)
	exec(t, conn,
		`CREATE TYPE mood AS ENUM ('sad', 'ok')`,
		`CREATE TABLE typed (id bigint PRIMARY KEY, i2 int2, i4 int4, big int8, flag bool, t text, vc varchar(10), c char(3), nm name, m mood,
			f8 float8, n numeric, ts timestamptz, d date, iv interval, by bytea, j jsonb, a int[])`,
		`CREATE PUBLICATION phoenixkitdb FOR TABLE typed`)
	b.stop = serve(t, b.src)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	exec(t, conn,
		`INSERT INTO typed VALUES (1, -32768, 2147483647, -9223372036854775808, true, 'é''"\', 'v', 'ab', 'n', 'ok',
			0.1::float8 + 0.2::float8, 'NaN', '2024-02-29 13:34:56.5+01', '2024-02-29', '1 year 2 mons 3 days 04:05:06.7', '\x00ff', '{"id": 12345678901234567890}', '{{1,2},{3,NULL}}')`,
		`INSERT INTO typed VALUES (2, 32767, -2147483648, 9223372036854775807, false, '', '', '', '', 'sad',
			'-0', '-Infinity', 'infinity', '-infinity', '-1 day', '', 'null', '[0:2]={7,8,9}')`,
		`INSERT INTO typed (id) VALUES (-123456789012345678)`)
	for range 3 {
		ev := next(t, b.mb, 10*time.Second)
		checkAgainstServer(t, conn, "typed", ev.New)
	}
}

// checkAgainstServer compares every column of row (of table, keyed by its
// id) with the server's text of the column, queried on conn, and its type with the
// column's. The server's text is what the type's output function prints
// in conn's session.
func checkAgainstServer(t *testing.T, conn *pgx.Conn, table string, row *pubsub.Row) {
	t.Helper()
	names := row.Names()
	exprs := make([]string, len(names))
	for i, n := range names {
		// format's %s prints with the type's output function, as
		// pgoutput does; a cast to text may not (bool, bpchar).
		c := pgx.Identifier{n}.Sanitize()
		exprs[i] = "format('%s', " + c + "), " + c + " IS NULL, pg_typeof(" + c + ")::oid"
	}
	id := textOf(t, row, "id")
	rows, err := conn.Query(context.Background(),
		"SELECT "+strings.Join(exprs, ", ")+" FROM "+pgx.Identifier{table}.Sanitize()+" WHERE id::text = $1", id)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := pgx.CollectExactlyOneRow(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
	if err != nil {
		t.Fatalf("row %s: %v", id, err)
	}
	for i, n := range names {
		want := vals[3*i].(string)
		got, ok := row.Text(n)
		if vals[3*i+1].(bool) {
			if st := row.State(n); st != pubsub.Null {
				t.Errorf("row %s column %s: %v (%q), the server has NULL", id, n, st, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("row %s column %s: %q (%v), the server prints %q", id, n, got, row.State(n), want)
		}
		if oid := vals[3*i+2].(uint32); row.Layout().Column(i).OID != oid {
			t.Errorf("row %s column %s: type %d, the server's %d", id, n, row.Layout().Column(i).OID, oid)
		}
	}
}

// TestRowOfTableWithoutColumns: a table may have no columns; its rows
// arrive with an empty New, and the stream goes on (pglogrepl's parser
// refuses such a row, which stopped the stream there for good).
func TestRowOfTableWithoutColumns(t *testing.T) {
	b := setup(t, options{noSchema: true, noServe: true})
	conn := connect(t, b.url)
	exec(t, conn, `CREATE TABLE bare ()`, `CREATE TABLE after (id bigint PRIMARY KEY)`,
		`CREATE PUBLICATION phoenixkitdb FOR TABLE bare, after`)
	b.stop = serve(t, b.src)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	exec(t, conn, `INSERT INTO bare DEFAULT VALUES`, `INSERT INTO after VALUES (7)`)
	ev := next(t, b.mb, 10*time.Second)
	if ev.Table != "bare" || ev.Operation != "INSERT" || ev.New == nil || ev.New.Len() != 0 || ev.RowID != "" {
		t.Fatalf("empty row: %+v", ev)
	}
	if ev := next(t, b.mb, 10*time.Second); ev.Table != "after" || ev.RowID != "7" {
		t.Fatalf("after it: %+v", ev)
	}
	if st := b.src.Stats(); st.Reconnects != 0 {
		t.Fatalf("the stream broke: %+v", st)
	}
}
