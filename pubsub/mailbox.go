package pubsub

import (
	"sync"
	"sync/atomic"
)

// DefaultCapacity is the capacity of a mailbox created with a capacity
// below 1.
const DefaultCapacity = 64

// Mailbox is a subscriber's identity and inbox: the Go counterpart of an
// Elixir process mailbox. Subscribe it to topics of one or more
// [PubSub] values and read its events from [Mailbox.C].
//
// A mailbox never blocks a publisher. When it is full, new events are
// dropped and counted in [Mailbox.Dropped], and the consumer reads a
// Resync event (Reason ReasonOverflow) right after the last event that did
// fit and before any later one, whether or not anything is published
// afterwards. A Resync means "reload": see the package documentation.
//
// Events arrive in the order they were published. All methods are safe for
// concurrent use, including from the goroutine that reads C.
type Mailbox struct {
	capacity int
	ch       chan Event
	dropped  atomic.Uint64

	mu sync.Mutex
	// overflows counts the overflow Resyncs offer put into ch while the
	// current holder of mu delivers; PubSub.flush adds it to its
	// ResyncStats and resets it before unlocking. A plain field: no
	// atomic on the delivery path.
	overflows uint64
	// closed is set by Close; nothing is sent to ch afterwards.
	closed bool
	// tailResync is true when the last value sent to ch was a Resync. While
	// it is true and ch is not empty, that Resync has not been read yet, so
	// it covers any event dropped now: the consumer reloads after reading it.
	tailResync bool
	// owners are the PubSubs that hold subscriptions of this mailbox.
	owners map[*PubSub]struct{}
}

// NewMailbox returns an open mailbox that buffers up to capacity events
// (DefaultCapacity if capacity < 1), plus one slot kept free for the
// Resync that reports an overflow.
func NewMailbox(capacity int) *Mailbox {
	if capacity < 1 {
		capacity = DefaultCapacity
	}
	return &Mailbox{
		capacity: capacity,
		ch:       make(chan Event, capacity+1),
		owners:   make(map[*PubSub]struct{}),
	}
}

// C returns the channel to read events from. It is closed by Close.
func (mb *Mailbox) C() <-chan Event { return mb.ch }

// Cap returns the number of events the mailbox buffers before it drops.
func (mb *Mailbox) Cap() int { return mb.capacity }

// Dropped returns how many events were lost because the mailbox was full.
func (mb *Mailbox) Dropped() uint64 { return mb.dropped.Load() }

// Closed reports whether Close has been called.
func (mb *Mailbox) Closed() bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.closed
}

// Close detaches the mailbox from every topic of every PubSub, then closes
// C. Events already buffered can still be read. Close is idempotent, never
// blocks on a publisher for longer than one delivery, and may be called
// from the goroutine reading C.
func (mb *Mailbox) Close() {
	mb.mu.Lock()
	if mb.closed {
		mb.mu.Unlock()
		return
	}
	mb.closed = true
	owners := make([]*PubSub, 0, len(mb.owners))
	for ps := range mb.owners {
		owners = append(owners, ps)
	}
	mb.mu.Unlock()

	// mb.mu must not be held here: PubSub locks come before mailbox locks.
	for _, ps := range owners {
		ps.detach(mb)
	}

	mb.mu.Lock()
	close(mb.ch)
	mb.mu.Unlock()
}

// offer puts ev into the mailbox without blocking. The caller holds mb.mu;
// since every send happens under mb.mu, len(mb.ch) can only shrink
// between the check and the send, so the send never blocks.
//
// Invariant: when tailResync is false, len(ch) <= capacity, so the spare
// slot is free for an overflow Resync.
func (mb *Mailbox) offer(ev Event) (delivered bool) {
	if mb.closed {
		return false
	}
	n := len(mb.ch)
	unreadResync := mb.tailResync && n > 0
	if ev.Kind == Resync {
		if unreadResync {
			// An unread Resync already sits last: the consumer reloads
			// after this point anyway.
			return true
		}
		mb.ch <- ev
		mb.tailResync = true
		return true
	}
	if n < mb.capacity {
		mb.ch <- ev
		mb.tailResync = false
		return true
	}
	mb.dropped.Add(1)
	if !unreadResync {
		mb.ch <- Event{Kind: Resync, Reason: ReasonOverflow}
		mb.tailResync = true
		mb.overflows++
	}
	return false
}

// addOwner records that ps holds subscriptions of mb. It fails for a
// closed mailbox.
func (mb *Mailbox) addOwner(ps *PubSub) error {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.closed {
		return ErrMailboxClosed
	}
	mb.owners[ps] = struct{}{}
	return nil
}

func (mb *Mailbox) removeOwner(ps *PubSub) {
	mb.mu.Lock()
	delete(mb.owners, ps)
	mb.mu.Unlock()
}
