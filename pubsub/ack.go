package pubsub

import (
	"errors"
	"fmt"
)

// Errors of acknowledged delivery; match them with errors.Is.
var (
	// ErrNoAck is returned by [Mailbox.Ack] for a mailbox made without
	// [WithAck]: acknowledging there is a mistake worth seeing, since
	// nothing waits for it.
	ErrNoAck = errors.New("pubsub: mailbox made without WithAck")
	// ErrAckUnknown is returned by [Mailbox.Ack] for an event placed after
	// every event the mailbox was given: one it never delivered (from
	// another mailbox, or an earlier run). Nothing is acknowledged.
	ErrAckUnknown = errors.New("pubsub: acknowledged event was never delivered to this mailbox")
)

// MailboxOption configures a mailbox made by [NewMailbox].
type MailboxOption func(*mailboxOptions)

type mailboxOptions struct {
	ack, commits bool
	name         string
}

// WithAck makes an acknowledged mailbox: its consumer calls [Mailbox.Ack]
// once it has processed an event and everything before it, and the
// mailbox's capacity (at least 2) bounds the events it was given and
// that are not acknowledged yet, read or not.
//
// A publisher that can wait (the WAL change source, through
// [PubSub.BroadcastChangesAcked]) never overflows an ack mailbox: while
// one is full it waits for acknowledgements, and it tells the server it
// has processed a transaction only once every ack mailbox acknowledged
// what it received of it ([PubSub.OldestUnacked]). A process that dies
// with unacknowledged events therefore receives them again in its next
// run, with the same (LSN, Seq): consumers de-duplicate by that key.
//
// Publishers that never wait (the NOTIFY Listener, [PubSub.Broadcast],
// [PubSub.BroadcastChanges]) treat an ack mailbox as a plain one: when it
// is full they drop, counted by [Mailbox.Dropped], and send a Resync. An
// ack mailbox on the NOTIFY path holds nothing back, since NOTIFY events
// have no position (LSN 0) and are never replayed; acknowledging them is
// a no-op.
func WithAck() MailboxOption { return func(o *mailboxOptions) { o.ack = true } }

// WithCommits makes a mailbox receive the end of each transaction: an
// Event of Kind [Committed] after the transaction's last change, per
// topic the mailbox holds that the transaction touched (see Committed).
// Without it a mailbox receives no marks, so a consumer written before
// they existed sees exactly what it did. Marks come from the WAL change
// source and a cluster follower; the NOTIFY Listener sends none. In an
// ack mailbox a mark holds a position like a change: acknowledge it too
// (acknowledging an event acknowledges everything before it).
func WithCommits() MailboxOption { return func(o *mailboxOptions) { o.commits = true } }

// Commits reports whether the mailbox was made [WithCommits].
func (mb *Mailbox) Commits() bool { return mb.commits }

// WithName names the mailbox in log lines, such as the WAL source's
// warning that an ack mailbox holds it up.
func WithName(name string) MailboxOption { return func(o *mailboxOptions) { o.name = name } }

// Name returns the name given with [WithName], or "".
func (mb *Mailbox) Name() string { return mb.name }

// String returns the mailbox's name, or "mailbox(0x…)" when it has none.
func (mb *Mailbox) String() string {
	if mb.name != "" {
		return mb.name
	}
	return fmt.Sprintf("mailbox(%p)", mb)
}

// AckMode reports whether the mailbox was made [WithAck].
func (mb *Mailbox) AckMode() bool { return mb.ack != nil }

