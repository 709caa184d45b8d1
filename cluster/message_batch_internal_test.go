package cluster

import (
	"bytes"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// batchEvents are the changes of one transaction to one table as the WAL
// source hands them over: an insert, an update with its old key, an
// update with REPLICA IDENTITY FULL's old row, a delete, with Xid, commit
// time and a gap in Seq (a message of the transaction in between).
func batchEvents(t testing.TB) []pubsub.Event {
	ct := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	l, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "id", OID: 20}, {Name: "name", OID: 25}, {Name: "d", OID: 90001, DecodeOID: 23}})
	if err != nil {
		t.Fatal(err)
	}
	base := pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "items", LSN: 0x16B3748, Xid: 4000000123, CommitTime: ct}
	evs := []pubsub.Event{base, base, base, base, base}
	evs[0].Operation, evs[0].RowID, evs[0].Seq, evs[0].New = "INSERT", "1", 1, testRowOf(t, l, "p:1", "n", "p:5")
	evs[1].Operation, evs[1].RowID, evs[1].Seq = "UPDATE", "1", 2
	evs[1].New, evs[1].Old = testRowOf(t, l, "p:1", "p:é 😀", "u"), testRowOf(t, l, "p:1", "a", "a")
	evs[2].Operation, evs[2].RowID, evs[2].Seq = "UPDATE", "2", 4
	evs[2].New, evs[2].Old = testRowOf(t, l, "p:2", "p:", "n"), testRowOf(t, l, "p:2", "p:x", "p:-1")
	evs[3].Operation, evs[3].RowID, evs[3].Seq, evs[3].Old = "DELETE", "2", 5, testRowOf(t, l, "p:2", "a", "a")
	evs[4].Operation, evs[4].Seq, evs[4].Cascade, evs[4].RestartIdentity = "TRUNCATE", 6, true, true
	return evs
}

