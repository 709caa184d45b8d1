package shapehttp

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// testRow builds a row of (id, status, note); nil means NULL, "\x00u" an
// unchanged TOASTed value.
func testRow(t *testing.T, vals ...*string) *pubsub.Row {
	t.Helper()
	layout, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "id", OID: 20}, {Name: "status", OID: 25}, {Name: "note", OID: 25}})
	if err != nil {
		t.Fatal(err)
	}
	cells := make([]pubsub.Cell, len(vals))
	for i, v := range vals {
		switch {
		case v == nil:
			cells[i] = pubsub.Cell{State: pubsub.Null}
		case *v == "\x00u":
			cells[i] = pubsub.Cell{State: pubsub.UnchangedTOAST}
		default:
			cells[i] = pubsub.Cell{State: pubsub.Present, Text: []byte(*v)}
		}
	}
	r, err := pubsub.NewRow(layout, cells)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sp(s string) *string { return &s }

var testCols = []column{{name: "id", typeName: "int8", pkIndex: 0}, {name: "status", typeName: "text", pkIndex: -1}, {name: "note", typeName: "text", pkIndex: -1}}

type testMsg struct {
	Key      string             `json:"key"`
	Value    map[string]*string `json:"value"`
	OldValue map[string]*string `json:"old_value"`
	Headers  map[string]any     `json:"headers"`
}

func decodeEntries(t *testing.T, es []entry) []testMsg {
	t.Helper()
	out := make([]testMsg, len(es))
	for i, e := range es {
		if err := json.Unmarshal(e.json, &out[i]); err != nil {
			t.Fatalf("%s: %v", e.json, err)
		}
	}
	return out
}

func TestShapeLogMessagesAndBounds(t *testing.T) {
	l := newShapeLog("public", "orders", testCols, false, 1<<20, time.Hour)
	l.load(change{kind: kindInsert, key: "1", row: testRow(t, sp("1"), sp("open"), sp("long text"))})
	l.loaded()
	now := time.Unix(1000, 0)
	l.commit([]change{
		{kind: kindUpdate, key: "1", row: testRow(t, sp("1"), sp("paid"), sp("\x00u")), lsn: 100, seq: 1},
		{kind: kindInsert, key: "2", row: testRow(t, sp("2"), nil, nil), lsn: 100, seq: 2},
	}, now)
	if l.head != (offset{100, 2}) {
		t.Fatalf("head %v, want 100_2: (LSN, Seq) of the last change", l.head)
	}
	es, upToDate, gone := l.after(offset{}, 1<<20)
	if gone || !upToDate || len(es) != 2 {
		t.Fatalf("after 0_0: %d entries, upToDate %v, gone %v", len(es), upToDate, gone)
	}
	msgs := decodeEntries(t, es)
	// The update carries the key and the changed column only; the
	// unchanged TOASTed note keeps its value in the rows.
	if msgs[0].Headers["operation"] != "update" || len(msgs[0].Value) != 2 || *msgs[0].Value["status"] != "paid" || msgs[0].Headers["offset"] != "100_1" {
		t.Errorf("update message %+v", msgs[0])
	}
	if got, _ := l.rows["1"].Text("note"); got != "long text" {
		t.Errorf("note after the update: %q", got)
	}
	if msgs[1].Headers["operation"] != "insert" || msgs[1].Value["status"] != nil || len(msgs[1].Value) != 3 {
		t.Errorf("insert message %+v", msgs[1])
	}
	// NOTIFY mode (LSN 0): offsets count on by 2 per transaction.
	l.commit([]change{{kind: kindDelete, key: "2"}}, now)
	if l.head != (offset{102, 0}) {
		t.Fatalf("head %v, want 102_0", l.head)
	}
	es, _, _ = l.after(offset{101, 0}, 1<<20)
	if m := decodeEntries(t, es); len(m) != 1 || m[0].Headers["operation"] != "delete" || len(m[0].Value) != 1 {
		t.Errorf("delete: %+v", m)
	}
	// The age bound drops the first transaction; an offset before it is
	// gone, one at the tail is not.
	l.maxAge = time.Minute
	l.commit([]change{{kind: kindInsert, key: "3", row: testRow(t, sp("3"), sp("x"), nil)}}, now.Add(2*time.Minute))
	if _, _, gone := l.after(offset{100, 0}, 1<<20); !gone {
		t.Error("an offset older than the log was served")
	}
	if es, _, gone := l.after(l.tail, 1<<20); gone || len(es) != 1 {
		t.Errorf("at the tail: %d entries, gone %v", len(es), gone)
	}
	// The byte bound keeps the log under it.
	l.maxBytes = 1
	l.commit([]change{{kind: kindInsert, key: "4", row: testRow(t, sp("4"), sp("y"), nil)}}, now.Add(2*time.Minute))
	if len(l.entries) != 0 || l.bytes != 0 || l.tail != l.head {
		t.Errorf("over the byte bound: %d entries, %d bytes, tail %v head %v", len(l.entries), l.bytes, l.tail, l.head)
	}
}

func TestShapeLogReplicaFull(t *testing.T) {
	l := newShapeLog("public", "orders", testCols, true, 1<<20, time.Hour)
	l.load(change{kind: kindInsert, key: "1", row: testRow(t, sp("1"), sp("open"), sp("n"))})
	l.loaded()
	l.commit([]change{{kind: kindUpdate, key: "1", row: testRow(t, sp("1"), sp("paid"), sp("n")), lsn: 7}}, time.Now())
	l.commit([]change{{kind: kindDelete, key: "1", lsn: 9}}, time.Now())
	m := decodeEntries(t, l.entries)
	if len(m[0].Value) != 3 || len(m[0].OldValue) != 1 || *m[0].OldValue["status"] != "open" {
		t.Errorf("full update %+v", m[0])
	}
	if len(m[1].Value) != 3 || *m[1].Value["status"] != "paid" {
		t.Errorf("full delete %+v", m[1])
	}
	if l.entries[1].off != (offset{9, 0}) {
		t.Errorf("second offset %v, want 9_0 (from the LSN)", l.entries[1].off)
	}
}

// TestShapeLogChunksEndBetweenTransactions: a chunk smaller than a
// transaction still carries all of it, and the next chunk starts with the
// next transaction.
func TestShapeLogChunksEndBetweenTransactions(t *testing.T) {
	l := newShapeLog("public", "orders", testCols, false, 1<<20, time.Hour)
	now := time.Unix(1000, 0)
	var tx1 []change
	for i := range 3 {
		k := string(rune('a' + i))
		tx1 = append(tx1, change{kind: kindInsert, key: k, row: testRow(t, sp(k), sp("open"), nil), lsn: 100, seq: uint64(i + 1)})
	}
	l.commit(tx1, now)
	l.commit([]change{{kind: kindInsert, key: "z", row: testRow(t, sp("z"), sp("open"), nil), lsn: 200, seq: 1}}, now)
	es, upToDate, _ := l.after(offset{}, 1)
	if len(es) != 3 || upToDate {
		t.Fatalf("first chunk: %d entries (up-to-date %v); want the whole first transaction, 3, and not up-to-date", len(es), upToDate)
	}
	es, upToDate, _ = l.after(es[2].off, 1)
	if len(es) != 1 || !upToDate || es[0].off.tx != 200 {
		t.Fatalf("second chunk: %d entries (up-to-date %v); want the second transaction", len(es), upToDate)
	}
}
