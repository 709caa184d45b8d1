package pubsub

import "sync/atomic"

// ResyncStats counts the Resync events sent to mailboxes, by reason: one
// per mailbox a Resync reached, a Resync folded into one the mailbox has
// not read yet included (the consumer still learns it must reload).
type ResyncStats struct {
	Listen   uint64 // ReasonListen: a source (re-)established its stream
	Overflow uint64 // ReasonOverflow: a full mailbox lost events
	Manual   uint64 // ReasonManual: Resync without a reason
	// The WAL change source's reasons: ReasonStart (first connection in
	// this process), ReasonSlot (slot lost and recreated) and
	// ReasonReconnect (a temporary slot's source reconnected).
	Start, Slot, Reconnect uint64
	Other                  uint64 // a caller's own reason (ResyncWith, Broadcast)
}

// resyncCounters holds ResyncStats as fixed atomics: counting a Resync
// costs one atomic add and no map look-up.
type resyncCounters struct {
	listen, overflow, manual, other atomic.Uint64
	start, slot, reconnect          atomic.Uint64
}

// add counts n Resyncs with reason.
func (c *resyncCounters) add(reason string, n uint64) {
	if n == 0 {
		return
	}
	switch reason {
	case ReasonListen:
		c.listen.Add(n)
	case ReasonOverflow:
		c.overflow.Add(n)
	case ReasonManual:
		c.manual.Add(n)
	case ReasonStart:
		c.start.Add(n)
	case ReasonSlot:
		c.slot.Add(n)
	case ReasonReconnect:
		c.reconnect.Add(n)
	default:
		c.other.Add(n)
	}
}

func (c *resyncCounters) snapshot() ResyncStats {
	return ResyncStats{
		Listen:    c.listen.Load(),
		Overflow:  c.overflow.Load(),
		Manual:    c.manual.Load(),
		Start:     c.start.Load(),
		Slot:      c.slot.Load(),
		Reconnect: c.reconnect.Load(),
		Other:     c.other.Load(),
	}
}
