package shapehttp

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

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

	// rows are the shape's current rows by key (pubsub Rows are
	// immutable: a frozen snapshot shares them). During the first load
	// they are collected in loadKeys and loadRows instead, in order.
	rows       map[string]*pubsub.Row
	loadKeys   []string
	loadRows   []*pubsub.Row
	names      [][]byte // `"column":` of each shape column
	insertTail []byte   // `},"headers":{"operation":"insert","relation":[…]}}`
	layoutPos  atomic.Pointer[layoutPos]
	entries    []entry // committed, by offset
	bytes      int
	tail       offset // every entry after tail is in entries
	head       offset // the last committed position

	// loadBatch is a snapshot that came whole during the first load;
	// base, once it is frozen, its rows not yet in rows (see
	// materialize).
	loadBatch, base *shape.Rows
}

// newShapeLog returns an empty log for a shape of cols.
func newShapeLog(schema, table string, cols []column, full bool, maxBytes int, maxAge time.Duration) *shapeLog {
	l := &shapeLog{cols: cols, full: full, maxBytes: maxBytes, maxAge: maxAge, rows: map[string]*pubsub.Row{}}
	for _, c := range cols {
		l.names = append(l.names, append(appendString(nil, c.name), ':'))
	}
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
	l.insertTail = append(append([]byte(`},"headers":{"operation":"insert","relation":`), l.relation...), "}}"...)
	return l
}

// reset forgets every row and entry; the log starts over after head, so
// offsets keep growing.
func (l *shapeLog) reset() {
	l.rows = map[string]*pubsub.Row{}
	l.loadKeys, l.loadRows = nil, nil
	l.loadBatch, l.base = nil, nil
	l.entries = nil
	l.bytes = 0
	l.tail = l.head
}

// load adds a snapshot row, before the snapshot's up-to-date: rows are
// collected in order and indexed by key once, by loaded.
func (l *shapeLog) load(c change) {
	if c.kind == kindSnapshot {
		l.loadBatch = c.rows
		return
	}
	if c.kind != kindDelete {
		l.loadKeys = append(l.loadKeys, c.key)
		l.loadRows = append(l.loadRows, l.merge(c.row, nil))
		return
	}
	l.loaded()
	if c.kind == kindDelete {
		delete(l.rows, c.key)
		return
	}
	l.rows[c.key] = l.merge(c.row, l.rows[c.key])
}

// loaded moves the collected snapshot rows into rows, sized at once.
func (l *shapeLog) loaded() {
	if l.loadBatch != nil {
		l.base, l.loadBatch = l.loadBatch, nil
		l.materialize()
	}
	if l.loadKeys == nil {
		return
	}
	if len(l.rows) == 0 {
		l.rows = make(map[string]*pubsub.Row, len(l.loadKeys))
	}
	for i, k := range l.loadKeys {
		l.rows[k] = l.loadRows[i]
	}
	l.loadKeys, l.loadRows = nil, nil
}

// layoutPos maps the shape's columns to their places in one row layout.
type layoutPos struct {
	layout *pubsub.RowLayout
	pos    []int // -1: the layout lacks the column
}

// positions returns where each shape column is in layout (nil: in none).
// The last answer is cached; a returned slice is never changed. It is safe
// for concurrent use.
func (l *shapeLog) positions(layout *pubsub.RowLayout) []int {
	if p := l.layoutPos.Load(); p != nil && p.layout == layout {
		return p.pos
	}
	p := &layoutPos{layout: layout, pos: make([]int, len(l.cols))}
	for i, c := range l.cols {
		p.pos[i] = -1
		for j := 0; layout != nil && j < layout.Len(); j++ {
			if layout.Column(j).Name == c.name {
				p.pos[i] = j
				break
			}
		}
	}
	l.layoutPos.Store(p)
	return p.pos
}

// cellOf returns shape column i of r: its state and text. A column the
// row lacks is Absent.
func (l *shapeLog) cellOf(r *pubsub.Row, pos []int, i int) (pubsub.ColumnState, string) {
	if r == nil || pos[i] < 0 {
		return pubsub.Absent, ""
	}
	return r.At(pos[i])
}

