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
// It is sized so that a call holds the lock for a few milliseconds (see
// docs/performance.md for the cost of a delivery), while a few mailboxes
// still get a whole batch of up to 65,536 events in one or two calls.
const deliveryBudget = 1 << 17

// minChunk keeps the fixed cost of a BroadcastChanges call (its lock,
// grouping, one EventBus publication per topic, and one lock of every
// mailbox it reaches) below about 3 % of the deliveries however many
// mailboxes there are: with 1,000 mailboxes, chunks of 32 events cost 20 %
// more than one call per batch, chunks of 64 about 8 %, of 128 about 2 %
// (BenchmarkChunkedPublish).
const minChunk = 128

// inlineMailboxes is the Listener's dispatcher.inline: with one mailbox
// subscribed, publishing a chunk costs less than handing it to another
// goroutine (a wake-up, and the chunk's memory moving between cores), so
// the reader publishes it itself whenever the dispatcher is idle.
const inlineMailboxes = 1

// maxFreeChunks bounds the empty chunks the dispatcher keeps for the
// reader: as many as maxPending events fill, so that a long burst, which
// keeps that many in flight, allocates none once the first went through.
// That is at most 9 MiB kept after such a burst (a chunk holds maxBatch
// events of about 136 bytes), what the backlog itself needed.
const maxFreeChunks = maxPending/maxBatch + 2

// chunk is a run of events handed from the reader to the dispatcher as a
// whole: the reader parses into it, pushChunk moves it to the dispatcher,
// and once published it goes back to the reader empty. Events are never
// copied between the two goroutines.
type chunk struct{ evs []pubsub.Event }

