package replication_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// TestDecodeOIDOfUserTypes: each column's DecodeOID is the built-in type
// whose rules apply: a domain's base (through domains of domains), text
// for an enum, the array of the resolved element for an array of those;
// composites, ranges and extension types stay themselves. Types known
// when the Source connects are read before streaming; a type created
// later is looked up on a side connection; a type dropped since the WAL
// was written stays itself.
func TestDecodeOIDOfUserTypes(t *testing.T) {
	b := setup(t, options{noSchema: true, noServe: true})
	conn := connect(t, b.url)
	exec(t, conn,
		`CREATE EXTENSION citext`,
		`CREATE DOMAIN d_int AS int CHECK (VALUE > 0)`,
		`CREATE DOMAIN d_d AS d_int`,
		`CREATE TYPE mood AS ENUM ('sad', 'ok')`,
		`CREATE DOMAIN d_mood AS mood`,
		`CREATE TYPE comp AS (a int, b text)`,
		`CREATE DOMAIN d_arr AS int[]`,
		`CREATE TYPE frange AS RANGE (subtype = float8)`,
		`CREATE TABLE typed (id int PRIMARY KEY, a d_int, b d_d, c mood, d d_mood, e d_d[], f mood[], g comp, h d_arr,
			i comp[], j citext, k d_mood[], l frange, m int8, n text[], o information_schema.cardinal_number)`,
		`CREATE PUBLICATION phoenixkitdb FOR TABLE typed`)
	want := map[string]string{
		"id": "int4", "a": "int4", "b": "int4", "c": "text", "d": "text", "e": "int4[]", "f": "text[]", "g": "comp", "h": "int4[]",
		"i": "comp[]", "j": "citext", "k": "text[]", "l": "frange", "m": "int8", "n": "text[]",
		"o": "int4",
	}
	b.stop = serve(t, b.src)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	exec(t, conn, `INSERT INTO typed (id) VALUES (1)`)
	checkDecodeOIDs(t, conn, next(t, b.mb, 10*time.Second).New, want)
	if n := replication.TypeLookups(b.src); n != 0 {
		t.Fatalf("%d side lookups for types known before streaming", n)
	}

	// Created while streaming: looked up when the table is first described.
	exec(t, conn,
		`CREATE DOMAIN late AS numeric(10,2)`,
		`CREATE TYPE late_e AS ENUM ('x')`,
		`CREATE TABLE later (id int PRIMARY KEY, v late, w late_e[], x late[])`,
		`ALTER PUBLICATION phoenixkitdb ADD TABLE later`,
		`INSERT INTO later (id) VALUES (1)`)
	checkDecodeOIDs(t, conn, next(t, b.mb, 10*time.Second).New, map[string]string{"id": "int4", "v": "numeric", "w": "text[]", "x": "numeric[]"})
	if n := replication.TypeLookups(b.src); n == 0 {
		t.Fatal("no side lookup for types created while streaming")
	}

	// Written, then dropped while the Source was away: replayed, the
	// column keeps its own type.
	if err := b.stop(); err != context.Canceled {
		t.Fatalf("Serve: %v", err)
	}
	var goneOID uint32
	exec(t, conn,
		`CREATE DOMAIN gone AS int`,
		`CREATE TABLE t_gone (id int PRIMARY KEY, v gone)`,
		`ALTER PUBLICATION phoenixkitdb ADD TABLE t_gone`,
		`INSERT INTO t_gone VALUES (1, 5)`)
	if err := conn.QueryRow(context.Background(), `SELECT 'gone'::regtype::oid`).Scan(&goneOID); err != nil {
		t.Fatal(err)
	}
	exec(t, conn, `DROP TABLE t_gone`, `DROP DOMAIN gone`)
	b.stop = serve(t, b.src)
	ev := next(t, b.mb, 10*time.Second)
	if ev.Table != "t_gone" || textOf(t, ev.New, "v") != "5" {
		t.Fatalf("got %v %s", ev, rowString(ev.New))
	}
	if c := ev.New.Layout().Column(1); c.OID != goneOID || c.DecodeOID != goneOID {
		t.Fatalf("dropped domain: OID %d DecodeOID %d, want %d for both", c.OID, c.DecodeOID, goneOID)
	}
}

// checkDecodeOIDs checks each column's DecodeOID against the OID of the
// type the server names in want, and that the row has want's columns.
func checkDecodeOIDs(t *testing.T, conn *pgx.Conn, row *pubsub.Row, want map[string]string) {
	t.Helper()
	l := row.Layout()
	if l.Len() != len(want) {
		t.Fatalf("%d columns, want %d", l.Len(), len(want))
	}
	for i := range l.Len() {
		c := l.Column(i)
		var oid uint32
		if err := conn.QueryRow(context.Background(), `SELECT $1::regtype::oid`, want[c.Name]).Scan(&oid); err != nil {
			t.Fatalf("column %s: type %q: %v", c.Name, want[c.Name], err)
		}
		if c.DecodeOID != oid {
			t.Errorf("column %s (type %d): DecodeOID %d, want %d (%s)", c.Name, c.OID, c.DecodeOID, oid, want[c.Name])
		}
	}
}
