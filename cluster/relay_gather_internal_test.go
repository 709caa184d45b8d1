package cluster

import (
	"strconv"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// A change goes to the stream with what the relay mailbox already holds,
// never after waiting for more: gather on an empty mailbox returns the
// lone change at once (a single-row transaction is not delayed by
// batching), packs the queued changes of the same transaction and table,
// and holds back the first one that does not batch for the next message.
func TestGatherNeverWaitsForABatch(t *testing.T) {
	change := func(table string, seq uint64) pubsub.Event {
		return pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: table, Operation: "INSERT",
			RowID: strconv.FormatUint(seq, 10), LSN: 0x16B3748, Seq: seq}
	}
	p := &pipeline{e: &elector{c: &Cluster{cfg: Config{}}}}
	// Nobody ever sends on in: a gather that waited would block for good.
	in := make(chan pubsub.Event)
	done := make(chan []pubsub.Event, 1)
	go func() { done <- p.gather(change("items", 1), in, maxBatchBytes) }()
	var got []pubsub.Event
	select {
	case got = <-done:
	case <-time.After(10 * time.Second):
		close(in) // lets it return, for goleak
		<-done
		t.Fatal("gather waited for more changes with none queued")
	}
	if len(got) != 1 || got[0].Seq != 1 || p.holding {
		t.Fatalf("lone change: gathered %d events (holding %v), want it alone", len(got), p.holding)
	}

	queued := make(chan pubsub.Event, 8)
	queued <- change("items", 2)
	queued <- change("items", 3)
	queued <- change("other", 4)
	queued <- change("items", 5)
	got = p.gather(change("items", 1), queued, maxBatchBytes)
	if len(got) != 3 || got[2].Seq != 3 {
		t.Fatalf("gathered %d events, want the 3 queued changes to items", len(got))
	}
	if !p.holding || p.held.Table != "other" {
		t.Fatalf("holding %v (%s), want the change to another table held for the next message", p.holding, p.held.Table)
	}
	if len(queued) != 1 {
		t.Fatalf("%d events left queued, want 1: gather reads no further than the first that does not batch", len(queued))
	}
}
