package cluster

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// testRow builds a row of cols (name/OID pairs) with cells given as
// "state:text" ("p:42", "n", "a", "u").
func testRow(t testing.TB, cols []pubsub.ColumnType, cells ...string) *pubsub.Row {
	t.Helper()
	l, err := pubsub.NewRowLayout(cols)
	if err != nil {
		t.Fatal(err)
	}
	return testRowOf(t, l, cells...)
}

func testRowOf(t testing.TB, l *pubsub.RowLayout, cells ...string) *pubsub.Row {
	t.Helper()
	cs := make([]pubsub.Cell, len(cells))
	for i, c := range cells {
		switch {
		case strings.HasPrefix(c, "p:"):
			cs[i] = pubsub.Cell{State: pubsub.Present, Text: []byte(c[2:])}
		case c == "n":
			cs[i].State = pubsub.Null
		case c == "u":
			cs[i].State = pubsub.UnchangedTOAST
		case c == "a":
			cs[i].State = pubsub.Absent
		default:
			t.Fatalf("cell %q", c)
		}
	}
	r, err := pubsub.NewRow(l, cs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// roundTripEvents are events with every field a stream message carries.
func roundTripEvents(t testing.TB) []pubsub.Event {
	ct := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	cols := []pubsub.ColumnType{
		{Name: "id", OID: 20}, {Name: "f", OID: 701}, {Name: "n", OID: 1700}, {Name: "j", OID: 3802},
		{Name: "big", OID: 25}, {Name: "d", OID: 90001, DecodeOID: 23}, {Name: "Mixed Case é", OID: 0},
	}
	l, err := pubsub.NewRowLayout(cols)
	if err != nil {
		t.Fatal(err)
	}
	newRow := testRowOf(t, l, "p:7", "p:NaN", "p:123456789012345678901234567890.000000000001", `p:{"a": 12345678901234567890, "b": null}`, "u", "p:-0", "p:😀 \"q\" \\")
	oldRow := testRowOf(t, l, "p:7", "p:-Infinity", "n", "p:null", "p:"+strings.Repeat("x", 300), "n", "p:")
	keyRow := testRowOf(t, l, "p:7", "a", "a", "a", "a", "a", "a")
	other := testRow(t, []pubsub.ColumnType{{Name: "id", OID: 23}}, "p:1")
	empty := testRow(t, nil)
	return []pubsub.Event{
		{Kind: pubsub.TableChanged, Schema: "s.x", Table: "t y", Operation: "UPDATE", RowID: "7", LSN: 99, Seq: 3,
			CommitTime: ct, New: newRow, Old: oldRow},
		{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: "DELETE", RowID: "7", LSN: 1 << 40, Seq: 1, Old: keyRow},
		{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: "UPDATE", New: newRow, Old: other},
		{Kind: pubsub.TableChanged, Schema: "public", Table: "empty", Operation: "INSERT", New: empty, Old: empty},
		{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: "TRUNCATE", LSN: 5, Seq: 2, Cascade: true, RestartIdentity: true, CommitTime: ct},
		{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: "INSERT", RowID: "1"}, // NOTIFY
		{Kind: pubsub.Message, Prefix: "outbox", Content: []byte{0, 1, 2, 0xff}, LSN: 77, Seq: 4, CommitTime: ct},
		{Kind: pubsub.Message, Prefix: "", LSN: 78, Seq: 1},
		{Kind: pubsub.Resync, Reason: pubsub.ReasonListen},
		{Kind: pubsub.Resync},
	}
}

func TestEventRoundTrip(t *testing.T) {
	var enc encoder
	var dec decoder
	for _, ev := range roundTripEvents(t) {
		subject, body, err := enc.encode("pre", ev)
		if err != nil {
			t.Fatal(err)
		}
		if body[0] != bodyV2 {
			t.Fatalf("format %#x", body[0])
		}
		for _, d := range []*decoder{{}, &dec} { // a fresh decoder and one with a cache
			got, err := d.decode(body)
			if err != nil {
				t.Fatalf("%v: %v", ev, err)
			}
			if diff := eventDiff(ev, got); diff != "" {
				t.Fatalf("round trip of %v: %s", ev, diff)
			}
		}
		var wantSubject string
		switch ev.Kind {
		case pubsub.Resync:
			wantSubject = resyncSubject("pre")
		case pubsub.Message:
			wantSubject = messageSubject("pre", ev.Prefix)
		default:
			wantSubject = changeSubject("pre", ev.Schema, ev.Table)
		}
		if subject != wantSubject {
			t.Fatalf("subject %q, want %q", subject, wantSubject)
		}
	}
	// A zero Kind is a change.
	_, body, err := encodeEvent("p", pubsub.Event{Schema: "s", Table: "t", Operation: "INSERT"})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := decodeEvent(body); err != nil || ev.Kind != pubsub.TableChanged {
		t.Fatalf("%+v, %v", ev, err)
	}
	if _, _, err := encodeEvent("p", pubsub.Event{Kind: 9}); err == nil {
		t.Fatal("an unknown kind was encoded")
	}
}

// Rows of one table decoded one after another share one layout, and a
// decoder with a warm cache allocates only the row and its row id.
func TestDecoderSharesLayouts(t *testing.T) {
	evs := roundTripEvents(t)
	_, b1, _ := encodeEvent("p", evs[0])
	_, b2, _ := encodeEvent("p", evs[2])
	var d decoder
	e1, err1 := d.decode(b1)
	e2, err2 := d.decode(b2)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if e1.New.Layout() != e2.New.Layout() || e1.New.Layout() != e1.Old.Layout() {
		t.Fatal("rows of one layout do not share it")
	}
	if e2.Old.Layout() == e2.New.Layout() {
		t.Fatal("rows of two layouts share one")
	}
	ins := pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: "INSERT", RowID: "7",
		LSN: 9, Seq: 1, CommitTime: time.Now(), New: evs[0].New}
	_, body, _ := encodeEvent("p", ins)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := d.decode(body); err != nil {
			t.Fatal(err)
		}
	})
	// NewRow's three, the row id's one.
	if allocs > 4 {
		t.Fatalf("decode allocates %v times per change, want at most 4", allocs)
	}
	var e encoder
	allocs = testing.AllocsPerRun(100, func() {
		if _, _, err := e.encode("p", ins); err != nil {
			t.Fatal(err)
		}
	})
	// The body's one, the subject's one.
	if allocs > 2 {
		t.Fatalf("encode allocates %v times per change, want at most 2", allocs)
	}
	// The cache is bounded.
	for i := range 3 * maxLayouts {
		var key []byte
		key = binary.AppendUvarint(key, 1)
		key = appendString(key, "c"+strings.Repeat("x", i))
		key = append(key, 25, 0)
		var r reader
		d.layout(&r, key)
		if r.err != nil {
			t.Fatal(r.err)
		}
	}
	if len(d.layouts) > maxLayouts {
		t.Fatalf("%d layouts cached", len(d.layouts))
	}
}

