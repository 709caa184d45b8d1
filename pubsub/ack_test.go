package pubsub_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// walChange is a change placed in a WAL stream at (lsn, seq).
func walChange(table string, lsn pubsub.LSN, seq uint64) pubsub.Event {
	ev := change(table, "INSERT", fmt.Sprint(lsn, ".", seq))
	ev.LSN, ev.Seq = lsn, seq
	return ev
}

// txn returns the n changes of one transaction committed at lsn.
func txn(table string, lsn pubsub.LSN, n int) []pubsub.Event {
	evs := make([]pubsub.Event, n)
	for i := range evs {
		evs[i] = walChange(table, lsn, uint64(i+1))
	}
	return evs
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestAckSemantics(t *testing.T) {
	ps := newPubSub(t)
	plain := pubsub.NewMailbox(8)
	acked := pubsub.NewMailbox(8, pubsub.WithAck(), pubsub.WithName("worker"))
	defer plain.Close()
	defer acked.Close()
	subscribe(t, ps, plain, pubsub.TopicAll())
	subscribe(t, ps, acked, pubsub.TopicAll())
	if acked.Name() != "worker" || acked.String() != "worker" || !acked.AckMode() || plain.AckMode() {
		t.Fatalf("name %q, string %q, ack modes %v %v", acked.Name(), acked.String(), acked.AckMode(), plain.AckMode())
	}

	evs := append(txn("t", 100, 3), txn("t", 200, 2)...)
	if n, bp, err := ps.BroadcastChangesAcked(evs); err != nil || n != 5 || bp != nil {
		t.Fatalf("BroadcastChangesAcked = %d, %v, %v", n, bp, err)
	}
	if err := plain.Ack(evs[0]); !errors.Is(err, pubsub.ErrNoAck) {
		t.Fatalf("Ack on a plain mailbox: %v, want ErrNoAck", err)
	}
	if got := acked.Unacked(); got != 5 {
		t.Fatalf("Unacked = %d, want 5", got)
	}
	if lsn, ok := ps.OldestUnacked(); !ok || lsn != 100 {
		t.Fatalf("OldestUnacked = %d, %v; want 100", lsn, ok)
	}

	// Positions past everything delivered are refused whole.
	if err := acked.Ack(walChange("t", 200, 3)); !errors.Is(err, pubsub.ErrAckUnknown) {
		t.Fatalf("Ack of an unknown event: %v, want ErrAckUnknown", err)
	}
	if err := acked.Ack(walChange("t", 300, 1)); !errors.Is(err, pubsub.ErrAckUnknown) {
		t.Fatalf("Ack of an unknown event: %v, want ErrAckUnknown", err)
	}
	// Resyncs and events without a position are no-ops.
	for _, ev := range []pubsub.Event{{Kind: pubsub.Resync, Reason: pubsub.ReasonStart}, change("t", "INSERT", "1")} {
		if err := acked.Ack(ev); err != nil {
			t.Fatalf("Ack(%v): %v", ev, err)
		}
	}
	if got := acked.Unacked(); got != 5 {
		t.Fatalf("Unacked = %d after no-ops, want 5", got)
	}

	// Ack covers the event and everything before it, within a transaction.
	if err := acked.Ack(evs[1]); err != nil {
		t.Fatal(err)
	}
	if got := acked.Unacked(); got != 3 {
		t.Fatalf("Unacked = %d, want 3", got)
	}
	if lsn, ok := ps.OldestUnacked(); !ok || lsn != 100 {
		t.Fatalf("OldestUnacked = %d, %v; want 100 (its third change is not acknowledged)", lsn, ok)
	}
	if err := acked.Ack(evs[3]); err != nil {
		t.Fatal(err)
	}
	if lsn, ok := ps.OldestUnacked(); !ok || lsn != 200 {
		t.Fatalf("OldestUnacked = %d, %v; want 200", lsn, ok)
	}
	// An older event again: nothing changes.
	if err := acked.Ack(evs[0]); err != nil || acked.Unacked() != 1 {
		t.Fatalf("Ack of an older event: %v, Unacked %d", err, acked.Unacked())
	}
	if err := acked.Ack(evs[4]); err != nil {
		t.Fatal(err)
	}
	if lsn, ok := ps.OldestUnacked(); ok {
		t.Fatalf("OldestUnacked = %d, want none", lsn)
	}

	acked.Close()
	if err := acked.Ack(evs[4]); err != nil {
		t.Fatalf("Ack after Close: %v", err)
	}
}

// A full ack mailbox stops BroadcastChangesAcked without a drop; plain
// mailboxes get exactly the delivered prefix; an Ack closes Wait and the
// rest follows in order.
func TestBroadcastChangesAckedWaitsForRoom(t *testing.T) {
	ps := newPubSub(t)
	plain := pubsub.NewMailbox(100)
	acked := pubsub.NewMailbox(4, pubsub.WithAck(), pubsub.WithName("slow"))
	defer plain.Close()
	defer acked.Close()
	subscribe(t, ps, plain, pubsub.TopicAll())
	subscribe(t, ps, acked, pubsub.TopicTable("public", "t"))

	evs := txn("t", 100, 10)
	n, bp, err := ps.BroadcastChangesAcked(evs)
	if err != nil || n != 4 || bp == nil {
		t.Fatalf("BroadcastChangesAcked = %d, %v, %v; want 4 and backpressure", n, bp, err)
	}
	if len(bp.Full) != 1 || bp.Full[0] != acked {
		t.Fatalf("Full = %v, want [slow]", bp.Full)
	}
	if closed(bp.Wait) {
		t.Fatal("Wait closed before any Ack")
	}
	if got := drain(plain); len(got) != 4 {
		t.Fatalf("plain got %d events, want the 4 delivered", len(got))
	}
	got := drain(acked)
	if len(got) != 4 {
		t.Fatalf("acked got %d events, want 4", len(got))
	}
	// Reading makes no room: only acknowledging does.
	if n, _, _ := ps.BroadcastChangesAcked(evs[4:]); n != 0 {
		t.Fatalf("delivered %d into a full ack mailbox", n)
	}
	if err := acked.Ack(got[1]); err != nil {
		t.Fatal(err)
	}
	if !closed(bp.Wait) {
		t.Fatal("Wait not closed by an Ack")
	}
	n, bp, err = ps.BroadcastChangesAcked(evs[4:])
	if err != nil || n != 2 || bp == nil {
		t.Fatalf("after Ack: %d, %v, %v; want 2 and backpressure", n, bp, err)
	}
	if err := acked.Ack(got[3]); err != nil {
		t.Fatal(err)
	}
	more := drain(acked)
	for _, ev := range more {
		if err := acked.Ack(ev); err != nil {
			t.Fatal(err)
		}
	}
	if n, bp, err = ps.BroadcastChangesAcked(evs[6:]); err != nil || n != 4 || bp != nil {
		t.Fatalf("after more Acks: %d, %v, %v", n, bp, err)
	}
	all := append(append(got, more...), drain(acked)...)
	for i, ev := range all {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d: lost or reordered (%v)", i, ev.Seq, all)
		}
	}
	if len(all) != 10 || acked.Dropped() != 0 || plain.Dropped() != 0 || ps.Stats().Dropped != 0 {
		t.Fatalf("got %d, dropped %d/%d/%d", len(all), acked.Dropped(), plain.Dropped(), ps.Stats().Dropped)
	}
}

