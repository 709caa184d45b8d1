package main

import (
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// batchSizes are the batch lengths of the batch rows of section 3: 32, and
// 256, the chunk the Listener's dispatcher hands the PubSub in a burst.
var batchSizes = []int{32, 256}

// batchMailboxes are the fan-out widths of the batch rows.
var batchMailboxes = []int{1, 1000}

// batchCapacity holds a whole batch, so that nothing overflows.
const batchCapacity = 1024

// batchOnce publishes batches of n changes of one table through
// BroadcastChanges to size mailboxes subscribed to TopicAll for about
// budget of publishing time, draining the mailboxes after each batch off
// the clock. It returns ns per event per mailbox.
func batchOnce(size, n int, budget time.Duration) float64 {
	ps := pubsub.New(discard)
	mbs := make([]*pubsub.Mailbox, size)
	for i := range mbs {
		mbs[i] = pubsub.NewMailbox(batchCapacity)
		_ = ps.Subscribe(mbs[i], pubsub.TopicAll())
	}
	defer func() {
		for _, mb := range mbs {
			mb.Close()
		}
	}()
	evs := make([]pubsub.Event, n)
	for i := range evs {
		evs[i] = pubsub.Event{Kind: pubsub.TableChanged, Schema: "public", Table: "users", Operation: "INSERT", RowID: fmt.Sprint(i)}
	}
	drain := func() {
		for _, mb := range mbs {
			for range n {
				<-mb.C()
			}
		}
	}
	_ = ps.BroadcastChanges(evs) // warm-up
	drain()
	var spent time.Duration
	events := 0
	for spent < budget {
		t := time.Now()
		_ = ps.BroadcastChanges(evs)
		spent += time.Since(t)
		events += n
		drain()
	}
	return float64(spent.Nanoseconds()) / float64(events) / float64(size)
}

// runFanoutBatches measures the batch rows of section 3.
func runFanoutBatches(cfg config) []Row {
	const sec, who = "3 fan-out", nameListener + " (PubSub)"
	var rows []Row
	for _, n := range batchSizes {
		for _, size := range batchMailboxes {
			var xs []float64
			for range cfg.reps {
				xs = append(xs, batchOnce(size, n, cfg.fanoutBudget))
			}
			rows = append(rows, sample(sec, fmt.Sprintf("batches of %d, time per event per mailbox, %d mailboxes", n, size), who, "ns", xs))
		}
	}
	return rows
}
