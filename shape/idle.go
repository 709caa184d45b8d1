package shape

import "time"

// idleQueue holds the shapes that lost their last subscriber, oldest
// first, so that expiring them after Grace and evicting the oldest at
// MaxShapes look at those shapes only, not at every shape. An entry goes
// stale, and is skipped when it reaches the front, when its shape gains a
// subscriber, becomes idle again (a newer entry), or is dropped: entries
// are never searched for.
type idleQueue struct {
	q    []idleEntry
	head int
}

// idleEntry is a shape that became idle at its clock reading at.
type idleEntry struct {
	sh *shape
	at time.Duration
}

// push notes that sh became idle at its current idleSince.
func (iq *idleQueue) push(sh *shape) {
	iq.q = append(iq.q, idleEntry{sh: sh, at: sh.idleSince})
}

// front returns the shape idle the longest, dropping stale entries on
// the way; nil when none is idle.
func (iq *idleQueue) front() *shape {
	for iq.head < len(iq.q) {
		e := iq.q[iq.head]
		if !e.sh.dropped && len(e.sh.subs) == 0 && e.sh.idleSince == e.at {
			return e.sh
		}
		iq.pop()
	}
	return nil
}

// pop removes the front entry, reusing the queue's space once half of it
// is behind the front.
func (iq *idleQueue) pop() {
	iq.q[iq.head] = idleEntry{}
	iq.head++
	if iq.head == len(iq.q) {
		iq.q, iq.head = iq.q[:0], 0
	} else if iq.head >= 1024 && iq.head*2 >= len(iq.q) {
		n := copy(iq.q, iq.q[iq.head:])
		clear(iq.q[n:])
		iq.q, iq.head = iq.q[:n], 0
	}
}