// A batch decodes to the events it was made of, field by field (Xid
// included), with the subject of their table; the row layout is written
// once, so the body is smaller than the events' single bodies together.
func TestBatchRoundTrip(t *testing.T) {
	evs := batchEvents(t)
	var enc encoder
	subject, body, err := enc.encodeBatch("pre", evs)
	if err != nil {
		t.Fatal(err)
	}
	if subject != changeSubject("pre", "public", "items") || body[0] != bodyV3 {
		t.Fatalf("subject %q, format %#x", subject, body[0])
	}
	singles := 0
	for _, ev := range evs {
		_, b, err := encodeEvent("pre", ev)
		if err != nil {
			t.Fatal(err)
		}
		singles += len(b)
	}
	if len(body) >= singles*2/3 {
		t.Fatalf("the batch takes %d bytes, its events alone %d", len(body), singles)
	}
	var dec decoder
	for _, d := range []*decoder{{}, &dec, &dec} { // a fresh decoder and one with a cache
		got, err := d.decodeAll(nil, body)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(evs) {
			t.Fatalf("%d events, want %d", len(got), len(evs))
		}
		for i := range evs {
			if diff := eventDiff(evs[i], got[i]); diff != "" {
				t.Fatalf("event %d: %s", i, diff)
			}
			if got[i].Xid != evs[i].Xid {
				t.Fatalf("event %d: Xid %d, want %d", i, got[i].Xid, evs[i].Xid)
			}
		}
		if got[0].New.Layout() != got[3].Old.Layout() {
			t.Fatal("the rows of one batch do not share their layout")
		}
	}
	// decode takes a body of one event only.
	if _, err := dec.decode(body); err == nil {
		t.Fatal("decode accepted a batch")
	}
	// decodeAll appends, and leaves dst as it was on an error.
	dst := []pubsub.Event{{Kind: pubsub.Resync}}
	if dst, err = dec.decodeAll(dst, body[:len(body)-1]); err == nil || len(dst) != 1 {
		t.Fatalf("a truncated batch: %v, %d events", err, len(dst))
	}
	// Every single event (Xid included) round-trips in format 3.
	for _, ev := range append(roundTripEvents(t), pubsub.Event{Kind: pubsub.TableChanged, Schema: "s", Table: "t", Xid: 7}) {
		_, b, err := encodeEvent("pre", ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec.decode(b)
		if err != nil {
			t.Fatalf("%v: %v", ev, err)
		}
		if diff := eventDiff(ev, got); diff != "" || got.Xid != ev.Xid {
			t.Fatalf("%v: %s (Xid %d)", ev, diff, got.Xid)
		}
	}
}

// encodeBatch takes only changes of one transaction and table, in Seq
// order, or one Resync or message alone.
func TestEncodeBatchRejects(t *testing.T) {
	evs := batchEvents(t)
	other := func(f func(*pubsub.Event)) []pubsub.Event {
		b := append([]pubsub.Event(nil), evs[:2]...)
		f(&b[1])
		return b
	}
	for name, b := range map[string][]pubsub.Event{
		"none":        nil,
		"table":       other(func(e *pubsub.Event) { e.Table = "other" }),
		"schema":      other(func(e *pubsub.Event) { e.Schema = "other" }),
		"LSN":         other(func(e *pubsub.Event) { e.LSN++ }),
		"Xid":         other(func(e *pubsub.Event) { e.Xid++ }),
		"commit time": other(func(e *pubsub.Event) { e.CommitTime = e.CommitTime.Add(time.Microsecond) }),
		"Seq back":    other(func(e *pubsub.Event) { e.Seq = 0 }),
		"Resync":      other(func(e *pubsub.Event) { *e = pubsub.Event{Kind: pubsub.Resync} }),
		"message":     {{Kind: pubsub.Message, Prefix: "p"}, {Kind: pubsub.Message, Prefix: "p"}},
		"two Resyncs": {{Kind: pubsub.Resync}, {Kind: pubsub.Resync}},
	} {
		var e encoder
		if _, _, err := e.encodeBatch("p", b); err == nil {
			t.Fatalf("%s: encoded", name)
		}
	}
}

func TestDecodeBatchRejects(t *testing.T) {
	var e encoder
	_, good, err := e.encodeBatch("p", batchEvents(t)[:2])
	if err != nil {
		t.Fatal(err)
	}
	hdr := []byte{bodyV3, 1, 0, 1, 's', 1, 't', 0, 0}
	with := func(tail ...byte) []byte { return append(append([]byte{}, hdr...), tail...) }
	for _, bad := range [][]byte{
		{bodyV3}, {bodyV3, 9}, {bodyV3, 1}, {bodyV3, 1, 0x80}, {bodyV3, 2}, {bodyV3, 2, 1, 'x', 0},
		append(append([]byte{}, good...), 0), good[:len(good)-1],
		with(0),                    // no changes
		with(2, 0, 0, 0, 0),        // two changes announced, one there
		with(1, 0x80, 0, 0, 0),     // unknown change flags
		with(1, v3Old, 0, 0, 0, 0), // a row pointing at an earlier row's layout, none there
		with(1, v3New, 0, 0, 0, 5, 1, 1, 'a', 25, 0, 7),                                // a column state that does not exist
		{bodyV3, 1, 0, 0, 1, 't', 0, 0, 1, 0, 0, 0, 0},                                 // a change without a schema
		{bodyV3, 1, 0, 1, 's', 1, 't', 0, 0x80, 0x80, 0x80, 0x80, 0x10, 1, 0, 0, 0, 0}, // an Xid past 32 bits
		{bodyV3, 3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0},                    // a message of two events
	} {
		var d decoder
		if evs, err := d.decodeAll(nil, bad); err == nil {
			t.Fatalf("%q was accepted as %+v", bad, evs)
		}
	}
	var d decoder
	if evs, err := d.decodeAll(nil, with(1, 0, 0, 0, 0)); err != nil || len(evs) != 1 {
		t.Fatalf("a hand-written body: %v, %v", evs, err)
	}
}

// A batch written by hand as docs/cluster.md's example shows it decodes to
// the events the example names.
func TestDocumentedBatch(t *testing.T) {
	body := []byte{
		0x04, 0x01, 0x01, // format 3, changes, flags: commit time
		0x06, 'p', 'u', 'b', 'l', 'i', 'c', 0x05, 'i', 't', 'e', 'm', 's',
		0xc8, 0xee, 0xac, 0x0b, 0xe7, 0x07, // LSN 0x16B3748, Xid 999
		0xca, 0xd6, 0xb9, 0x95, 0x0d, 0xf0, 0x2e, // commit time
		0x02,                                                      // two changes
		0x02, 0x06, 'I', 'N', 'S', 'E', 'R', 'T', 0x01, '1', 0x01, // new row, INSERT, row id "1", Seq 1
		0x0d, 0x02, 0x02, 'i', 'd', 0x14, 0x00, 0x04, 'n', 'a', 'm', 'e', 0x19, 0x00,
		0x02, 0x01, '1', 0x01, // id "1", name NULL
		0x02, 0x06, 'I', 'N', 'S', 'E', 'R', 'T', 0x01, '2', 0x01, // new row, INSERT, row id "2", Seq 2
		0x00,                             // the layout of the row before
		0x02, 0x01, '2', 0x02, 0x01, 'b', // id "2", name "b"
	}
	var d decoder
	evs, err := d.decodeAll(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	ct := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	for i, ev := range evs {
		if ev.String() != "public.items:INSERT:"+string(rune('1'+i)) || ev.LSN != 0x16B3748 || ev.Xid != 999 ||
			ev.Seq != uint64(i+1) || !ev.CommitTime.Equal(ct) {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if m := evs[1].New.Map(); m["id"] != int64(2) || m["name"] != "b" {
		t.Fatalf("second row %v", m)
	}
	if s, _ := evs[0].New.At(1); s != pubsub.Null {
		t.Fatalf("first row's name %v", s)
	}
	// The encoder writes these bytes.
	var e encoder
	if _, again, err := e.encodeBatch("p", evs); err != nil || !bytes.Equal(again, body) {
		t.Fatalf("re-encoded as % x (%v)", again, err)
	}
}
