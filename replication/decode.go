package replication

import (
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// chunkSize is how many events are handed to the PubSub at once: a large
// transaction streams through in chunks, never buffered whole.
const chunkSize = 512

// parse decodes one pgoutput message. pglogrepl indexes the buffer
// without bounds checks: a malformed message is an error, not a panic.
func parse(data []byte) (msg pglogrepl.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("%w (type %q, %d bytes)", errMalformed, firstByte(data), len(data))
		}
	}()
	if err := checkSizes(data); err != nil {
		return nil, fmt.Errorf("%w (type %q, %d bytes)", err, firstByte(data), len(data))
	}
	msg, err = pglogrepl.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("replication: %w", err)
	}
	return msg, nil
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// message handles one pgoutput message. The row and transaction
// messages go through the parser of pgoutput.go, the rest through
// pglogrepl.
func (ss *session) message(data []byte) error {
	switch firstByte(data) {
	case 'B':
		lsn, xid, t, err := parseBegin(data)
		if err != nil {
			return err
		}
		ss.begin(lsn, xid, t)
		return nil
	case 'C':
		commitLSN, endLSN, err := parseCommit(data)
		if err != nil {
			return err
		}
		ss.commit(commitLSN, endLSN)
		return nil
	case 'I', 'U', 'D':
		m := &ss.rowMsg
		if err := m.parse(data); err != nil {
			return err
		}
		return ss.change(m.relID, m.op, m, 0)
	}
	msg, err := parse(data)
	if err != nil {
		return err
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		rel, err := newRelation(m, ss.decodeOID)
		if err != nil {
			return fmt.Errorf("replication: relation %s.%s: %w", m.Namespace, m.RelationName, err)
		}
		ss.relations[m.RelationID] = rel
	case *pglogrepl.TruncateMessage:
		for _, id := range m.RelationIDs {
			if err := ss.change(id, "TRUNCATE", nil, m.Option); err != nil {
				return err
			}
		}
	case *pglogrepl.LogicalDecodingMessage:
		ss.logicalMessage(m)
	}
	return nil
}

// begin opens a transaction and decides what of it was handed over
// before: all of it when its commit position is not past the last one
// published (a replay after a restart), its first events when it is the
// transaction a broken connection cut off in its middle.
func (ss *session) begin(lsn pubsub.LSN, xid uint32, commitTime time.Time) {
	p := &ss.s.pos
	ss.inTxn, ss.txnLSN, ss.txnXid, ss.commitTime = true, lsn, xid, commitTime
	ss.idx, ss.skip, ss.skipAll = 0, 0, false
	clear(ss.txnTables)
	ss.txnTables = ss.txnTables[:0]
	switch {
	case lsn <= p.lastCommit:
		ss.skipAll = true
	case lsn == p.partialLSN:
		ss.skip = p.partialCount
	}
}

// Option bits of a Truncate message.
const (
	truncateCascade         = 1
	truncateRestartIdentity = 2
)

// change turns one row change (or one table of a TRUNCATE, with the
// message's option bits) into an event and queues it, unless it was
// handed over before.
func (ss *session) change(relID uint32, op pubsub.Operation, m *rowMsg, truncOpts uint8) error {
	if h := ss.s.changeHook; h != nil {
		h()
	}
	ss.s.received.Add(1)
	if ss.skipAll {
		return nil
	}
	ss.idx++
	rel := ss.relations[relID]
	if rel == nil {
		return fmt.Errorf("replication: change for relation %d before its description", relID)
	}
	// Counted for the commit marks even when handed over before.
	ss.touch(rel)
	if ss.idx <= ss.skip {
		return nil
	}
	ev := pubsub.Event{
		Kind:            pubsub.TableChanged,
		Schema:          rel.schema,
		Table:           rel.table,
		Operation:       op,
		LSN:             ss.txnLSN,
		Xid:             ss.txnXid,
		Seq:             uint64(ss.idx),
		CommitTime:      ss.commitTime,
		Cascade:         truncOpts&truncateCascade != 0,
		RestartIdentity: truncOpts&truncateRestartIdentity != 0,
	}
	if m != nil {
		if m.hasNew {
			ev.New = ss.row(rel, m.newCols, false)
		}
		if m.oldKind != 0 {
			ev.Old = ss.row(rel, m.oldCols, m.oldKind == 'K')
		}
		ev.RowID = rel.rowID(ev.New, ev.Old)
	}
	ss.chunk = append(ss.chunk, ev)
	if len(ss.chunk) >= chunkSize {
		ss.flush()
	}
	return nil
}

// flush hands the queued events to the PubSub and records how far that
// went: the transactions completed in the chunk as published, and the
// open one as published up to its last event. Between transactions it
// runs before every read from the socket (see beforeRead), so the
// transactions that arrived in one read are handed over together and
// none waits in the chunk while the Source waits for the server; within
// a transaction it runs when the chunk is full. It reports whether it
// handed over the last events of a transaction.
func (ss *session) flush() (completed bool) {
	if len(ss.chunk) == 0 {
		return false
	}
	s := ss.s
	// It waits while an ack mailbox is full (ack.go).
	if !ss.handOver(ss.chunk) {
		return false
	}
	clear(ss.chunk) // drop the rows for the GC
	ss.chunk = ss.chunk[:0]
	completed = ss.done != doneTxns{}
	ss.settle()
	if ss.inTxn {
		s.pos.partialLSN, s.pos.partialCount = ss.txnLSN, ss.idx
	}
	return completed
}

// commit closes the transaction and queues its commit marks
// (commitmark.go). Its end may be confirmed to the server
// once its events were handed over: at once when none wait in the chunk,
// else by the flush that hands them over.
func (ss *session) commit(commitLSN, endLSN pubsub.LSN) {
	// A transaction replayed whole changes nothing in the position: a
	// later one may still be the one cut off in its middle.
	if !ss.skipAll {
		ss.done.commit = max(ss.done.commit, commitLSN)
		ss.done.any = true
	}
	ss.done.end = max(ss.done.end, pglogrepl.LSN(endLSN))
	ss.commitMarks()
	ss.inTxn = false
	if len(ss.chunk) == 0 {
		ss.settle()
	}
}

// settle records the transactions committed since the last settle as
// handed over.
func (ss *session) settle() {
	p := &ss.s.pos
	if ss.done.any {
		p.lastCommit = max(p.lastCommit, ss.done.commit)
		p.partialLSN, p.partialCount = 0, 0
	}
	ss.ack = max(ss.ack, ss.done.end)
	ss.settled(ss.done)
	ss.done = doneTxns{}
}
