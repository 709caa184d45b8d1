package pubsub_test

import (
	"errors"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// markedTxn returns a transaction's events as the WAL source hands them over:
// its changes, then a mark per table touched and one for TopicAll.
func markedTxn(lsn pubsub.LSN, tables ...string) []pubsub.Event {
	var evs []pubsub.Event
	counts := map[string]uint32{}
	var order []string
	for i, tb := range tables {
		ev := change(tb, pubsub.Insert, "1")
		ev.LSN, ev.Seq = lsn, uint64(i+1)
		evs = append(evs, ev)
		if counts[tb] == 0 {
			order = append(order, tb)
		}
		counts[tb]++
	}
	seq := uint64(len(tables))
	for _, tb := range order {
		seq++
		evs = append(evs, pubsub.Event{Kind: pubsub.Committed, Schema: "public", Table: tb, LSN: lsn, Seq: seq, Count: counts[tb]})
	}
	seq++
	return append(evs, pubsub.Event{Kind: pubsub.Committed, LSN: lsn, Seq: seq, Count: uint32(len(tables))})
}

func kinds(evs []pubsub.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == pubsub.Committed {
			out = append(out, ev.Kind.String()+":"+ev.Table)
			continue
		}
		out = append(out, ev.Table)
	}
	return out
}

// TestCommittedOptIn: only a mailbox made WithCommits receives marks,
// one per topic it holds that the transaction touched, after the
// transaction's changes; a plain mailbox receives exactly the changes.
func TestCommittedOptIn(t *testing.T) {
	ps := newPubSub(t)
	plain := pubsub.NewMailbox(64)
	marksA := pubsub.NewMailbox(64, pubsub.WithCommits())
	marksAll := pubsub.NewMailbox(64, pubsub.WithCommits())
	marksBoth := pubsub.NewMailbox(64, pubsub.WithCommits())
	for _, mb := range []*pubsub.Mailbox{plain, marksA, marksAll, marksBoth} {
		t.Cleanup(mb.Close)
	}
	must(t, ps.SubscribeTable(plain, "public", "a"))
	must(t, ps.Subscribe(plain, pubsub.TopicAll()))
	must(t, ps.SubscribeTable(marksA, "public", "a"))
	must(t, ps.Subscribe(marksAll, pubsub.TopicAll()))
	must(t, ps.SubscribeTable(marksBoth, "public", "a"))
	must(t, ps.SubscribeTable(marksBoth, "public", "b"))

	evs := append(markedTxn(10, "a", "b", "a"), markedTxn(20, "c")...)
	must(t, ps.BroadcastChanges(evs))

	check := func(name string, mb *pubsub.Mailbox, want ...string) {
		t.Helper()
		got := kinds(drain(mb))
		if len(got) != len(want) {
			t.Fatalf("%s: got %q, want %q", name, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: got %q, want %q", name, got, want)
			}
		}
	}
	check("plain", plain, "a", "a", "b", "a", "a", "c")
	check("marksA", marksA, "a", "a", "Committed:a")
	check("marksAll", marksAll, "a", "b", "a", "Committed:", "c", "Committed:")
	check("marksBoth", marksBoth, "a", "b", "a", "Committed:a", "Committed:b")
	if st := ps.Stats(); st.Published != 4 {
		t.Fatalf("Published = %d, want the 4 changes (marks are not counted)", st.Published)
	}
}

// TestCommittedValidation: a mark needs both schema and table, or
// neither; Broadcast takes no mark.
func TestCommittedValidation(t *testing.T) {
	ps := newPubSub(t)
	for _, ev := range []pubsub.Event{
		{Kind: pubsub.Committed, Schema: "public"},
		{Kind: pubsub.Committed, Table: "a"},
	} {
		if err := ps.BroadcastChanges([]pubsub.Event{ev}); !errors.Is(err, pubsub.ErrInvalidEvent) {
			t.Fatalf("%v: err = %v, want ErrInvalidEvent", ev, err)
		}
	}
	if err := ps.Broadcast(pubsub.TopicAll(), pubsub.Event{Kind: pubsub.Committed}); !errors.Is(err, pubsub.ErrInvalidEvent) {
		t.Fatalf("Broadcast of a mark: err = %v, want ErrInvalidEvent", err)
	}
}

// TestCommittedAckRoom: an ack mailbox's room counts the marks it takes,
// and acknowledging a mark acknowledges the transaction.
func TestCommittedAckRoom(t *testing.T) {
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(3, pubsub.WithAck(), pubsub.WithCommits())
	t.Cleanup(mb.Close)
	must(t, ps.SubscribeTable(mb, "public", "a"))
	evs := markedTxn(10, "a", "a", "a") // 3 changes, a mark for a, one for all
	n, bp, err := ps.BroadcastChangesAcked(evs)
	must(t, err)
	if n != 3 || bp == nil {
		t.Fatalf("n = %d, bp = %v: want the 3 changes delivered and the mark held back", n, bp)
	}
	got := drain(mb)
	must(t, mb.Ack(got[len(got)-1]))
	n, bp, err = ps.BroadcastChangesAcked(evs[n:])
	must(t, err)
	if n != 2 || bp != nil {
		t.Fatalf("n = %d, bp = %v: want the rest delivered", n, bp)
	}
	got = drain(mb)
	if len(got) != 1 || got[0].Kind != pubsub.Committed || got[0].Count != 3 {
		t.Fatalf("got %v, want the mark of a with Count 3", got)
	}
	must(t, mb.Ack(got[0]))
	if _, held := ps.OldestUnacked(); held {
		t.Fatal("the acknowledged mark is still held")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
