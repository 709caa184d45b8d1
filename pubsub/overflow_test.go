package pubsub_test

import (
	"fmt"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// A full mailbox loses events, but its consumer reads a Resync after what
// it received and before anything later, even if nothing is ever
// published again; other mailboxes are unaffected.
func TestOverflowYieldsResyncInOrder(t *testing.T) {
	ps := newPubSub(t)
	slow := pubsub.NewMailbox(4)
	fast := pubsub.NewMailbox(100)
	topic := pubsub.TopicTable("public", "t")
	subscribe(t, ps, slow, topic)
	subscribe(t, ps, fast, topic)

	for i := range 10 {
		// Never blocks although slow is never read.
		if err := ps.Broadcast(topic, change("t", "INSERT", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := slow.Dropped(); got != 6 {
		t.Fatalf("Dropped() = %d, want 6", got)
	}
	got := drain(slow)
	want := []string{"0", "1", "2", "3", "Resync(overflow)"}
	if len(got) != len(want) {
		t.Fatalf("slow got %v, want %v", got, want)
	}
	for i, ev := range got {
		s := ev.RowID
		if ev.Kind == pubsub.Resync {
			s = ev.String()
		}
		if s != want[i] {
			t.Fatalf("slow got %v, want %v", got, want)
		}
	}
	if got := drain(fast); len(got) != 10 || fast.Dropped() != 0 {
		t.Fatalf("fast got %d events, dropped %d", len(got), fast.Dropped())
	}

	// Later events follow the Resync.
	if err := ps.Broadcast(topic, change("t", "INSERT", "10")); err != nil {
		t.Fatal(err)
	}
	if ev := recv(t, slow); ev.RowID != "10" {
		t.Fatalf("after the Resync got %v", ev)
	}
	if s := ps.Stats(); s.Dropped != 6 {
		t.Fatalf("Stats().Dropped = %d", s.Dropped)
	}
}

// The consumer may read while events are dropped: an event dropped after
// the consumer took the Resync must be announced by a new Resync.
func TestOverflowAfterResyncWasReadGetsANewResync(t *testing.T) {
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(2)
	subscribe(t, ps, mb, "t")
	pub := func(id string) {
		t.Helper()
		if err := ps.Broadcast("t", change("t", "INSERT", id)); err != nil {
			t.Fatal(err)
		}
	}
	pub("1")
	pub("2")
	pub("3") // dropped, Resync queued
	// Read everything including the Resync.
	if got := drain(mb); len(got) != 3 || got[2].Kind != pubsub.Resync {
		t.Fatalf("got %v", got)
	}
	pub("4")
	pub("5")
	pub("6") // dropped: the earlier Resync was already read
	got := drain(mb)
	if len(got) != 3 || got[0].RowID != "4" || got[1].RowID != "5" || got[2].Kind != pubsub.Resync {
		t.Fatalf("got %v, want 4, 5, Resync", got)
	}
	if mb.Dropped() != 2 {
		t.Fatalf("Dropped() = %d", mb.Dropped())
	}
}

// While an unread Resync is last in the mailbox, further drops and
// Resyncs are covered by it: the consumer sees exactly one.
func TestUnreadResyncCoalesces(t *testing.T) {
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(1)
	subscribe(t, ps, mb, "t")
	for i := range 5 {
		if err := ps.Broadcast("t", change("t", "INSERT", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	ps.Resync()
	got := drain(mb)
	if len(got) != 2 || got[0].RowID != "0" || got[1].Kind != pubsub.Resync {
		t.Fatalf("got %v", got)
	}
}

func TestBatchOverflow(t *testing.T) {
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(3)
	subscribe(t, ps, mb, pubsub.TopicTable("public", "a"), pubsub.TopicAll())
	var evs []pubsub.Event
	for i := range 5 {
		evs = append(evs, change("a", "INSERT", fmt.Sprint(i)))
	}
	if err := ps.BroadcastChanges(evs); err != nil {
		t.Fatal(err)
	}
	got := drain(mb)
	// Copies: 0(table) 0(all) 1(table) then overflow.
	if len(got) != 4 || got[0].RowID != "0" || got[1].RowID != "0" || got[2].RowID != "1" || got[3].Kind != pubsub.Resync {
		t.Fatalf("got %v", got)
	}
	if mb.Dropped() != 7 {
		t.Fatalf("Dropped() = %d, want 7", mb.Dropped())
	}
}
