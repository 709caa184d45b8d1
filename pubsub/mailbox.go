package pubsub

import (
	"slices"
	"sync"
	"sync/atomic"
)

// DefaultCapacity is the capacity of a mailbox created with a capacity
// below 1.
const DefaultCapacity = 64

// The buffer of a mailbox's channel C is a sixteenth of its capacity,
// at least minSlots and at most maxSlots events; a mailbox of capacity
// below minSlots is a plain buffered channel (its capacity plus the spare
// slot of an overflow Resync). Events C cannot take wait in a queue
// behind it. So a mailbox of the default capacity 64 has 5 slots (about
// 1.3 KiB idle with Event's 192 bytes; 3 slots saved only 128 bytes and
// cost fan-out 10 to 20%), and one sized for bursts of thousands hands
// them to its consumer up to 1,024 at a time (about 190 KiB idle at a
// capacity of 16,384, against 3 MiB for a channel that deep).
const (
	minSlots = 5
	maxSlots = 1024
)

// chanSlots returns the buffer of C for a mailbox of capacity events.
func chanSlots(capacity int) int {
	return min(capacity+1, max(minSlots, min(capacity/16, maxSlots)))
}

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
// # Memory
//
// C has a small buffer: 5 events at the default capacity of 64, a
// sixteenth of the capacity for bigger mailboxes, at most 1,024. Events
// beyond it wait, in order, in a queue that grows by chunks of 32 events
// while the consumer is behind and gives them back as it catches up, so
// an idle mailbox of capacity 64 costs about 1.3 KiB, and a backlog
// costs what it holds, never more than its capacity. While that queue is
// not empty, a goroutine of the mailbox hands its events to C, in order;
// it ends when the queue is empty or the mailbox is closed. Consequently
// events may reach C a moment after a publication returns: read C with a
// blocking receive (or a select), not a polling loop on len(C);
// [Mailbox.Len] counts what the mailbox holds, queue included. Close a
// mailbox you stop reading: its goroutine would otherwise wait for room
// in C for ever.
//
// # Acknowledged delivery
//
// A mailbox made [WithAck] is never overflowed by a publisher that can
// wait (the WAL change source): its capacity bounds the events given to
// it and not acknowledged with [Mailbox.Ack], and while it is full that
// publisher waits, and holds its replication slot back, instead of
// dropping. See [WithAck].
//
// Events arrive in the order they were published. All methods are safe for
// concurrent use, including from the goroutine that reads C.
type Mailbox struct {
	// The fields a delivery reads come first, in one cache line.
	mu sync.Mutex
	// overflows counts the overflow Resyncs offer put into ch while the
	// current holder of mu delivers; the delivery's tally (deliver.go)
	// takes it for the PubSub's ResyncStats and resets it before
	// unlocking. A plain field: no atomic on the delivery path.
	overflows uint64
	// closed is set by Close; nothing is sent to ch afterwards.
	closed bool
	// tailResync is true when the last event accepted was a Resync. While
	// it is true and that Resync is still in ch or queue, it has not been
	// read, so it covers any event dropped now: the consumer reloads after
	// reading it.
	tailResync bool
	// pumping is true from the moment a pump is due until it ends; then
	// only the pump sends to ch, so publishers append to queue to keep
	// the order. Written under mu; atomic because the solo path reads it
	// without mu.
	pumping atomic.Bool
	// kick is true when a pump is due and not started yet: unlock starts
	// it, so that it never waits for the lock its starter holds.
	kick bool
	// inflight is true while the pump sends an event it took from queue
	// without holding mu.
	inflight bool
	// solo is the only PubSub that holds subscriptions of the mailbox
	// since it had none, or nil once a second one subscribed. Deliveries
	// of solo are serialised by solo's own lock, which lets its common
	// case skip mu: see offerSolo.
	solo     atomic.Pointer[PubSub]
	ch       chan Event
	capacity int
	// direct is min(capacity, cap(ch)): while no pump is due, an event
	// finds room when len(ch) < direct, the whole of offer's check.
	direct int
	// queue holds, in order, the events accepted but not yet sent to ch.
	queue queue

	dropped atomic.Uint64
	// stop is closed by Close to end the pump; made by the first pump.
	stop chan struct{}
	// pumpFn is mb.pump, made once so that starting a pump does not
	// allocate.
	pumpFn func()
	// pumps counts pumps due or running (zero or one) for Close to wait on.
	pumps sync.WaitGroup
	// owners are the PubSubs that hold subscriptions of this mailbox,
	// each once: usually one, so a slice.
	owners []*PubSub

	// ack is the ledger of a mailbox made WithAck (see ack.go), nil
	// otherwise; set at construction, its contents guarded by mu.
	ack *ackState
	// name is WithName's, for log lines; set at construction.
	name string
	// commits is WithCommits's: the mailbox takes Committed marks. Set
	// at construction.
	commits bool
}

