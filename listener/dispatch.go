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
// up or ctx ends. The caller may reuse evs when it returns.
func (d *dispatcher) pushBatch(ctx context.Context, evs []pubsub.Event) {
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
	if n >= maxPending {
		select {
		case <-d.space:
		case <-ctx.Done():
		}
	}
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

func (d *dispatcher) publish(evs []pubsub.Event) {
	if len(evs) == 0 {
		return
	}
	// Events come from ParsePayload, so they always validate.
	if err := d.ps.BroadcastChanges(evs); err == nil {
		d.published.Add(uint64(len(evs)))
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
