package cluster

import (
	"reflect"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// A transaction's end mark rides on the body of its last changes as flag
// 0x02, or goes alone on <prefix>._commit; either decodes to the changes
// and then the end mark (no table, no Seq).
func TestBatchTxnEnd(t *testing.T) {
	evs := batchEvents(t)
	end := pubsub.Event{Kind: pubsub.Committed, LSN: evs[0].LSN, Xid: evs[0].Xid, CommitTime: evs[0].CommitTime, Seq: 9, Count: 5}
	var enc encoder
	_, plain, err := enc.encodeBatch("pre", evs)
	if err != nil {
		t.Fatal(err)
	}
	subject, body, err := enc.encodeBatch("pre", append(evs, end))
	if err != nil {
		t.Fatal(err)
	}
	if subject != changeSubject("pre", "public", "items") || len(body) != len(plain) || body[2] != v3CommitTime|v3TxnEnd {
		t.Fatalf("subject %q, %d bytes (without the end %d), flags %#x", subject, len(body), len(plain), body[2])
	}
	want := endMark(&end)
	var dec decoder
	got, err := dec.decodeAll(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs)+1 || !reflect.DeepEqual(got[len(evs)], want) || eventDiff(got[0], evs[0]) != "" {
		t.Fatalf("decoded %d events, last %+v", len(got), got[len(got)-1])
	}
	subject, body, err = enc.encodeBatch("pre", []pubsub.Event{end})
	if err != nil {
		t.Fatal(err)
	}
	if subject != commitSubject("pre") {
		t.Fatalf("an end alone goes to %q", subject)
	}
	if got, err = dec.decodeAll(nil, body); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("an end alone decodes to %+v, %v", got, err)
	}
	tableMark := end
	tableMark.Schema, tableMark.Table = "public", "items"
	otherTxn := end
	otherTxn.LSN++
	for name, b := range map[string][]pubsub.Event{
		"a table's mark":               {tableMark},
		"a mark of another txn":        append(evs[:1:1], otherTxn),
		"a mark in the middle":         {evs[0], end, evs[1]},
		"a mark without LSN":           {{Kind: pubsub.Committed}},
		"a mark after a message":       {{Kind: pubsub.Message, LSN: end.LSN}, end},
		"a mark after a NOTIFY change": {{Kind: pubsub.TableChanged, Schema: "s", Table: "t"}, {Kind: pubsub.Committed}},
	} {
		if _, _, err := enc.encodeBatch("p", b); err == nil {
			t.Fatalf("%s: encoded", name)
		}
	}
	for name, bad := range map[string][]byte{
		"an end on a message":       {bodyV3, 3, v3TxnEnd, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0},
		"an end without LSN":        {bodyV3, 1, v3TxnEnd, 0, 0, 0, 0, 0},
		"an end alone with a table": {bodyV3, 1, v3TxnEnd, 1, 's', 1, 't', 1, 0, 0},
		"an end alone, trailing":    {bodyV3, 1, v3TxnEnd, 0, 0, 1, 0, 0, 0},
	} {
		if evs, err := dec.decodeAll(nil, bad); err == nil {
			t.Fatalf("%s: accepted as %+v", name, evs)
		}
	}
}

// A follower's marks: per table it handed changes of over, then one for
// TopicAll, Seq after the last change; a transaction whose end never
// came ends when another starts; nothing for what only carried messages.
func TestFollowerMarks(t *testing.T) {
	var m txnMarks
	ch := func(lsn pubsub.LSN, table string, seq uint64) *pubsub.Event {
		return &pubsub.Event{Kind: pubsub.TableChanged, Schema: "s", Table: table, LSN: lsn, Seq: seq, Xid: uint32(lsn)}
	}
	for _, ev := range []*pubsub.Event{ch(10, "a", 1), ch(10, "b", 2), {Kind: pubsub.Message, LSN: 10, Seq: 3}, ch(10, "a", 4)} {
		if m.note(ev) {
			t.Fatalf("%v started another transaction", ev)
		}
	}
	if m.end(9) != nil {
		t.Fatal("marks for another transaction")
	}
	got := m.end(10)
	want := []pubsub.Event{
		{Kind: pubsub.Committed, Schema: "s", Table: "a", LSN: 10, Xid: 10, Seq: 5, Count: 2},
		{Kind: pubsub.Committed, Schema: "s", Table: "b", LSN: 10, Xid: 10, Seq: 6, Count: 1},
		{Kind: pubsub.Committed, LSN: 10, Xid: 10, Seq: 7, Count: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("marks %+v", got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("mark %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if m.end(10) != nil {
		t.Fatal("marks twice")
	}
	m.note(ch(20, "a", 1))
	if !m.note(ch(30, "a", 1)) {
		t.Fatal("a change of another transaction did not end the open one")
	}
	if got := m.end(0); len(got) != 2 || got[0].LSN != 20 || got[1].Count != 1 {
		t.Fatalf("marks of the unended transaction: %+v", got)
	}
	if m.note(ch(30, "a", 1)); m.end(30) == nil {
		t.Fatal("no marks for the next transaction")
	}
	m.note(&pubsub.Event{Kind: pubsub.Message, LSN: 40, Seq: 1})
	if m.end(40) != nil {
		t.Fatal("marks for a transaction of messages only")
	}
}
