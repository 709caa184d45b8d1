package pubsub

import (
	"slices"
	"sync"
)

// ackRegistry is a PubSub's view of its ack mailboxes (see [WithAck]).
type ackRegistry struct {
	// members are the members made WithAck, in no order. Guarded by
	// PubSub.mu.
	members []*member
	// fit is BroadcastChangesAcked's scratch: how many events each member
	// takes. Guarded by PubSub.mu.
	fit []int

	// mu guards wake. It is taken after a mailbox's mu, never before.
	mu sync.Mutex
	// wake is closed, and cleared, when an ack mailbox may have gained
	// room; made on demand by a publisher about to wait.
	wake chan struct{}
}

// join registers m if its mailbox was made WithAck. The caller holds
// PubSub.mu.
func (r *ackRegistry) join(m *member) {
	if m.mb.ack != nil {
		r.members = append(r.members, m)
	}
}

// leave forgets m, which no longer holds anything back, and wakes a
// waiting publisher. The caller holds PubSub.mu.
func (r *ackRegistry) leave(m *member) {
	if i := slices.Index(r.members, m); i >= 0 {
		r.members = slices.Delete(r.members, i, i+1)
		r.signal()
	}
}

// waitChan returns the channel the next signal closes.
func (r *ackRegistry) waitChan() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.wake == nil {
		r.wake = make(chan struct{})
	}
	return r.wake
}

// signal closes the channel a publisher waits on, if any.
func (r *ackRegistry) signal() {
	r.mu.Lock()
	if r.wake != nil {
		close(r.wake)
		r.wake = nil
	}
	r.mu.Unlock()
}

// Backpressure says why [PubSub.BroadcastChangesAcked] delivered only a
// part of its events.
type Backpressure struct {
	// Wait is closed as soon as one of the ack mailboxes may have room
	// again: it acknowledged events, or it was closed or unsubscribed
	// from everything. Offer the rest again then (room freed by a reader
	// of events without a position is not signalled: retry now and then
	// too).
	Wait <-chan struct{}
	// Full are the ack mailboxes that had no room for the next event.
	Full []*Mailbox
}

// BroadcastChangesAcked is [PubSub.BroadcastChanges] for a publisher that
// can wait, the WAL change source: it delivers the longest prefix evs[:n]
// that every ack mailbox (see [WithAck]) of this PubSub has room for, to
// every subscribed mailbox as BroadcastChanges would, and returns n. When
// n < len(evs) it returns a Backpressure: deliver evs[n:] once its Wait is
// closed. So ack mailboxes are never overflowed, and plain mailboxes are
// served as by BroadcastChanges, only later while an ack mailbox is full.
// Without ack mailboxes it is BroadcastChanges.
//
// An ack mailbox holding nothing unacknowledged always takes at least the
// first event. The errors are BroadcastChanges's; then nothing is
// delivered. It never blocks on a mailbox; evs is not retained.
func (ps *PubSub) BroadcastChangesAcked(evs []Event) (n int, bp *Backpressure, err error) {
	if err := checkChanges(evs); err != nil {
		return 0, nil, err
	}
	if len(evs) == 0 {
		return 0, nil, nil
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	r := &ps.acks
	if len(r.members) == 0 {
		ps.broadcastChanges(evs)
		return len(evs), nil, nil
	}
	n = ps.ackFit(evs)
	var wait <-chan struct{}
	if n < len(evs) {
		// Look again with the channel in hand: an Ack after this look
		// closes it. (Taking it every time would allocate one per call.)
		wait = r.waitChan()
		n = ps.ackFit(evs)
	}
	if n > 0 {
		ps.broadcastChanges(evs[:n])
	}
	if n == len(evs) {
		return n, nil, nil
	}
	bp = &Backpressure{Wait: wait}
	for i, m := range r.members {
		if r.fit[i] == n {
			bp.Full = append(bp.Full, m.mb)
		}
	}
	return n, bp, nil
}

// ackFit returns how many of evs, from the first, every ack member has
// room for, and leaves each member's share in acks.fit. The caller holds
// ps.mu.
func (ps *PubSub) ackFit(evs []Event) int {
	r := &ps.acks
	n := len(evs)
	r.fit = r.fit[:0]
	for _, m := range r.members {
		k := ps.fits(m, evs)
		r.fit = append(r.fit, k)
		n = min(n, k)
	}
	return n
}

// fits returns how many of evs, from the first, ack member m has room
// for, counting a copy per topic of m that carries an event. The caller
// holds ps.mu: nobody else can fill m meanwhile.
func (ps *PubSub) fits(m *member, evs []Event) int {
	mb := m.mb
	mb.mu.Lock()
	room := mb.capacity - max(mb.held(), mb.ack.n)
	closed := mb.closed
	mb.mu.Unlock()
	if closed || room >= 2*len(evs) {
		return len(evs)
	}
	all := ps.all != nil && slices.Contains(m.topics, ps.all)
	used := 0
	for i := range evs {
		c := 0
		switch evs[i].Kind {
		case Committed:
			if !mb.commits {
				break
			}
			t := ps.all
			if evs[i].Table != "" {
				t = ps.tableTopic(tableKey{evs[i].Schema, evs[i].Table})
			}
			if t != nil && slices.Contains(m.topics, t) {
				c++
			}
		case Message:
			ps.messageTopics(&evs[i], func(t *topic) {
				if slices.Contains(m.topics, t) {
					c++
				}
			})
		default:
			if all {
				c++
			}
			if t := ps.tableTopic(tableKey{evs[i].Schema, evs[i].Table}); t != nil && slices.Contains(m.topics, t) {
				c++
			}
		}
		if used+c > room {
			return i
		}
		used += c
	}
	return len(evs)
}

// OldestUnacked returns the smallest LSN of an event that an ack mailbox
// of this PubSub was given and has not acknowledged; ok is false when no
// ack mailbox holds one. A publisher confirms to its source only what
// lies before it. Mailboxes closed or unsubscribed from every topic no
// longer count. Safe for concurrent use.
func (ps *PubSub) OldestUnacked() (lsn LSN, ok bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, m := range ps.acks.members {
		m.mb.mu.Lock()
		l, held := m.mb.ack.oldest()
		m.mb.mu.Unlock()
		if held && (!ok || l < lsn) {
			lsn, ok = l, true
		}
	}
	return lsn, ok
}