// Backpressure names only the ack mailboxes that are full, whatever
// their order.
func TestBackpressureNamesFullMailboxes(t *testing.T) {
	ps := newPubSub(t)
	roomy := pubsub.NewMailbox(100, pubsub.WithAck(), pubsub.WithName("roomy"))
	full := pubsub.NewMailbox(3, pubsub.WithAck(), pubsub.WithName("full"))
	roomy2 := pubsub.NewMailbox(100, pubsub.WithAck(), pubsub.WithName("roomy2"))
	for _, mb := range []*pubsub.Mailbox{roomy, full, roomy2} {
		defer mb.Close()
		subscribe(t, ps, mb, pubsub.TopicAll())
	}
	n, bp, err := ps.BroadcastChangesAcked(txn("t", 100, 10))
	if err != nil || n != 3 || bp == nil || len(bp.Full) != 1 || bp.Full[0] != full {
		t.Fatalf("BroadcastChangesAcked = %d, %+v, %v; want 3 and [full]", n, bp, err)
	}
}

// A change reaches a mailbox once per topic it holds: both copies count,
// and an empty ack mailbox takes the first change even when its capacity
// is below two (it is raised to two).
func TestAckRoomCountsCopies(t *testing.T) {
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(1, pubsub.WithAck())
	defer mb.Close()
	if mb.Cap() != 2 {
		t.Fatalf("Cap = %d, want 2", mb.Cap())
	}
	subscribe(t, ps, mb, pubsub.TopicAll(), pubsub.TopicTable("public", "t"))
	evs := txn("t", 100, 3)
	n, bp, err := ps.BroadcastChangesAcked(evs)
	if err != nil || n != 1 || bp == nil {
		t.Fatalf("BroadcastChangesAcked = %d, %v, %v; want 1", n, bp, err)
	}
	// Another table's change reaches it through TopicAll only.
	other := walChange("u", 100, 4)
	if n, _, _ := ps.BroadcastChangesAcked([]pubsub.Event{other}); n != 0 {
		t.Fatalf("a full mailbox took %d more", n)
	}
	if got := drain(mb); len(got) != 2 || mb.Unacked() != 2 {
		t.Fatalf("got %v, unacked %d; want two copies", got, mb.Unacked())
	}
	if err := mb.Ack(evs[0]); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := ps.BroadcastChangesAcked([]pubsub.Event{walChange("u", 200, 1), walChange("u", 200, 2), walChange("u", 200, 3)}); n != 2 {
		t.Fatalf("delivered %d changes of another table, want 2 (one copy each)", n)
	}
}

