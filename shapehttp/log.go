package shapehttp

import (
	"sort"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// cell is one column's value in PostgreSQL's text form; null for SQL NULL.
type cell struct {
	text string
	null bool
}

// rowVals is a row of the shape: one cell per shape column. A rowVals is
// never changed once stored, so a snapshot may share it.
type rowVals []cell

// entry is one change in the log, encoded as the protocol sends it.
type entry struct {
	off  offset
	at   time.Time
	json []byte
}

// entryOverhead approximates the memory an entry costs beyond its JSON.
const entryOverhead = 64

// shapeLog is a shape's state for HTTP clients: its current rows (to serve
// offset -1) and the recent changes after them (to serve resumed offsets),
// kept within a byte and an age bound. Entries after tail are all there:
// a client whose offset is older than tail must refetch, so nothing is
// ever skipped silently. It is not safe for concurrent use; liveShape
// guards it.
type shapeLog struct {
	cols     []column
	pk       []int  // shape column positions of the key, in key order
	full     bool   // replica=full: whole rows and old values
	relation []byte // `["schema","table"]`
	maxBytes int
	maxAge   time.Duration

	rows    map[string]rowVals
	entries []entry // committed, by offset
	bytes   int
	tail    offset // every entry after tail is in entries
	head    offset // the last committed position
}

// newShapeLog returns an empty log for a shape of cols.
func newShapeLog(schema, table string, cols []column, full bool, maxBytes int, maxAge time.Duration) *shapeLog {
	l := &shapeLog{cols: cols, full: full, maxBytes: maxBytes, maxAge: maxAge, rows: map[string]rowVals{}}
	type kp struct{ pos, idx int }
	var keys []kp
	for i, c := range cols {
		if c.pkIndex >= 0 {
			keys = append(keys, kp{c.pkIndex, i})
		}
	}
	sort.Slice(keys, func(a, b int) bool { return keys[a].pos < keys[b].pos })
	for _, k := range keys {
		l.pk = append(l.pk, k.idx)
	}
	r := append([]byte{'['}, appendString(nil, schema)...)
	r = append(r, ',')
	r = appendString(r, table)
	l.relation = append(r, ']')
	return l
}

// reset forgets every row and entry; the log starts over after head, so
// offsets keep growing.
func (l *shapeLog) reset() {
	l.rows = map[string]rowVals{}
	l.entries = nil
	l.bytes = 0
	l.tail = l.head
}

// load adds a snapshot row, before the first up-to-date.
func (l *shapeLog) load(c change) {
	if c.kind == kindDelete {
		delete(l.rows, c.key)
		return
	}
	l.rows[c.key] = l.values(c.row, l.rows[c.key])
}

// values reads the shape's columns from r; a column r lacks (absent, or
// an unchanged TOASTed value) keeps its value in prev.
func (l *shapeLog) values(r *pubsub.Row, prev rowVals) rowVals {
	v := make(rowVals, len(l.cols))
	for i, c := range l.cols {
		switch r.State(c.name) {
		case pubsub.Present:
			t, _ := r.Text(c.name)
			v[i] = cell{text: t}
		case pubsub.Null:
			v[i] = cell{null: true}
		default:
			if prev != nil {
				v[i] = prev[i]
			} else {
				v[i] = cell{null: true}
			}
		}
	}
	return v
}

// commit appends one transaction's changes and makes them visible: head
// moves to its last entry. It then drops the oldest entries past the
// bounds.
func (l *shapeLog) commit(cs []change, now time.Time) {
	if len(cs) == 0 {
		return
	}
	tx := l.head.tx + 2
	if lsn := uint64(cs[0].lsn); lsn >= tx {
		tx = lsn
	}
	// In WAL mode the offset is the change's own (LSN, Seq); otherwise
	// (NOTIFY mode, or a transaction whose first part was committed
	// already) the change's place in the batch.
	bySeq := tx == uint64(cs[0].lsn)
	for i := 1; bySeq && i < len(cs); i++ {
		bySeq = cs[i].lsn == cs[0].lsn && cs[i].seq > cs[i-1].seq
	}
	for i, c := range cs {
		off := offset{tx: tx, op: uint64(i)}
		if bySeq {
			off.op = c.seq
		}
		b := l.apply(c, off)
		if b == nil {
			continue
		}
		l.entries = append(l.entries, entry{off: off, at: now, json: b})
		l.bytes += len(b) + entryOverhead
		l.head = off
	}
	if l.head.tx < tx {
		// Nothing of the transaction touched the shape's rows as HTTP
		// clients see them; the position still moves so that offsets
		// stay increasing.
		l.head = offset{tx: tx}
	}
	l.trim(now)
}

// trim drops entries from the front while the log is over its byte bound
// or they are older than the age bound.
func (l *shapeLog) trim(now time.Time) {
	n := 0
	for n < len(l.entries) {
		e := &l.entries[n]
		if l.bytes <= l.maxBytes && (l.maxAge <= 0 || now.Sub(e.at) <= l.maxAge) {
			break
		}
		l.bytes -= len(e.json) + entryOverhead
		l.tail = e.off
		n++
	}
	if n > 0 {
		// Copy the rest down once the dropped part is most of the slice,
		// so the array does not grow without bound.
		l.entries = l.entries[n:]
		if cap(l.entries) > 2*len(l.entries)+64 {
			l.entries = append([]entry(nil), l.entries...)
		}
	}
}

// apply changes the rows for c and returns its message, nil when it does
// not change what clients see.
func (l *shapeLog) apply(c change, off offset) []byte {
	prev, had := l.rows[c.key]
	switch c.kind {
	case kindInsert, kindUpdate:
		// Clients see an insert only for a key they do not have, and an
		// update only for one they have, whatever the feed calls it.
		if !had {
			v := l.values(c.row, nil)
			l.rows[c.key] = v
			return l.message(c, "insert", off, v, nil, nil)
		}
		v := l.values(c.row, prev)
		l.rows[c.key] = v
		changed := make([]bool, len(v))
		for i := range v {
			changed[i] = v[i] != prev[i]
		}
		return l.message(c, "update", off, v, prev, changed)
	case kindDelete:
		if !had {
			return nil
		}
		delete(l.rows, c.key)
		return l.message(c, "delete", off, prev, nil, nil)
	}
	return nil
}

// message encodes a change message. For an update, changed marks the
// columns that differ from prev: with replica=default the value carries
// the key and those columns; with replica=full the whole row and, as
// old_value, the changed columns' old values. A delete carries the key
// (replica=default) or the whole old row.
func (l *shapeLog) message(c change, op string, off offset, v, prev rowVals, changed []bool) []byte {
	b := make([]byte, 0, 128)
	b = append(b, `{"key":`...)
	b = appendString(b, c.key)
	b = append(b, `,"value":{`...)
	first := true
	for i, col := range l.cols {
		include := true
		switch {
		case l.full:
		case op == "update":
			include = changed[i] || col.pkIndex >= 0
		case op == "delete":
			include = col.pkIndex >= 0
		}
		if !include {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendCell(b, col.name, v[i])
	}
	b = append(b, '}')
	if l.full && op == "update" {
		b = append(b, `,"old_value":{`...)
		first = true
		for i, col := range l.cols {
			if !changed[i] {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendCell(b, col.name, prev[i])
		}
		b = append(b, '}')
	}
	b = append(b, `,"headers":{"operation":"`...)
	b = append(b, op...)
	b = append(b, `","relation":`...)
	b = append(b, l.relation...)
	b = append(b, `,"offset":"`...)
	b = append(b, off.String()...)
	b = append(b, '"')
	if c.lsn != 0 {
		b = append(b, `,"lsn":`...)
		b = appendUintString(b, uint64(c.lsn))
		b = append(b, `,"op_position":`...)
		b = appendUintString(b, c.seq)
	}
	return append(b, "}}"...)
}

// appendCell appends "name":value, the value a JSON string or null.
func appendCell(b []byte, name string, c cell) []byte {
	b = appendString(b, name)
	b = append(b, ':')
	if c.null {
		return append(b, "null"...)
	}
	return appendString(b, c.text)
}

// snapshotMessage encodes a row of the snapshot as an insert.
func (l *shapeLog) snapshotMessage(b []byte, key string, v rowVals) []byte {
	b = append(b, `{"key":`...)
	b = appendString(b, key)
	b = append(b, `,"value":{`...)
	for i, col := range l.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCell(b, col.name, v[i])
	}
	b = append(b, `},"headers":{"operation":"insert","relation":`...)
	b = append(b, l.relation...)
	return append(b, "}}"...)
}

// after returns the entries after o, at most maxBytes of them (at least
// one), and whether they reach head. gone reports that o is older than
// the log: entries after it were dropped.
func (l *shapeLog) after(o offset, maxBytes int) (es []entry, upToDate, gone bool) {
	if o.less(l.tail) {
		return nil, false, true
	}
	i := sort.Search(len(l.entries), func(i int) bool { return o.less(l.entries[i].off) })
	size := 0
	j := i
	for j < len(l.entries) {
		size += len(l.entries[j].json)
		if j > i && size > maxBytes {
			break
		}
		j++
	}
	return l.entries[i:j:j], j == len(l.entries), false
}
