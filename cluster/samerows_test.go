package cluster_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// sameRowsWrites is a workload of values that JSON or float64 would
// change, on a table with REPLICA IDENTITY FULL (old rows whole) and a
// TOASTed column, interleaved with changes of another table.
var sameRowsWrites = []string{
	`INSERT INTO vals VALUES (1, 'NaN', '-0', 'NaN',
		'{"big": 123456789012345678901234567890, "neg": -98765432109876543210, "n": null, "x": 1.000000000000000000001, "e": 1e400}',
		'null', '[0:1][2:3]={{1,2},{3,NULL}}', ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, NULL],
		'infinity', '-infinity', '4713-01-01 BC', '\x00ff10', 'emoji 😀 "quotes" \ back\slash, tab	end',
		(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 400) g))`,
	`INSERT INTO items VALUES (100, 'between')`,
	`INSERT INTO vals VALUES (2, 'Infinity', 'NaN', 12345678901234567890.123456789012345678901, 'null',
		'{"a": [1, 2.50, {"b": null}]}', '{}', '{}', '0044-03-15 12:00:00 BC', '2026-01-02 03:04:05.123456+05:30',
		'infinity', '', '', NULL)`,
	`INSERT INTO vals VALUES (3, '-Infinity', 1.17549435e-38, '-Infinity', '[1e400, -0, 0.1, "\u00e9\ud83d\ude00"]',
		'"str"', '[-3:-2]={7,8}', '{{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11},{00000000-0000-0000-0000-000000000000}}',
		'294276-12-31 23:59:59.999999', '1999-12-31 23:59:59.999999-12', '5874897-12-31', '\xdeadbeef', '', 'x')`,
	`INSERT INTO vals VALUES (4, '-0', 1e-45::real, '-0.000000000000000000001', '{}', '[]', NULL, NULL,
		NULL, NULL, NULL, NULL, NULL, NULL)`,
	`UPDATE vals SET t = 'updated ✓' WHERE id = 1`,
	`UPDATE vals SET id = 20, f8 = 4.9e-324 WHERE id = 2`,
	`DELETE FROM vals WHERE id = 3`,
	`TRUNCATE vals, items RESTART IDENTITY`,
}

