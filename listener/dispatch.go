package listener

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// maxPending bounds the events read from the socket but not yet
// dispatched; past it the reader waits (PostgreSQL queues the rest).
const maxPending = 1 << 16

// deliveryBudget bounds the mailbox deliveries (events x mailboxes) of
// one BroadcastChanges call, which holds the PubSub lock throughout:
// Subscribe, Unsubscribe and Mailbox.Close wait for at most one such call.
// At 15 to 45 ns a delivery, 1<<17 of them take 2 to 6 ms; a few mailboxes
// still get a whole batch of up to 65,536 events in one or two calls.
const deliveryBudget = 1 << 17

// minChunk keeps the fixed cost of a BroadcastChanges call (its lock,
// grouping, one EventBus publication per topic, and one lock of every
// mailbox it reaches) below about 3 % of the deliveries however many
// mailboxes there are: with 1,000 mailboxes, chunks of 32 events cost 20 %
// more than one call per batch, chunks of 64 about 8 %, of 128 about 2 %
// (BenchmarkChunkedPublish).
const minChunk = 128

// dispatcher hands events from the connection's reader to the PubSub on a
// goroutine of its own, so reading the socket and fanning out overlap on
// two cores. The reader appends batches to pending (one lock per batch,
// not per event); the dispatcher takes the whole of pending at once, which
// batches exactly what arrived while it was busy and adds no delay when it
// was idle.
type dispatcher struct {
	ps        *pubsub.PubSub
	published *atomic.Uint64

	mu      sync.Mutex
	pending []pubsub.Event // Kind Resync entries mark a ps.ResyncWith
	closed  bool
	wake    chan struct{} // cap 1: pending became non-empty, or closed
	space   chan struct{} // cap 1: pending was emptied
	done    chan struct{} // closed when run returns

}

func newDispatcher(ps *pubsub.PubSub, published *atomic.Uint64) *dispatcher {
	return &dispatcher{
		ps:        ps,
		published: published,
		wake:      make(chan struct{}, 1),
		space:     make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
}

// pushBatch queues evs, in order, after everything queued before. It
// blocks only once at least maxPending events wait (so the bound is
// maxPending plus one batch), and then only until the dispatcher catches
// up or ctx ends; it reports whether it blocked. The caller may reuse evs
// when it returns.
func (d *dispatcher) pushBatch(ctx context.Context, evs []pubsub.Event) (blocked bool) {
	d.mu.Lock()
	idle := len(d.pending) == 0
	d.pending = append(d.pending, evs...)
	n := len(d.pending)
	d.mu.Unlock()
	// The dispatcher sleeps only on an empty queue: one signal per batch
	// that finds it empty, none while it is busy.
	if idle {
		signal(d.wake)
	}
	if n < maxPending {
		return false
	}
	select {
	case <-d.space:
	case <-ctx.Done():
	}
	return true
}

// resync queues a Resync for every subscribed mailbox, in order with the
// events queued before and after it.
func (d *dispatcher) resync(reason string) {
	d.pushBatch(context.Background(), []pubsub.Event{{Kind: pubsub.Resync, Reason: reason}})
}

// close makes run return once everything queued has been dispatched.
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	signal(d.wake)
}

// run dispatches until close. Its caller owns the goroutine and waits on done.
func (d *dispatcher) run() {
	defer close(d.done)
	var spare []pubsub.Event
	for {
		d.mu.Lock()
		for len(d.pending) == 0 {
			if d.closed {
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			<-d.wake
			d.mu.Lock()
		}
		batch := d.pending
		d.pending = spare[:0]
		d.mu.Unlock()
		signal(d.space)

		d.deliver(batch)
		clear(batch) // drop string references for the GC
		spare = batch[:0]
	}
}

// deliver publishes a batch, splitting it at Resync markers.
func (d *dispatcher) deliver(batch []pubsub.Event) {
	start := 0
	for i := range batch {
		if batch[i].Kind != pubsub.Resync {
			continue
		}
		d.publish(batch[start:i])
		d.ps.ResyncWith(batch[i].Reason)
		start = i + 1
	}
	d.publish(batch[start:])
}

// publish hands evs to the PubSub in chunks of at most deliveryBudget
// deliveries, so that the PubSub lock is released between them: a
// Subscribe waiting for it takes effect from the next chunk on, and sees
// the rest of the batch in order.
func (d *dispatcher) publish(evs []pubsub.Event) {
	for len(evs) > 0 {
		chunk := chunkSize(d.ps.Stats().Mailboxes)
		if chunk > len(evs) {
			chunk = len(evs)
		}
		// Events come from ParsePayload, so they always validate.
		if err := d.ps.BroadcastChanges(evs[:chunk]); err == nil {
			d.published.Add(uint64(chunk))
		}
		evs = evs[chunk:]
	}
}

// chunkSize is how many events one BroadcastChanges call may take with
// that many subscribed mailboxes. A mailbox subscribed to several topics
// counts once, so the budget is approximate; it is only a bound on the
// time the PubSub lock is held.
func chunkSize(mailboxes int) int {
	if mailboxes < 1 {
		mailboxes = 1
	}
	return max(minChunk, deliveryBudget/mailboxes)
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
