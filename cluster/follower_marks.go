package cluster

import (
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// txnMarks makes a follower's commit marks, as the WAL source makes them
// on the leader: at a transaction's end (the end mark a body's flag
// decodes to), one pubsub.Committed per table the follower handed
// changes of over, then one for TopicAll, Seq following the last change.
// A transaction whose end did not come (a leader that died before
// sending it, a body lost to a gap) is ended when a change of another
// transaction arrives: transactions follow each other in commit order.
// Only the running Serve touches it.
type txnMarks struct {
	lsn    pubsub.LSN // the open transaction; 0: none
	xid    uint32
	at     time.Time
	seq    uint64 // the Seq of its last change or message handed over
	tables []markTable
	out    []pubsub.Event // scratch
}

// markTable is a table of the open transaction and its changes.
type markTable struct {
	schema, table string
	n             uint32
}

// note records ev, a WAL change or message handed over. It reports
// whether ev starts another transaction while one is open: then the
// caller ends that one first (end) and notes ev again.
func (m *txnMarks) note(ev *pubsub.Event) (other bool) {
	if ev.LSN != m.lsn {
		if len(m.tables) > 0 {
			return true
		}
		m.lsn, m.xid, m.at, m.seq = ev.LSN, ev.Xid, ev.CommitTime, 0
	}
	m.seq = max(m.seq, ev.Seq)
	if ev.Kind == pubsub.Message {
		return false
	}
	for i := len(m.tables) - 1; i >= 0; i-- {
		if t := &m.tables[i]; t.table == ev.Table && t.schema == ev.Schema {
			t.n++
			return false
		}
	}
	m.tables = append(m.tables, markTable{ev.Schema, ev.Table, 1})
	return false
}

// end returns the marks of the open transaction when lsn is it (any
// transaction when lsn is 0) and forgets it; nil when there are none.
// The result is reused by the next call.
func (m *txnMarks) end(lsn pubsub.LSN) []pubsub.Event {
	if len(m.tables) == 0 || lsn != 0 && lsn != m.lsn {
		return nil
	}
	mark := pubsub.Event{Kind: pubsub.Committed, LSN: m.lsn, Xid: m.xid, CommitTime: m.at}
	out := m.out[:0]
	seq := m.seq
	var total uint32
	for _, t := range m.tables {
		seq++
		total += t.n
		ev := mark
		ev.Schema, ev.Table, ev.Count, ev.Seq = t.schema, t.table, t.n, seq
		out = append(out, ev)
	}
	mark.Count, mark.Seq = total, seq+1
	out = append(out, mark)
	m.out = out
	m.reset()
	return out
}

// reset forgets the open transaction (after a Resync too).
func (m *txnMarks) reset() {
	clear(m.tables)
	m.lsn, m.seq, m.tables = 0, 0, m.tables[:0]
}
