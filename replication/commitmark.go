package replication

import "github.com/phoenixkit/phoenixkitdb/pubsub"

// Commit marks: at the Commit of a transaction it handed over, wholly or
// partly, the Source hands over one pubsub.Committed event per table the
// transaction changed (to that table's topic) and one for TopicAll, after
// the transaction's last change and through the same acked hand-over.
// Their Seq follows the transaction's changes, in the order the tables
// were first changed, so (LSN, Seq) stays unique, increasing and stable,
// and a transaction cut off among its marks resumes with the rest of them.

// txnTable is one table a transaction changed, with its change count.
type txnTable struct {
	schema, table string
	n             uint32
}

// touch counts a change of rel in the open transaction. A transaction
// changes few tables, usually one: a slice, searched from its end.
func (ss *session) touch(rel *relation) {
	ts := ss.txnTables
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].table == rel.table && ts[i].schema == rel.schema {
			ts[i].n++
			return
		}
	}
	ss.txnTables = append(ts, txnTable{rel.schema, rel.table, 1})
}

// commitMarks queues the open transaction's marks not handed over before
// (a resumed transaction skips ss.skip events, marks included).
func (ss *session) commitMarks() {
	if ss.skipAll || len(ss.txnTables) == 0 {
		return
	}
	mark := pubsub.Event{Kind: pubsub.Committed, LSN: ss.txnLSN, Xid: ss.txnXid, CommitTime: ss.commitTime}
	seq := ss.idx
	var total uint32
	for _, t := range ss.txnTables {
		seq++
		total += t.n
		if seq > ss.skip {
			m := mark
			m.Schema, m.Table, m.Count, m.Seq = t.schema, t.table, t.n, uint64(seq)
			ss.chunk = append(ss.chunk, m)
		}
	}
	if seq++; seq > ss.skip {
		mark.Count, mark.Seq = total, uint64(seq)
		ss.chunk = append(ss.chunk, mark)
	}
}

// countChanges returns how many of evs are not marks: what the Source's
// Published counts.
func countChanges(evs []pubsub.Event) uint64 {
	n := uint64(len(evs))
	for i := range evs {
		if evs[i].Kind == pubsub.Committed {
			n--
		}
	}
	return n
}
