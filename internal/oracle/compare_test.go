package oracle_test

import (
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/oracle"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// records parses oracle lines with the positions given.
func records(t *testing.T, lines []string, lsns []uint64) []oracle.Record {
	t.Helper()
	recs := make([]oracle.Record, len(lines))
	for i, l := range lines {
		c, err := oracle.ParseChange(l)
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = oracle.Record{LSN: lsns[i], Xid: 7, Line: l, Change: c}
	}
	return recs
}

// row builds a row of columns id (int4) and v (text).
func row(t *testing.T, id, v pubsub.Cell) *pubsub.Row {
	t.Helper()
	l, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "id", OID: 23}, {Name: "v", OID: 25}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := pubsub.NewRow(l, []pubsub.Cell{id, v})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func present(s string) pubsub.Cell { return pubsub.Cell{State: pubsub.Present, Text: []byte(s)} }

// TestCompareFindsEachKind: one correct stream, then one fault at a time,
// each reported as its kind.
func TestCompareFindsEachKind(t *testing.T) {
	recs := records(t, []string{
		"BEGIN",
		"table public.t: INSERT: id[integer]:1 v[text]:'a''b'",
		"table public.t: UPDATE: old-key: id[integer]:1 new-tuple: id[integer]:2 v[text]:unchanged-toast-datum",
		"table public.t, public.u: TRUNCATE: cascade",
		"COMMIT",
		"BEGIN",
		"table public.t: DELETE: id[integer]:2",
		"table public.skip: INSERT: id[integer]:1",
		"COMMIT",
	}, []uint64{100, 110, 120, 130, 200, 300, 310, 320, 400})
	scope := oracle.NewScope(map[oracle.Relation]oracle.Relation{{"public", "t"}: {"public", "t"}, {"public", "u"}: {"public", "u"}})
	o := oracle.Options{Scope: scope, TypeNames: map[uint32]string{23: "integer", 25: "text"}}
	good := func() []pubsub.Event {
		ev := func(op string, seq, lsn uint64) pubsub.Event {
			return pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "t", Operation: pubsub.Operation(op), LSN: pubsub.LSN(lsn), Seq: seq}
		}
		ins := ev("INSERT", 1, 150)
		ins.New = row(t, present("1"), present("a'b"))
		upd := ev("UPDATE", 2, 150)
		upd.New = row(t, present("2"), pubsub.Cell{State: pubsub.UnchangedTOAST})
		upd.Old = row(t, present("1"), pubsub.Cell{})
		tr1, tr2 := ev("TRUNCATE", 3, 150), ev("TRUNCATE", 4, 150)
		tr1.Cascade, tr2.Cascade, tr2.Table = true, true, "u"
		del := ev("DELETE", 1, 350)
		del.Old = row(t, present("2"), pubsub.Cell{})
		return []pubsub.Event{{Kind: pubsub.Resync, Reason: pubsub.ReasonStart}, ins, upd, tr1, tr2, del}
	}
	if rep := oracle.Compare(recs, good(), o); !rep.OK() || rep.Compared != 5 || rep.Transactions != 2 {
		t.Fatalf("a faithful stream: %s", rep)
	}
	faults := []struct {
		kind   string
		mutate func(evs []pubsub.Event) []pubsub.Event
	}{
		{"text", func(e []pubsub.Event) []pubsub.Event { e[1].New = row(t, present("1"), present("a''b")); return e }},
		{"state", func(e []pubsub.Event) []pubsub.Event { e[2].New = row(t, present("2"), present("x")); return e }},
		{"type", func(e []pubsub.Event) []pubsub.Event {
			l, _ := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "id", OID: 20}, {Name: "v", OID: 25}})
			e[1].New, _ = pubsub.NewRow(l, []pubsub.Cell{present("1"), present("a'b")})
			return e
		}},
		{"old-extra", func(e []pubsub.Event) []pubsub.Event { e[5].Old = row(t, present("2"), present("v")); return e }},
		{"row", func(e []pubsub.Event) []pubsub.Event { e[2].Old = nil; return e }},
		{"lsn", func(e []pubsub.Event) []pubsub.Event { e[2].LSN = 151; return e }},
		{"lsn", func(e []pubsub.Event) []pubsub.Event { e[5].LSN = 150; return e }},
		{"lsn", func(e []pubsub.Event) []pubsub.Event { e[5].LSN = 500; return e }},
		{"seq", func(e []pubsub.Event) []pubsub.Event { e[2].Seq = 1; return e }},
		{"truncate-flags", func(e []pubsub.Event) []pubsub.Event { e[3].Cascade = false; return e }},
		{"table", func(e []pubsub.Event) []pubsub.Event { e[4].Table = "v"; return e }},
		{"sequence", func(e []pubsub.Event) []pubsub.Event { e[1], e[2] = e[2], e[1]; return e }},
		{"missing", func(e []pubsub.Event) []pubsub.Event { return e[:5] }},
		{"extra", func(e []pubsub.Event) []pubsub.Event { return append(e, e[5]) }},
		{"resync", func(e []pubsub.Event) []pubsub.Event {
			e[3] = pubsub.Event{Kind: pubsub.Resync, Reason: pubsub.ReasonOverflow}
			return e
		}},
	}
	for _, f := range faults {
		rep := oracle.Compare(recs, f.mutate(good()), o)
		if rep.Counts()[f.kind] == 0 {
			t.Errorf("fault %q not reported: %s", f.kind, rep)
		}
	}
}
