package pubsub_test

import (
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Stats counts the Resyncs sent to mailboxes by reason: one per mailbox
// reached, through ResyncWith, Resync, Broadcast and overflows, with
// callers' own reasons under Other.
func TestStatsCountResyncsByReason(t *testing.T) {
	ps := newPubSub(t)
	a, b := pubsub.NewMailbox(2), pubsub.NewMailbox(100)
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	topic := pubsub.TopicTable("public", "t")
	subscribe(t, ps, a, topic, pubsub.TopicAll())
	subscribe(t, ps, b, topic)

	ps.ResyncWith(pubsub.ReasonListen) // a and b: 2
	drain(a)
	drain(b)
	ps.Resync() // 2 manual
	drain(a)
	drain(b)
	ps.ResyncWith(pubsub.ReasonStart)     // 2 start
	ps.ResyncWith(pubsub.ReasonSlot)      // folded into the unread ones: 2 slot
	ps.ResyncWith(pubsub.ReasonReconnect) // 2 reconnect
	drain(a)
	drain(b)
	ps.ResyncWith("reload-config") // 2 other
	if err := ps.Broadcast(topic, pubsub.Event{Kind: pubsub.Resync, Reason: "mine"}); err != nil {
		t.Fatal(err) // 2 more other (folded into the unread ones, still sent)
	}
	drain(a)
	drain(b)

	// a (capacity 2) overflows in the first batch: one overflow Resync
	// however many events it loses, until it is read.
	evs := []pubsub.Event{change("t", "INSERT", "1"), change("t", "INSERT", "2"), change("t", "INSERT", "3"), change("t", "INSERT", "4")}
	if err := ps.BroadcastChanges(evs); err != nil {
		t.Fatal(err)
	}
	if err := ps.BroadcastChanges(evs); err != nil {
		t.Fatal(err)
	}
	drain(a) // read: the next overflow sends a new Resync
	if err := ps.BroadcastChanges(evs); err != nil {
		t.Fatal(err)
	}

	got := ps.Stats().Resyncs
	want := pubsub.ResyncStats{Listen: 2, Manual: 2, Start: 2, Slot: 2, Reconnect: 2, Other: 4, Overflow: 2}
	if got != want {
		t.Fatalf("Stats().Resyncs = %+v, want %+v", got, want)
	}
	if d := ps.Stats().Dropped; d == 0 {
		t.Fatal("Stats().Dropped = 0, want the overflow counted")
	}
}
