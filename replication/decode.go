package replication

import (
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// chunkSize is how many events are handed to the PubSub at once: a large
// transaction streams through in chunks, never buffered whole.
const chunkSize = 512

// relation is a table as the server last described it on this connection.
type relation struct {
	schema, table string
	cols          []column
	uuidCol       int // index of the "uuid" column, -1 if none
	idCol         int // index of the "id" column, -1 if none
}

type column struct {
	name string
	oid  uint32
	key  bool // part of the replica identity
}

func newRelation(m *pglogrepl.RelationMessage) *relation {
	r := &relation{schema: m.Namespace, table: m.RelationName, uuidCol: -1, idCol: -1}
	r.cols = make([]column, len(m.Columns))
	for i, c := range m.Columns {
		r.cols[i] = column{name: c.Name, oid: c.DataType, key: c.Flags&1 != 0}
		switch c.Name {
		case "uuid":
			r.uuidCol = i
		case "id":
			r.idCol = i
		}
	}
	return r
}

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

// message handles one pgoutput message.
func (ss *session) message(data []byte) error {
	msg, err := parse(data)
	if err != nil {
		return err
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		ss.relations[m.RelationID] = newRelation(m)
	case *pglogrepl.BeginMessage:
		ss.begin(uint64(m.FinalLSN), m.CommitTime)
	case *pglogrepl.InsertMessage:
		return ss.change(m.RelationID, "INSERT", m.Tuple, 0, nil)
	case *pglogrepl.UpdateMessage:
		return ss.change(m.RelationID, "UPDATE", m.NewTuple, m.OldTupleType, m.OldTuple)
	case *pglogrepl.DeleteMessage:
		return ss.change(m.RelationID, "DELETE", nil, m.OldTupleType, m.OldTuple)
	case *pglogrepl.TruncateMessage:
		for _, id := range m.RelationIDs {
			if err := ss.change(id, "TRUNCATE", nil, 0, nil); err != nil {
				return err
			}
		}
	case *pglogrepl.CommitMessage:
		ss.commit(m)
	}
	return nil
}

// begin opens a transaction and decides what of it was handed over
// before: all of it when its commit position is not past the last one
// published (a replay after a restart), its first events when it is the
// transaction a broken connection cut off in its middle.
func (ss *session) begin(lsn uint64, commitTime time.Time) {
	p := &ss.s.pos
	ss.inTxn, ss.txnLSN, ss.commitTime = true, lsn, commitTime
	ss.idx, ss.skip, ss.skipAll = 0, 0, false
	switch {
	case lsn <= p.lastCommit:
		ss.skipAll = true
	case lsn == p.partialLSN:
		ss.skip = p.partialCount
	}
}

// change turns one row change (or one table of a TRUNCATE) into an event
// and queues it, unless it was handed over before.
func (ss *session) change(relID uint32, op string, newTuple *pglogrepl.TupleData, oldType uint8, oldTuple *pglogrepl.TupleData) error {
	if h := ss.s.changeHook; h != nil {
		h()
	}
	ss.s.received.Add(1)
	if ss.skipAll {
		return nil
	}
	ss.idx++
	if ss.idx <= ss.skip {
		return nil
	}
	rel := ss.relations[relID]
	if rel == nil {
		return fmt.Errorf("replication: change for relation %d before its description", relID)
	}
	ev := pubsub.Event{
		Kind:       pubsub.TableChanged,
		Schema:     rel.schema,
		Table:      rel.table,
		Operation:  op,
		LSN:        ss.txnLSN,
		CommitTime: ss.commitTime,
	}
	if newTuple != nil {
		ev.New = ss.row(rel, newTuple, false)
		ev.RowID = rowID(rel, newTuple)
	}
	if oldTuple != nil {
		ev.Old = ss.row(rel, oldTuple, oldType == 'K')
		if newTuple == nil {
			ev.RowID = rowID(rel, oldTuple)
		}
	}
	ss.chunk = append(ss.chunk, ev)
	if len(ss.chunk) >= chunkSize {
		ss.flush()
	}
	return nil
}

// flush hands the queued events to the PubSub and records how far into
// the open transaction that went.
func (ss *session) flush() {
	if len(ss.chunk) == 0 {
		return
	}
	s := ss.s
	// Counted first, so that a reader who got an event sees it counted.
	s.published.Add(uint64(len(ss.chunk)))
	if err := s.ps.BroadcastChanges(ss.chunk); err != nil {
		// Cannot happen: every event has a schema and a table.
		s.published.Add(^uint64(len(ss.chunk) - 1))
		s.log.Error("replication: publishing failed", "err", err)
	}
	s.pos.partialLSN, s.pos.partialCount = ss.txnLSN, ss.idx
	clear(ss.chunk) // drop the maps for the GC
	ss.chunk = ss.chunk[:0]
}

// commit closes the transaction: everything of it was handed over, so
// its end may be confirmed to the server.
func (ss *session) commit(m *pglogrepl.CommitMessage) {
	ss.flush()
	p := &ss.s.pos
	// A transaction replayed whole changes nothing: a later one may still
	// be the one cut off in its middle.
	if !ss.skipAll {
		p.lastCommit = max(p.lastCommit, uint64(m.CommitLSN))
		p.partialLSN, p.partialCount = 0, 0
	}
	ss.inTxn = false
	ss.ack = max(ss.ack, m.TransactionEndLSN)
}

// row decodes a tuple into column name -> value. Unchanged TOASTed values
// ('u') are left out: the server did not send them. keyOnly keeps the
// replica identity columns of an old key tuple, whose other columns the
// server sends as nulls that mean "not sent".
func (ss *session) row(rel *relation, t *pglogrepl.TupleData, keyOnly bool) map[string]any {
	m := make(map[string]any, len(t.Columns))
	for i, c := range t.Columns {
		if i >= len(rel.cols) {
			break
		}
		col := rel.cols[i]
		if keyOnly && !col.key {
			continue
		}
		switch c.DataType {
		case pglogrepl.TupleDataTypeNull:
			m[col.name] = nil
		case pglogrepl.TupleDataTypeText:
			m[col.name] = ss.value(col.oid, c.Data)
		case pglogrepl.TupleDataTypeBinary:
			m[col.name] = c.Data
		}
	}
	return m
}

// value decodes a text-format value as pgx would into any; a uuid stays
// its canonical text (pgx would give [16]byte), and a type pgx does not
// know (an enum, a domain) stays text.
func (ss *session) value(oid uint32, data []byte) any {
	if oid == pgtype.UUIDOID {
		return string(data)
	}
	if t, ok := ss.types.TypeForOID(oid); ok {
		if v, err := t.Codec.DecodeValue(ss.types, oid, pgtype.TextFormatCode, data); err == nil {
			return v
		}
	}
	return string(data)
}

// rowID applies the trigger's rule: the "uuid" column when the table has
// one, else "id", else empty; as text.
func rowID(rel *relation, t *pglogrepl.TupleData) string {
	col := rel.uuidCol
	if col < 0 {
		col = rel.idCol
	}
	if col < 0 || col >= len(t.Columns) || t.Columns[col].DataType != pglogrepl.TupleDataTypeText {
		return ""
	}
	return string(t.Columns[col].Data)
}