// Through the cluster a follower receives exactly the events the leader's
// change source published locally: for each, every field and, for its
// rows, every column's name, type OIDs, state and text. Values JSON could
// not carry (NaN, infinities, numbers past float64) used to become
// Resyncs (cluster-encode) or change type; each column's typed value
// (Row.Value) is the same Go type and value on both sides; the inserted
// values' texts are also PostgreSQL's own (col::text).
func TestWALRowsSameThroughTheCluster(t *testing.T) {
	t.Parallel() // its own NATS server and database; no clock bound on what it checks
	ns := startNATS(t)
	dbURL, run := walDB(t)
	run(`CREATE TABLE vals (id bigint PRIMARY KEY, f8 float8, f4 real, num numeric, j jsonb, js json, ia int[],
		ua uuid[], ts timestamp, tstz timestamptz, d date, b bytea, t text, big text)`)
	run(`ALTER TABLE vals REPLICA IDENTITY FULL`)
	// Stored out of line uncompressed: an UPDATE that leaves it alone
	// sends it as unchanged TOAST.
	run(`ALTER TABLE vals ALTER COLUMN big SET STORAGE EXTERNAL`)
	conn := connect(t, dbURL)
	if err := replication.EnsurePublication(context.Background(), conn, "phoenixkitdb",
		pgsql.Table{Schema: "public", Name: "vals"}); err != nil {
		t.Fatal(err)
	}
	ins := []*instance{
		newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL}),
		newInstance(t, ns, dbURL, instanceOpts{source: phoenixkitdb.SourceWAL}),
	}
	waitReady(t, ins...)
	leader := leaderOf(t, ins)
	if leader == nil {
		t.Fatal("no leader")
	}
	local := pubsub.NewMailbox(4096)
	defer local.Close()
	if err := leader.cl.Source().SubscribeAll(local); err != nil {
		t.Fatal(err)
	}

	// PostgreSQL's own text of the inserted values, read before they
	// change.
	pgText := map[string]map[string]*string{}
	cols := []string{"f8", "f4", "num", "j", "js", "ia", "ua", "b", "t", "big"}
	for i, sql := range sameRowsWrites {
		run(sql)
		if i == 4 {
			rows, err := conn.Query(context.Background(),
				`SELECT id::text, f8::text, f4::text, num::text, j::text, js::text, ia::text, ua::text, b::text, t, big FROM vals`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id string
				vals := make([]*string, len(cols))
				dest := []any{&id}
				for j := range vals {
					dest = append(dest, &vals[j])
				}
				if err := rows.Scan(dest...); err != nil {
					t.Fatal(err)
				}
				pgText[id] = map[string]*string{}
				for j, c := range cols {
					pgText[id][c] = vals[j]
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(`INSERT INTO items VALUES (999, 'end')`)

	// What the leader's source published locally, up to the last insert.
	var want []pubsub.Event
	for {
		ev := next(t, local)
		if ev.Kind == pubsub.Resync {
			continue
		}
		want = append(want, ev)
		if ev.Table == "items" && ev.RowID == "999" {
			break
		}
	}
	if len(want) < len(sameRowsWrites)+1 {
		t.Fatalf("the leader's source published %d changes for %d statements", len(want), len(sameRowsWrites)+1)
	}
	checked := 0
	for i, in := range ins {
		for j, w := range want {
			ev := next(t, in.mb)
			for ev.Kind == pubsub.Resync {
				if ev.Reason != pubsub.ReasonStart {
					t.Fatalf("instance %d: Resync(%s) before change %d (%v)", i, ev.Reason, j, w)
				}
				ev = next(t, in.mb)
			}
			if diff := cluster.EventDiff(w, ev); diff != "" {
				t.Fatalf("instance %d, change %d (%v): %s", i, j, w, diff)
			}
			if diff := valuesDiff(w.New, ev.New) + valuesDiff(w.Old, ev.Old); diff != "" {
				t.Fatalf("instance %d, change %d (%v): typed values differ: %s", i, j, w, diff)
			}
			if ev.Operation != "INSERT" || ev.Table != "vals" {
				continue
			}
			id, _ := ev.New.Text("id")
			for _, c := range cols {
				text, ok := ev.New.Text(c)
				pgt := pgText[id][c]
				if ok != (pgt != nil) || ok && text != *pgt {
					t.Fatalf("instance %d: vals %s.%s is %q (present %v), PostgreSQL prints %v", i, id, c, text, ok, pgt)
				}
				checked++
			}
		}
	}
	if checked != 2*4*len(cols) {
		t.Fatalf("checked %d values against PostgreSQL, want %d", checked, 2*4*len(cols))
	}
	// Every row's state, unchanged TOAST included, went through: the
	// UPDATE that left big alone must have sent it so.
	sawToast := false
	for _, w := range want {
		if w.Operation == "UPDATE" && w.New.State("big") == pubsub.UnchangedTOAST {
			sawToast = true
		}
	}
	if !sawToast {
		t.Error("no unchanged-TOAST column in the workload: the test does not cover that state")
	}
}

// valuesDiff compares each column's typed value (Row.Value): the same Go
// type and value (printed with %#v, so that NaN equals NaN and -0 differs
// from 0), or the same error.
func valuesDiff(want, got *pubsub.Row) string {
	var diff string
	for _, name := range want.Names() {
		wv, werr := want.Value(name)
		gv, gerr := got.Value(name)
		w, g := fmt.Sprintf("%T %#v %v", wv, wv, werr), fmt.Sprintf("%T %#v %v", gv, gv, gerr)
		if w != g {
			diff += fmt.Sprintf("%s: want %s, got %s; ", name, w, g)
		}
	}
	return diff
}