// Publishers that cannot wait treat an ack mailbox as a plain one: it
// overflows with a Resync, and NOTIFY events (no position) hold nothing.
func TestAckMailboxOnNonWaitingPath(t *testing.T) {
	ps := newPubSub(t)
	mb := pubsub.NewMailbox(2, pubsub.WithAck())
	defer mb.Close()
	subscribe(t, ps, mb, pubsub.TopicAll())
	for i := range 3 {
		if err := ps.BroadcastChanges([]pubsub.Event{change("t", "INSERT", fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if mb.Dropped() != 1 {
		t.Fatalf("Dropped = %d, want 1", mb.Dropped())
	}
	got := drain(mb)
	if len(got) != 3 || got[2].Kind != pubsub.Resync || got[2].Reason != pubsub.ReasonOverflow {
		t.Fatalf("got %v, want two changes and an overflow Resync", got)
	}
	if _, ok := ps.OldestUnacked(); ok || mb.Unacked() != 0 {
		t.Fatalf("NOTIFY events are held: unacked %d", mb.Unacked())
	}
}

// Closing or unsubscribing a full ack mailbox wakes the publisher and
// releases what it held.
func TestAckMailboxLeavingReleases(t *testing.T) {
	for _, how := range []string{"close", "unsubscribe"} {
		t.Run(how, func(t *testing.T) {
			ps := newPubSub(t)
			mb := pubsub.NewMailbox(2, pubsub.WithAck())
			defer mb.Close()
			subscribe(t, ps, mb, pubsub.TopicAll())
			evs := txn("t", 100, 3)
			n, bp, _ := ps.BroadcastChangesAcked(evs)
			if n != 2 || bp == nil {
				t.Fatalf("delivered %d, want 2 and backpressure", n)
			}
			if how == "close" {
				mb.Close()
			} else if err := ps.Unsubscribe(mb, pubsub.TopicAll()); err != nil {
				t.Fatal(err)
			}
			if !closed(bp.Wait) {
				t.Fatal("Wait not closed")
			}
			if _, ok := ps.OldestUnacked(); ok {
				t.Fatal("a mailbox that left still holds the position back")
			}
			if n, bp, _ := ps.BroadcastChangesAcked(evs[2:]); n != 1 || bp != nil {
				t.Fatalf("after leaving: %d, %v", n, bp)
			}
		})
	}
}

// A publisher that waits on Backpressure and consumers that ack from
// other goroutines: every change reaches every mailbox once and in order,
// nothing is dropped, and the oldest unacknowledged position never passes
// a change a consumer has not acknowledged. Run with -race.
func TestAckConcurrentPublisherAndConsumers(t *testing.T) {
	ps := newPubSub(t)
	const txns, per = 300, 7
	mbs := []*pubsub.Mailbox{
		pubsub.NewMailbox(5, pubsub.WithAck(), pubsub.WithName("a")),
		pubsub.NewMailbox(64, pubsub.WithAck(), pubsub.WithName("b")),
		pubsub.NewMailbox(txns * per), // plain, never full
	}
	subscribe(t, ps, mbs[0], pubsub.TopicAll())
	subscribe(t, ps, mbs[1], pubsub.TopicTable("public", "t"), pubsub.TopicAll())
	subscribe(t, ps, mbs[2], pubsub.TopicAll())
	var wg sync.WaitGroup
	for i, mb := range mbs {
		copies := 1
		if i == 1 {
			copies = 2
		}
		wg.Go(func() {
			defer mb.Close()
			want := uint64(0) // index of the next change
			for c := 0; c < txns*per*copies; c++ {
				ev := recv(t, mb)
				k := want / uint64(copies)
				if ev.LSN != pubsub.LSN(100+k/per) || ev.Seq != k%per+1 {
					t.Errorf("%v: got (%d,%d) at %d", mb, ev.LSN, ev.Seq, c)
					return
				}
				want++
				if mb.AckMode() && (c%3 == 0 || c == txns*per*copies-1) {
					if err := mb.Ack(ev); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	var evs []pubsub.Event
	for i := range txns {
		evs = append(evs, txn("t", pubsub.LSN(100+i), per)...)
	}
	deadline := time.After(30 * time.Second)
	for len(evs) > 0 {
		n, bp, err := ps.BroadcastChangesAcked(evs[:min(len(evs), 20)])
		if err != nil {
			t.Fatal(err)
		}
		evs = evs[n:]
		if bp != nil {
			select {
			case <-bp.Wait:
			case <-deadline:
				t.Fatal("publisher never woken")
			}
		}
	}
	wg.Wait()
	if d := ps.Stats().Dropped; d != 0 {
		t.Fatalf("dropped %d", d)
	}
}
