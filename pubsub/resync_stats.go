package pubsub

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
	// Other: a caller's own reason (ResyncWith, Broadcast), and the WAL
	// source's ReasonServer (the server's history changed), rare enough
	// not to need a counter of its own.
	Other uint64
}

// resyncCounters holds ResyncStats as fixed counters, changed and read
// only under PubSub.mu: counting a Resync costs an addition and no map
// look-up.
type resyncCounters struct {
	listen, overflow, manual, other uint64
	start, slot, reconnect          uint64
}

// add counts n Resyncs with reason.
func (c *resyncCounters) add(reason Reason, n uint64) {
	if n == 0 {
		return
	}
	switch reason {
	case ReasonListen:
		c.listen += n
	case ReasonOverflow:
		c.overflow += n
	case ReasonManual:
		c.manual += n
	case ReasonStart:
		c.start += n
	case ReasonSlot:
		c.slot += n
	case ReasonReconnect:
		c.reconnect += n
	default:
		c.other += n
	}
}

func (c *resyncCounters) snapshot() ResyncStats {
	return ResyncStats{
		Listen:    c.listen,
		Overflow:  c.overflow,
		Manual:    c.manual,
		Start:     c.start,
		Slot:      c.slot,
		Reconnect: c.reconnect,
		Other:     c.other,
	}
}