// NewMailbox returns an open mailbox that holds up to capacity events
// (DefaultCapacity if capacity < 1) plus, after an overflow, the Resync
// that reports it. Only C's small buffer is allocated up front: see
// Memory in [Mailbox]. Options such as [WithAck] and [WithName] change
// the defaults; without any the mailbox is a plain one.
func NewMailbox(capacity int, opts ...MailboxOption) *Mailbox {
	var o mailboxOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if capacity < 1 {
		capacity = DefaultCapacity
	}
	if o.ack {
		// One change can reach a mailbox twice (its table's topic and
		// TopicAll): an empty ack mailbox always has room for one.
		capacity = max(capacity, 2)
	}
	slots := chanSlots(capacity)
	mb := &Mailbox{
		capacity: capacity,
		ch:       make(chan Event, slots),
		direct:   min(capacity, slots),
		name:     o.name,
		commits:  o.commits,
	}
	if o.ack {
		mb.ack = &ackState{}
		// Every offer to an ack mailbox records what it accepted: no
		// path may skip offer (offerFast and offerSolo find no room).
		mb.direct = 0
	}
	return mb
}

// C returns the channel to read events from. It is closed by Close.
func (mb *Mailbox) C() <-chan Event { return mb.ch }

// Cap returns the number of events the mailbox holds before it drops.
func (mb *Mailbox) Cap() int { return mb.capacity }

// Len returns the number of events the mailbox holds: in C's buffer and
// queued behind it. While another goroutine receives from C, an event
// that the mailbox is handing to C may still be counted for a moment after
// it was received.
func (mb *Mailbox) Len() int {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.held()
}

// Dropped returns how many events were lost because the mailbox was full.
func (mb *Mailbox) Dropped() uint64 { return mb.dropped.Load() }

// Closed reports whether Close has been called.
func (mb *Mailbox) Closed() bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.closed
}

// Close detaches the mailbox from every topic of every PubSub, stops its
// pump, then closes C. Events already in C's buffer can still be read;
// events queued behind it are discarded. Close is idempotent, never
// blocks on a publisher for longer than one delivery, and may be called
// from the goroutine reading C.
func (mb *Mailbox) Close() {
	mb.mu.Lock()
	if mb.closed {
		mb.mu.Unlock()
		return
	}
	mb.closed = true
	if mb.stop != nil {
		close(mb.stop)
	}
	owners := slices.Clone(mb.owners)
	mb.mu.Unlock()

	// mb.mu must not be held here: PubSub locks come before mailbox locks.
	for _, ps := range owners {
		ps.detach(mb)
	}
	// The pump never waits for anything but ch and stop, and stop is
	// closed: this wait is short, even on the goroutine that reads C.
	mb.pumps.Wait()

	mb.mu.Lock()
	mb.queue.reset()
	close(mb.ch)
	mb.mu.Unlock()
}

// held returns the number of events accepted and not yet received. The
// caller holds mb.mu.
func (mb *Mailbox) held() int {
	n := len(mb.ch) + mb.queue.n
	if mb.inflight {
		n++
	}
	return n
}

// offerFast is offer for the common case, small enough to be inlined in
// the delivery loops: a TableChanged into a mailbox whose consumer keeps
// up (no pump due, no unread Resync last, room in ch). It reports false,
// having done nothing, when offer must decide. The caller holds mb.mu.
func (mb *Mailbox) offerFast(ev *Event) bool {
	if ev.Kind != TableChanged || mb.closed || mb.tailResync || mb.pumping.Load() || len(mb.ch) >= mb.direct {
		return false
	}
	mb.ch <- *ev
	return true
}

// offerSolo is offerFast without mu, for ps holding ps.mu: it reports
// false, having done nothing, unless ps is the mailbox's solo owner and
// the event finds room in ch with no pump due and no Resync last.
//
// Why this is safe without mu: while ps is solo, every publisher of the
// mailbox holds ps.mu, so tailResync (written only by publishers) and
// the checks below cannot change under it, except pumping, which only the
// pump clears, after its last send (atomically, so that send happened
// before); with no pump and ps.mu held, nobody else sends to ch, so the
// send after len(ch) < direct cannot block. A second PubSub makes the
// mailbox leave solo mode before it subscribes, after waiting for ps.mu
// (see demote). Close detaches from ps, which waits for ps.mu, before it
// closes ch, so the send never meets a closed channel.
func (mb *Mailbox) offerSolo(ps *PubSub, ev *Event) bool {
	if mb.solo.Load() != ps || ev.Kind != TableChanged || mb.tailResync || mb.pumping.Load() || len(mb.ch) >= mb.direct {
		return false
	}
	mb.ch <- *ev
	return true
}

