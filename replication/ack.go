package replication

import (
	"context"
	"math"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Acknowledged delivery (pubsub.WithAck) and the confirmation cadence.
//
// The Source hands events over with PubSub.BroadcastChangesAcked: while an
// ack mailbox is full it stops reading the stream and waits for an Ack
// (still sending status updates, so the server keeps the connection), and
// it confirms a transaction to the server only once no ack mailbox holds
// an unacknowledged event of it or of an earlier one.

const (
	// firstStatusDelay is how soon after a connection's first hand-off
	// its first status update goes out, and the least time between two
	// status updates sent in answer to idle keepalives: a process that
	// dies soon after starting replays about this much.
	firstStatusDelay = time.Second
	// ackRetry is how often a Source waiting for an ack mailbox tries
	// again without being woken (room freed by reading events without a
	// position is not signalled).
	ackRetry = 500 * time.Millisecond
	// ackWarnAfter is how long the Source waits for ack mailboxes before
	// it warns, and ackWarnEvery the least time between two warnings.
	ackWarnAfter = time.Second
	ackWarnEvery = 10 * time.Second
)

// ackLedger holds the transactions handed over while an ack mailbox may
// not have acknowledged them: their greatest commit LSN and end LSN per
// hand-off, oldest first. It outlives sessions, as the ack mailboxes and
// Source.pos do. Only the goroutine running Serve uses it.
type ackLedger struct {
	pending []pendingTxns
	// floor is the end of the last transactions found acknowledged: the
	// position confirmable while older ones are pending.
	floor pglogrepl.LSN
	// lastWarn is when the Source last warned that it waits.
	lastWarn time.Time
}

// pendingTxns are transactions handed over together.
type pendingTxns struct {
	commit pubsub.LSN
	end    pglogrepl.LSN
}

// handedOver records transactions up to commit (ending at end) as handed
// over. Nothing is recorded while no ack mailbox holds anything: then
// they are acknowledged already.
func (l *ackLedger) handedOver(ps *pubsub.PubSub, commit pubsub.LSN, end pglogrepl.LSN) {
	if len(l.pending) == 0 {
		if _, held := ps.OldestUnacked(); !held {
			l.floor = max(l.floor, end)
			return
		}
	}
	l.pending = append(l.pending, pendingTxns{commit, end})
	l.prune(ps)
}

// limit returns the greatest position the Source may confirm as far as
// ack mailboxes are concerned: math.MaxUint64 when none holds a handed
// over transaction back.
func (l *ackLedger) limit(ps *pubsub.PubSub) pubsub.LSN {
	if len(l.pending) == 0 {
		return math.MaxUint64
	}
	if l.prune(ps); len(l.pending) == 0 {
		return math.MaxUint64
	}
	return pubsub.LSN(l.floor)
}

// prune drops the pending transactions every ack mailbox acknowledged:
// those committed before the oldest unacknowledged event.
func (l *ackLedger) prune(ps *pubsub.PubSub) {
	oldest, held := ps.OldestUnacked()
	i := 0
	for i < len(l.pending) && (!held || l.pending[i].commit < oldest) {
		l.floor = max(l.floor, l.pending[i].end)
		i++
	}
	if i > 0 {
		l.pending = append(l.pending[:0], l.pending[i:]...)
	}
}

// gate is a session's state for hand-offs that wait and for the status
// cadence. Only the goroutine running Serve uses it.
type gate struct {
	ctx context.Context // the stream's
	// halted is set when a hand-off stopped before its end: the session
	// reads nothing more and ends with it.
	halted error
	// early is set once the connection's first hand-off moved the first
	// status update forward.
	early      bool
	lastStatus time.Time // when a status update last went out
	deadline   time.Time // the read deadline last set
}

// handOver gives evs, the whole chunk, to the PubSub, waiting while an
// ack mailbox is full. It reports false when it stopped before the end
// (ctx ended, or a status update failed, while it waited): then
// Source.pos says exactly what went out, gate.halted is set, and the
// session must read nothing more.
func (ss *session) handOver(evs []pubsub.Event) bool {
	s := ss.s
	if ss.gate.halted != nil {
		return false
	}
	// Counted first, so that a reader who got an event sees it counted.
	changes := countChanges(evs)
	s.published.Add(changes)
	n, bp, err := s.ps.BroadcastChangesAcked(evs)
	if err != nil {
		// Cannot happen: every event has a schema and a table.
		s.published.Add(-changes)
		s.log.Error("replication: publishing failed", "err", err)
		return true
	}
	if bp == nil {
		return true
	}
	return ss.waitForAcks(evs, n, bp)
}

// waitForAcks hands over evs[n:] as ack mailboxes make room, meanwhile
// sending the periodic status updates and warning now and then which
// mailboxes hold the Source up. See handOver.
func (ss *session) waitForAcks(evs []pubsub.Event, n int, bp *pubsub.Backpressure) bool {
	s := ss.s
	began := time.Now()
	s.waitingForAck.Store(true)
	defer s.waitingForAck.Store(false)
	timer := time.NewTimer(ackRetry)
	defer timer.Stop()
	for {
		now := time.Now()
		if waited := now.Sub(began); waited >= ackWarnAfter && now.Sub(s.acks.lastWarn) >= ackWarnEvery {
			s.acks.lastWarn = now
			names := make([]string, len(bp.Full))
			for i, mb := range bp.Full {
				names[i] = mb.String()
			}
			s.log.Warn("replication: ack mailboxes are full: the Source waits for their consumers to acknowledge and reads nothing meanwhile (the slot keeps the WAL)",
				"slot", s.cfg.Slot, "mailboxes", names, "waited", waited.Round(time.Millisecond), "pending", len(evs)-n)
		}
		timer.Reset(min(ackRetry, max(time.Until(ss.nextStatus), time.Millisecond)))
		select {
		case <-bp.Wait:
		case <-timer.C:
		case <-ss.gate.ctx.Done():
			ss.abandon(evs[:n], evs[n:], ss.gate.ctx.Err())
			return false
		}
		if now := time.Now(); !now.Before(ss.nextStatus) {
			// The server ends a connection that reports nothing for
			// wal_sender_timeout; acknowledgements may also have made a
			// further position confirmable.
			if err := ss.sendStatus(false); err != nil {
				ss.abandon(evs[:n], evs[n:], err)
				return false
			}
			ss.nextStatus = now.Add(s.cfg.StatusInterval)
		}
		k, next, err := s.ps.BroadcastChangesAcked(evs[n:])
		if err != nil {
			s.log.Error("replication: publishing failed", "err", err)
			next = nil
		}
		n += k
		if next == nil {
			// The Source did not read meanwhile: the server was not silent.
			ss.lastRecv = time.Now()
			return true
		}
		bp = next
	}
}

// abandon records that of a chunk only handed went out and rest did not,
// and halts the session with err. Source.pos then says exactly what went
// out, so that the next session (or the next Serve) skips that and
// delivers the rest: the transactions before the first event of rest
// whole, and that one's events up to it.
func (ss *session) abandon(handed, rest []pubsub.Event, err error) {
	s := ss.s
	s.published.Add(-countChanges(rest))
	p := &s.pos
	r := rest[0].LSN
	k := 0 // events of r's transaction in handed
	for k < len(handed) && handed[len(handed)-1-k].LSN == r {
		k++
	}
	if j := len(handed) - k - 1; j >= 0 {
		// Transactions before r's in the chunk committed (r's Begin
		// followed) and went out whole.
		p.lastCommit = max(p.lastCommit, handed[j].LSN)
	}
	before := 0 // events of r's transaction handed over by earlier chunks
	if p.partialLSN == r {
		before = p.partialCount
	}
	p.partialLSN, p.partialCount = 0, 0
	if before+k > 0 {
		p.partialLSN, p.partialCount = r, before+k
	}
	if err == nil {
		err = context.Canceled
	}
	ss.gate.halted = err
	clear(ss.chunk)
	ss.chunk = ss.chunk[:0]
	ss.done = doneTxns{}
}

// settled runs when transactions were handed over whole (settle): it
// records them for the ack mailboxes and brings a connection's first
// status update forward to about a second after its first hand-off.
func (ss *session) settled(d doneTxns) {
	if d.any {
		ss.s.acks.handedOver(ss.s.ps, d.commit, d.end)
	}
	if ss.gate.early || d.end == 0 {
		return
	}
	ss.gate.early = true
	due := time.Now().Add(firstStatusDelay)
	if ss.nextStatus.After(due) {
		ss.nextStatus = due
	}
	if ss.gate.deadline.After(due) {
		// The read deadline is when the Source next looks at the clock.
		ss.setReadDeadline(due)
	}
}

// idleStatusDue reports whether an idle keepalive (no transaction open,
// nothing waiting to be handed over) should be answered with a status
// update: when it would confirm more and none went out for a second.
func (ss *session) idleStatusDue() bool {
	return !ss.inTxn && len(ss.chunk) == 0 && time.Since(ss.gate.lastStatus) >= firstStatusDelay &&
		ss.confirmable() > ss.sentAck
}

// ackLimit bounds a position to confirm by what ack mailboxes hold back.
func (ss *session) ackLimit(pos pglogrepl.LSN) pglogrepl.LSN {
	return min(pos, pglogrepl.LSN(ss.s.acks.limit(ss.s.ps)))
}