// Unacked returns how many events with a position (LSN not 0) the
// mailbox was given and that are not acknowledged yet; 0 for a plain
// mailbox.
func (mb *Mailbox) Unacked() int {
	if mb.ack == nil {
		return 0
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.ack.n
}

// Ack tells the mailbox that its consumer has processed ev and every
// event it received before ev, so that the publisher may forget them and
// the mailbox has room for as many new ones. Events are identified by
// (LSN, Seq), which increases along a WAL stream.
//
// Acknowledging an event already acknowledged, or an older one, is a
// no-op; so is acknowledging a Resync, an event without a position (LSN
// 0, from NOTIFY) or anything after Close. An event past every event the
// mailbox was given returns an error wrapping ErrAckUnknown and
// acknowledges nothing. A mailbox made without WithAck returns ErrNoAck.
// Ack never blocks on a publisher and is safe for concurrent use.
func (mb *Mailbox) Ack(ev Event) error {
	if mb.ack == nil {
		return ErrNoAck
	}
	if ev.Kind == Resync || ev.LSN == 0 {
		return nil
	}
	k := ackKey{ev.LSN, ev.Seq}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	a := mb.ack
	if mb.closed {
		return nil
	}
	if !a.seen || a.newest.less(k) {
		return fmt.Errorf("%w: LSN %s seq %d", ErrAckUnknown, ev.LSN, ev.Seq)
	}
	if a.ackThrough(k) > 0 {
		// Lock order: a mailbox's mu, then a PubSub's acks.mu.
		for _, ps := range mb.owners {
			ps.acks.signal()
		}
	}
	return nil
}

// ackKey is an event's place in a WAL stream: its commit LSN and its
// position in the transaction.
type ackKey struct {
	lsn LSN
	seq uint64
}

func (a ackKey) less(b ackKey) bool { return a.lsn < b.lsn || a.lsn == b.lsn && a.seq < b.seq }

// ackState is an ack mailbox's ledger: the positions of the events it
// accepted and that are not acknowledged, oldest first, in a ring that
// grows as needed (to about the capacity) and is released when empty.
// Its Mailbox's mu guards it.
type ackState struct {
	buf  []ackKey
	head int // index of the oldest in buf
	n    int // positions held
	// newest is the greatest position ever recorded; seen says one was.
	newest ackKey
	seen   bool
	// unordered is set when a position was recorded after a greater one
	// (a publisher replayed from an older position): the oldest position
	// is then found by a scan instead of at the head.
	unordered bool
}

// record notes that the mailbox accepted ev. Events without a position
// are not tracked: nothing replays them.
func (a *ackState) record(ev *Event) {
	if ev.Kind == Resync || ev.LSN == 0 {
		return
	}
	k := ackKey{ev.LSN, ev.Seq}
	if a.n == len(a.buf) {
		grown := make([]ackKey, max(16, 2*len(a.buf)))
		for i := 0; i < a.n; i++ {
			grown[i] = a.buf[(a.head+i)%len(a.buf)]
		}
		a.buf, a.head = grown, 0
	}
	if a.n > 0 && k.less(a.buf[(a.head+a.n-1)%len(a.buf)]) {
		a.unordered = true
	}
	a.buf[(a.head+a.n)%len(a.buf)] = k
	a.n++
	if !a.seen || a.newest.less(k) {
		a.newest, a.seen = k, true
	}
}

// ackThrough forgets the positions up to k from the oldest on, stopping
// at the first one after k, and returns how many it forgot.
func (a *ackState) ackThrough(k ackKey) int {
	done := 0
	for a.n > 0 && !k.less(a.buf[a.head]) {
		a.head = (a.head + 1) % len(a.buf)
		a.n--
		done++
	}
	if a.n == 0 {
		a.head, a.unordered = 0, false
		if len(a.buf) > 64 {
			// A burst is over: give its memory back.
			a.buf = nil
		}
	}
	return done
}

// oldest returns the smallest LSN held; ok is false when none is.
func (a *ackState) oldest() (lsn LSN, ok bool) {
	if a.n == 0 {
		return 0, false
	}
	lsn = a.buf[a.head].lsn
	if a.unordered {
		for i := 1; i < a.n; i++ {
			lsn = min(lsn, a.buf[(a.head+i)%len(a.buf)].lsn)
		}
	}
	return lsn, true
}