// dispatcher hands events from the connection's reader to the PubSub on a
// goroutine of its own, so reading the socket and fanning out overlap on
// two cores. The reader hands over whole chunks (one lock per chunk, not
// per event, and no copy); the dispatcher takes everything pending at
// once, which batches exactly what arrived while it was busy and adds no
// delay when it was idle, and gives the chunks back once published.
//
// When the fan-out is tiny (at most inline mailboxes subscribed) and the
// dispatcher is idle, pushChunk publishes on the caller's goroutine
// instead: the order is the same, since nothing is queued or being
// delivered meanwhile.
type dispatcher struct {
	ps        *pubsub.PubSub
	published *atomic.Uint64
	// inline is the most mailboxes for which pushChunk publishes itself;
	// 0 (newDispatcher's default) means never. Set before the first push.
	inline int
	// hold, when set, runs before each batch is delivered (tests only:
	// Listener.holdDelivery). Set before the first push.
	hold func()

	mu         sync.Mutex
	pending    []*chunk // in order; Kind Resync entries mark a ps.ResyncWith
	queued     int      // events in pending
	free       []*chunk // empty chunks for the reader, at most maxFreeChunks
	delivering bool     // run or an inline pushChunk is publishing
	closed     bool
	wake       chan struct{} // cap 1: pending became non-empty, or closed
	space      chan struct{} // cap 1: pending was emptied
	done       chan struct{} // closed when run returns
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

// newChunk returns an empty chunk for the reader to fill: a recycled one
// when there is one. Safe for concurrent use.
func (d *dispatcher) newChunk() *chunk {
	d.mu.Lock()
	c := d.takeFree()
	d.mu.Unlock()
	return c
}

// takeFree is newChunk with d.mu held.
func (d *dispatcher) takeFree() *chunk {
	if n := len(d.free); n > 0 {
		c := d.free[n-1]
		d.free[n-1] = nil
		d.free = d.free[:n-1]
		return c
	}
	return &chunk{evs: make([]pubsub.Event, 0, maxBatch)}
}

// pushChunk queues c's events, in order, after everything queued before,
// and returns an empty chunk for the caller to fill next: c belongs to
// the dispatcher from then on. It blocks only once at least maxPending
// events wait (so the bound is maxPending plus one chunk), and then only
// until the dispatcher catches up or ctx ends; it reports whether it
// blocked. When it publishes inline (see dispatcher), it returns once c is
// published and hands c back, empty; that never counts as blocking.
func (d *dispatcher) pushChunk(ctx context.Context, c *chunk) (next *chunk, blocked bool) {
	if len(c.evs) == 0 {
		return c, false
	}
	// Read before d.mu: the PubSub's lock is never taken under it.
	inline := d.inline > 0 && d.ps.Stats().Mailboxes <= d.inline
	d.mu.Lock()
	if inline && len(d.pending) == 0 && !d.delivering {
		d.delivering = true
		d.mu.Unlock()
		d.deliver(c.evs)
		d.mu.Lock()
		d.delivering = false
		// run waits while an inline delivery is in progress.
		wake := len(d.pending) > 0 || d.closed
		d.mu.Unlock()
		if wake {
			signal(d.wake)
		}
		// The same chunk, still in this core's cache, is filled next.
		c.evs = c.evs[:0]
		return c, false
	}
	idle := len(d.pending) == 0
	d.pending = append(d.pending, c)
	d.queued += len(c.evs)
	n := d.queued
	next = d.takeFree()
	d.mu.Unlock()
	// The dispatcher sleeps only on an empty queue: one signal per chunk
	// that finds it empty, none while it is busy.
	if idle {
		signal(d.wake)
	}
	if n < maxPending {
		return next, false
	}
	select {
	case <-d.space:
	case <-ctx.Done():
	}
	return next, true
}

// pushBatch is pushChunk for a slice the caller keeps: it copies evs into
// a chunk of its own. The caller may reuse evs when it returns.
func (d *dispatcher) pushBatch(ctx context.Context, evs []pubsub.Event) (blocked bool) {
	c := d.newChunk()
	c.evs = append(c.evs, evs...)
	next, blocked := d.pushChunk(ctx, c)
	d.recycle(next)
	return blocked
}

// resync queues a Resync for every subscribed mailbox, in order with the
// events queued before and after it.
func (d *dispatcher) resync(reason pubsub.Reason) {
	d.pushBatch(context.Background(), []pubsub.Event{{Kind: pubsub.Resync, Reason: reason}})
}

// recycle gives an empty chunk back. Its events are not cleared: the
// strings they hold stay reachable until the chunk is filled again, which
// bounds that memory by maxFreeChunks chunks and saves clearing every
// event behind the garbage collector's write barrier.
func (d *dispatcher) recycle(c *chunk) {
	d.mu.Lock()
	d.recycleLocked(c)
	d.mu.Unlock()
}

func (d *dispatcher) recycleLocked(c *chunk) {
	if c == nil || len(d.free) >= maxFreeChunks || cap(c.evs) > maxBatch {
		// A chunk grown past maxBatch (notifications that came with
		// LISTEN's reply) is left to the garbage collector.
		return
	}
	c.evs = c.evs[:0]
	d.free = append(d.free, c)
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
	var spare []*chunk
	for {
		d.mu.Lock()
		for len(d.pending) == 0 || d.delivering {
			if d.closed && len(d.pending) == 0 && !d.delivering {
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			<-d.wake
			d.mu.Lock()
		}
		batch := d.pending
		d.pending, d.queued = spare[:0], 0
		d.delivering = true
		d.mu.Unlock()
		signal(d.space)

		for _, c := range batch {
			d.deliver(c.evs)
		}
		d.mu.Lock()
		d.delivering = false
		for _, c := range batch {
			d.recycleLocked(c)
		}
		d.mu.Unlock()
		clear(batch)
		spare = batch[:0]
	}
}

// deliver publishes a batch, splitting it at Resync markers.
func (d *dispatcher) deliver(batch []pubsub.Event) {
	if d.hold != nil {
		d.hold()
	}
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
		n := min(chunkSize(d.ps.Stats().Mailboxes), len(evs))
		// Events come from the payload parser, so they always validate.
		if err := d.ps.BroadcastChanges(evs[:n]); err == nil {
			d.published.Add(uint64(n))
		}
		evs = evs[n:]
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