// offer puts ev into the mailbox without blocking and reports whether it
// was accepted. The caller holds mb.mu.
func (mb *Mailbox) offer(ev *Event) (delivered bool) {
	if mb.closed {
		return false
	}
	// The event in flight is left out: once the pump's send completes,
	// the consumer may have read it, and a Resync it may have been must
	// not be counted on to cover a later drop.
	unreadResync := mb.tailResync && (len(mb.ch) > 0 || mb.queue.n > 0)
	if ev.Kind == Resync {
		if unreadResync {
			// An unread Resync already sits last: the consumer reloads
			// after this point anyway.
			return true
		}
		mb.put(ev)
		mb.tailResync = true
		return true
	}
	if mb.held() < mb.capacity && (mb.ack == nil || mb.ack.n < mb.capacity) {
		mb.put(ev)
		mb.tailResync = false
		if mb.ack != nil {
			mb.ack.record(ev)
		}
		return true
	}
	mb.dropped.Add(1)
	if !unreadResync {
		r := Event{Kind: Resync, Reason: ReasonOverflow}
		mb.put(&r)
		mb.tailResync = true
		mb.overflows++
	}
	return false
}

// offerQueued is offer for a run of changes (Kind TableChanged or zero,
// taken as TableChanged) while a pump is due: each of them would go to
// the queue, so as many as the capacity leaves room for are queued at
// once, in order. It returns how many it took, 0 when no pump is due, the
// mailbox is closed or full (then offer decides, event by event). The
// caller holds mb.mu.
func (mb *Mailbox) offerQueued(evs []Event) int {
	if mb.closed || mb.ack != nil || !mb.pumping.Load() {
		return 0
	}
	n := min(len(evs), mb.capacity-mb.held())
	if n <= 0 {
		return 0
	}
	mb.queue.pushAll(evs[:n])
	mb.tailResync = false
	return n
}

// put sends ev to ch when nothing waits before it and ch has room, and
// queues it for the pump otherwise. The caller holds mb.mu. Every send to
// ch happens either here while no pump runs or in the pump, so a send
// made after checking len(ch) < cap(ch) never blocks.
//
// A mailbox of capacity below chanSlots never queues: offer keeps at most
// capacity+1 events, which ch holds.
func (mb *Mailbox) put(ev *Event) {
	if !mb.pumping.Load() && len(mb.ch) < cap(mb.ch) {
		mb.ch <- *ev
		return
	}
	mb.queue.push(ev)
	if !mb.pumping.Load() {
		if mb.stop == nil {
			mb.stop = make(chan struct{})
			mb.pumpFn = mb.pump
		}
		mb.pumping.Store(true)
		mb.kick = true
		mb.pumps.Add(1)
	}
}

// unlock releases mb.mu and starts the pump put made due. Whoever locks
// mb.mu and may call offer unlocks with unlock.
func (mb *Mailbox) unlock() {
	kick := mb.kick
	mb.kick = false
	mb.mu.Unlock()
	if kick {
		go mb.pumpFn()
	}
}

// pump moves queued events to ch, in order, until the queue is empty or
// the mailbox is closed. It holds mb.mu except while it waits for room in
// ch, and then it holds exactly one event (inflight).
func (mb *Mailbox) pump() {
	defer mb.pumps.Done()
	mb.mu.Lock()
	defer mb.mu.Unlock()
	for !mb.closed {
		for mb.queue.n > 0 && len(mb.ch) < cap(mb.ch) {
			mb.ch <- *mb.queue.front()
			mb.queue.drop()
		}
		if mb.queue.n == 0 {
			break
		}
		ev := mb.queue.pop()
		mb.inflight = true
		mb.mu.Unlock()
		select {
		case mb.ch <- ev:
		case <-mb.stop:
		}
		mb.mu.Lock()
		mb.inflight = false
	}
	mb.pumping.Store(false)
}

// addOwner records that ps holds subscriptions of mb. It fails for a
// closed mailbox, and reports retry when mb must first leave solo mode
// with demote, which the caller must call without holding ps.mu.
func (mb *Mailbox) addOwner(ps *PubSub) (retry bool, err error) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.closed {
		return false, ErrMailboxClosed
	}
	if slices.Contains(mb.owners, ps) {
		return false, nil
	}
	switch solo := mb.solo.Load(); {
	case len(mb.owners) == 0:
		// Nobody else delivers to mb: ps may take the solo path.
		mb.solo.Store(ps)
	case solo != nil:
		return true, nil
	}
	mb.owners = append(mb.owners, ps)
	return false, nil
}

// demote takes mb out of solo mode before a second PubSub subscribes it,
// then waits until the solo owner is not delivering: its deliveries after
// that see solo == nil and take mb.mu like everybody's. The caller must
// hold no PubSub lock.
func (mb *Mailbox) demote() {
	mb.mu.Lock()
	solo := mb.solo.Swap(nil)
	mb.mu.Unlock()
	if solo != nil {
		solo.mu.Lock()
		//lint:ignore SA2001 an empty critical section is the point: it waits out a delivery in progress
		solo.mu.Unlock()
	}
}

func (mb *Mailbox) removeOwner(ps *PubSub) {
	mb.mu.Lock()
	if i := slices.Index(mb.owners, ps); i >= 0 {
		mb.owners = slices.Delete(mb.owners, i, i+1)
	}
	mb.mu.Unlock()
}