// merge returns r with every shape column it lacks (absent, or an
// unchanged TOASTed value) taken from prev, or null without prev: r itself
// when it lacks none.
func (l *shapeLog) merge(r, prev *pubsub.Row) *pubsub.Row {
	if r == nil {
		return prev
	}
	pos := l.positions(r.Layout())
	complete := true
	for i := range l.cols {
		if st, _ := l.cellOf(r, pos, i); st != pubsub.Present && st != pubsub.Null {
			complete = false
			break
		}
	}
	if complete {
		return r
	}
	// A new row on r's layout; a shape column r's layout lacks entirely
	// stays absent (null to clients).
	cells := make([]pubsub.Cell, r.Len())
	for j := range cells {
		st, t := r.At(j)
		cells[j] = pubsub.Cell{State: st, Text: []byte(t)}
	}
	var ppos []int
	if prev != nil {
		ppos = l.positions(prev.Layout())
	}
	for i := range l.cols {
		j := pos[i]
		if j < 0 || cells[j].State == pubsub.Present || cells[j].State == pubsub.Null {
			continue
		}
		cells[j] = pubsub.Cell{State: pubsub.Null}
		if prev != nil {
			if st, t := l.cellOf(prev, ppos, i); st == pubsub.Present || st == pubsub.Null {
				cells[j] = pubsub.Cell{State: st, Text: []byte(t)}
			}
		}
	}
	m, err := pubsub.NewRow(r.Layout(), cells)
	if err != nil {
		return r // cannot happen: the cells come from rows of this layout
	}
	return m
}

// commit appends one transaction's changes and makes them visible: head
// moves to its last entry. It then drops the oldest entries past the
// bounds.
func (l *shapeLog) commit(cs []change, now time.Time) {
	if len(cs) == 0 {
		return
	}
	l.materialize()
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
			v := l.merge(c.row, nil)
			l.rows[c.key] = v
			return l.message(c, "insert", off, v, nil, nil)
		}
		v := l.merge(c.row, prev)
		l.rows[c.key] = v
		pos, ppos := l.positions(v.Layout()), l.positions(prev.Layout())
		changed := make([]bool, len(l.cols))
		for i := range l.cols {
			s1, t1 := l.cellOf(v, pos, i)
			s2, t2 := l.cellOf(prev, ppos, i)
			changed[i] = s1 != s2 || t1 != t2
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
func (l *shapeLog) message(c change, op string, off offset, v, prev *pubsub.Row, changed []bool) []byte {
	b := make([]byte, 0, 128)
	b = append(b, `{"key":`...)
	b = appendString(b, c.key)
	b = append(b, `,"value":{`...)
	first := true
	pos := l.positions(v.Layout())
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
		b = l.appendCell(b, i, v, pos)
	}
	b = append(b, '}')
	if l.full && op == "update" {
		b = append(b, `,"old_value":{`...)
		first = true
		ppos := l.positions(prev.Layout())
		for i := range l.cols {
			if !changed[i] {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = l.appendCell(b, i, prev, ppos)
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

// appendCell appends "name":value for shape column i of r, the value a
// JSON string or null.
func (l *shapeLog) appendCell(b []byte, i int, r *pubsub.Row, pos []int) []byte {
	b = append(b, l.names[i]...)
	if st, t := l.cellOf(r, pos, i); st == pubsub.Present {
		return appendString(b, t)
	}
	return append(b, "null"...)
}

// snapshotMessage encodes a row of the snapshot as an insert.
func (l *shapeLog) snapshotMessage(b []byte, key string, r *pubsub.Row) []byte {
	b = append(b, `{"key":`...)
	b = appendString(b, key)
	b = append(b, `,"value":{`...)
	pos := l.positions(r.Layout())
	for i := range l.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = l.appendCell(b, i, r, pos)
	}
	return append(b, l.insertTail...)
}

// after returns the entries after o, about maxBytes of them (at least one
// transaction's, and never part of one), and whether they reach head. gone reports that o is older than
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
		// A chunk ends only between transactions: a client never holds
		// part of one.
		if j > i && size > maxBytes && l.entries[j].off.tx != l.entries[j-1].off.tx {
			break
		}
		j++
	}
	return l.entries[i:j:j], j == len(l.entries), false
}