// Bodies written by earlier releases, byte for byte as they wrote them.
var (
	v1Change = []byte("\x01\a\x06public\x05items\x06UPDATE\x011\xc8\xee\xac\v\xcaֹ\x95\r\xf0.\xa9\x01{\"b\":true,\"big\":123456789012345678901234567890,\"bytes\":\"AAH/\",\"c\":false,\"f\":1.5,\"id\":1,\"j\":{\"a\":null,\"b\":[1,2]},\"n\":null,\"s\":\"x\\\"y é\",\"t\":\"2026-01-02T03:04:05.000006Z\"}\b{\"id\":1}")
	v1Resync = []byte("\x02\x06listen")
	v1Delete = []byte("\x01\x04\x01s\x01t\x06DELETE\x00\x00\n{\"id\":\"7\"}")
	jsonBody = []byte(`{"schema":"public","table":"items","op":"INSERT","row_id":"1","lsn":5,"commit_time":"2026-01-02T03:04:05.000006Z","new":{"a":1,"n":null,"o":{"x": [1, 2.50]},"s":"é","t":true},"old":null}`)
)

// Format 1 and JSON bodies still decode, their JSON values as Rows of
// unknown types: a number's literal, a string's value, t/f, nested JSON's
// text, null as Null.
func TestDecodeEarlierFormats(t *testing.T) {
	ct := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	unknown := func(names ...string) []pubsub.ColumnType {
		var cols []pubsub.ColumnType
		for _, n := range names {
			cols = append(cols, pubsub.ColumnType{Name: n})
		}
		return cols
	}
	for _, tc := range []struct {
		name string
		body []byte
		want pubsub.Event
	}{
		{"format 1 change", v1Change, pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: "UPDATE",
			RowID: "1", LSN: 0x16B3748, CommitTime: ct,
			New: testRow(t, unknown("b", "big", "bytes", "c", "f", "id", "j", "n", "s", "t"),
				"p:t", "p:123456789012345678901234567890", "p:AAH/", "p:f", "p:1.5", "p:1", `p:{"a":null,"b":[1,2]}`, "n",
				`p:x"y é`, "p:2026-01-02T03:04:05.000006Z"),
			Old: testRow(t, unknown("id"), "p:1")}},
		{"format 1 resync", v1Resync, pubsub.Event{Kind: pubsub.Resync, Reason: "listen"}},
		{"format 1 delete", v1Delete, pubsub.Event{Kind: pubsub.TableChanged, Schema: "s", Table: "t", Operation: "DELETE",
			Old: testRow(t, unknown("id"), "p:7")}},
		{"JSON", jsonBody, pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: "INSERT",
			RowID: "1", LSN: 5, CommitTime: ct,
			New: testRow(t, unknown("a", "n", "o", "s", "t"), "p:1", "n", `p:{"x": [1, 2.50]}`, "p:é", "p:t")}},
		{"JSON resync", []byte(`{"resync":true,"reason":"listen"}`), pubsub.Event{Kind: pubsub.Resync, Reason: "listen"}},
	} {
		got, err := decodeEvent(tc.body)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := eventDiff(tc.want, got); diff != "" {
			t.Fatalf("%s: %s", tc.name, diff)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	_, good, _ := encodeEvent("p", roundTripEvents(t)[0])
	for _, bad := range [][]byte{
		nil, {0x09}, {bodyChangeV1}, {bodyChangeV1, 0x80}, {bodyV2}, {bodyV2, 9}, {bodyV2, 1}, {bodyV2, 1, 0x80},
		append(append([]byte{}, good...), 0), good[:len(good)-1],
		[]byte(`{"op":"INSERT"}`),
		[]byte(`{"schema":"s","table":"t","new":{"":1}}`),
		[]byte(`{"schema":"s","table":"t","new":[1]}`),
		// A change without a table; an old row pointing at a new row that
		// is not there; a column state that does not exist.
		{bodyV2, 1, 0, 1, 's', 0, 0, 0, 0, 0},
		{bodyV2, 1, v2Old, 1, 's', 1, 't', 0, 0, 0, 0, 0},
		{bodyV2, 1, v2New, 1, 's', 1, 't', 0, 0, 0, 0, 5, 1, 1, 'a', 25, 0, 7},
		// Two columns named alike.
		{bodyV2, 1, v2New, 1, 's', 1, 't', 0, 0, 0, 0, 9, 2, 1, 'a', 25, 0, 1, 'a', 25, 0, 1, 1},
	} {
		if ev, err := decodeEvent(bad); err == nil {
			t.Fatalf("%q was accepted as %+v", bad, ev)
		}
	}
	if _, err := decodeEvent([]byte{bodyV2, 1, v2New, 1, 's', 1, 't', 0, 0, 0, 0, 5, 1, 1, 'a', 25, 0, 2, 1, 'x'}); err != nil {
		t.Fatalf("a hand-written body was refused: %v", err)
	}
}

// FuzzDecodeEvent: decodeAll never panics, what it accepts are
// Resyncs, messages, transaction ends or changes with a schema and a
// table, a batch's events batch with each other (but for an end last), and their format 3 encoding decodes to
// equal events (rows column by column: names, types, states, texts; Xid).
func FuzzDecodeEvent(f *testing.F) {
	for _, b := range [][]byte{v1Change, v1Resync, v1Delete, jsonBody, []byte(`{"resync":true,"reason":"listen"}`),
		[]byte(`{"schema":"","table":"x"}`)} {
		f.Add(b)
	}
	for _, ev := range roundTripEvents(f) {
		_, body, err := encodeEvent("p", ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
		var e encoder
		if _, body, err = e.encode("p", ev); err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	evs := batchEvents(f)
	end := pubsub.Event{Kind: pubsub.Committed, LSN: evs[0].LSN, Xid: evs[0].Xid, CommitTime: evs[0].CommitTime}
	for _, b := range [][]pubsub.Event{evs, evs[1:3], evs[3:], append(evs[3:4:4], end), {end}} {
		var e encoder
		_, body, err := e.encodeBatch("p", b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var d decoder
		evs, err := d.decodeAll(nil, body)
		if err != nil {
			if len(evs) != 0 {
				t.Fatalf("%d events with an error", len(evs))
			}
			return
		}
		if len(evs) == 0 {
			t.Fatal("no events and no error")
		}
		for i, ev := range evs {
			if ev.Kind == pubsub.TableChanged && (ev.Schema == "" || ev.Table == "") || ev.Kind == 0 {
				t.Fatalf("accepted %+v", ev)
			}
			if i > 0 && !batchable(&evs[i-1], &evs[i]) && (i < len(evs)-1 || !endsTxn(&evs[i-1], &evs[i])) {
				t.Fatalf("a body of events that do not batch: %+v after %+v", evs[i], evs[i-1])
			}
		}
		var e encoder
		_, again, err := e.encodeBatch("p", evs)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", evs, err)
		}
		for _, d := range []*decoder{{}, &d} {
			evs2, err := d.decodeAll(nil, again)
			if err != nil {
				t.Fatalf("%+v re-encoded: %v", evs, err)
			}
			if len(evs2) != len(evs) {
				t.Fatalf("%d events re-encoded decode as %d", len(evs), len(evs2))
			}
			for i := range evs {
				if diff := eventDiff(evs[i], evs2[i]); diff != "" || evs[i].Xid != evs2[i].Xid {
					t.Fatalf("%+v re-encoded decodes otherwise: %s (Xid %d, %d)", evs[i], diff, evs[i].Xid, evs2[i].Xid)
				}
			}
		}
		// The encoding is canonical: what it wrote re-encodes to the same
		// bytes (an input may differ, say with a DecodeOID written out
		// where the encoder writes 0).
		evs2, _ := d.decodeAll(nil, again)
		if _, third, _ := e.encodeBatch("p", evs2); !bytes.Equal(again, third) {
			t.Fatalf("%q re-encodes as %q", again, third)
		}
	})
}

// benchEvent is a typical WAL insert: a five-column row.
func benchEvent(b testing.TB) pubsub.Event {
	cols := []pubsub.ColumnType{{Name: "id", OID: 20}, {Name: "uuid", OID: 2950}, {Name: "name", OID: 25},
		{Name: "price", OID: 1700}, {Name: "created_at", OID: 1184}}
	return pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "items", Operation: "INSERT", RowID: "12345",
		LSN: 0x1A2B3C4D, Seq: 1, CommitTime: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		New: testRow(b, cols, "p:12345", "p:0b6f1c9e-3f43-4c1e-9a57-5f0e3c1b2a77", "p:a name of some length", "p:123.45",
			"p:2026-01-02 03:04:05.000006+00")}
}

func BenchmarkEncodeEvent(b *testing.B) {
	ev := benchEvent(b)
	var e encoder
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = e.encode("phoenixkitdb", ev)
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	_, body, _ := encodeEvent("phoenixkitdb", benchEvent(b))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	var d decoder
	for b.Loop() {
		if _, err := d.decode(body); err != nil {
			b.Fatal(err)
		}
	}
}
