package shapehttp

import (
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// A shape's snapshot comes from the shape package in one piece (a
// shape.Rows, see Manager.SubscribeBatch) and is served as it came: the
// first client's chunks are encoded straight from its texts. The rows by
// key that later changes need are made from it only when the first
// change arrives (unbatch), not while clients wait for the snapshot.

// freezeBatch makes the snapshot that came whole the one served from now
// on, its rows to be indexed by key with the first change. Call with mu
// held.
func (s *liveShape) freezeBatch() {
	l := s.log
	b := l.loadBatch
	l.loadBatch, l.base = nil, b
	s.snapIDs++
	f := &frozenSnapshot{id: s.snapIDs, head: l.head, batch: b}
	s.prevSnap, s.snap = s.snap, f
}

// unbatch, before the log's first change, puts the rows of the snapshot
// that came whole into the log's rows by key, and has the frozen
// snapshots made of it served from those rows from now on: the same rows
// in the same order, so the same chunks (approxSize and batchSize agree),
// and its texts are not held twice. A request in the middle of a chunk
// keeps the one it has. Call with mu held.
func (s *liveShape) unbatch() {
	l := s.log
	b := l.base
	if b == nil {
		return
	}
	l.base = nil
	keys := make([]string, b.Len())
	rows := make([]*pubsub.Row, b.Len())
	if len(l.rows) == 0 {
		l.rows = make(map[string]*pubsub.Row, b.Len())
	}
	for i := range keys {
		keys[i], rows[i] = b.Key(i), b.Row(i)
		l.rows[keys[i]] = rows[i]
	}
	for _, f := range [...]**frozenSnapshot{&s.snap, &s.prevSnap} {
		if *f != nil && (*f).batch == b {
			*f = &frozenSnapshot{id: (*f).id, head: (*f).head, keys: keys, rows: rows}
		}
	}
}

// materialize puts the rows of base, the frozen snapshot's, into rows:
// the log needs them from the first change on. Frozen snapshots keep
// reading base.
func (l *shapeLog) materialize() {
	b := l.base
	if b == nil {
		return
	}
	l.base = nil
	if len(l.rows) == 0 {
		l.rows = make(map[string]*pubsub.Row, b.Len())
	}
	for i := range b.Len() {
		l.rows[b.Key(i)] = b.Row(i)
	}
}

// batchSize is about the size of the insert message of row i of b:
// exact but for JSON escapes.
func (l *shapeLog) batchSize(b *shape.Rows, pos []int, i int) int {
	n := len(`{"key":"","value":{}`) + len(b.Key(i)) + len(l.insertTail)
	for c := range l.cols {
		n += len(l.names[c]) + len(`"",`)
		if pos[c] >= 0 {
			_, t := b.At(i, pos[c])
			n += len(t)
		}
	}
	return n
}

// batchMessage encodes row i of b as an insert.
func (l *shapeLog) batchMessage(dst []byte, b *shape.Rows, pos []int, i int) []byte {
	dst = append(dst, `{"key":`...)
	dst = appendString(dst, b.Key(i))
	dst = append(dst, `,"value":{`...)
	for c := range l.cols {
		if c > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, l.names[c]...)
		if pos[c] >= 0 {
			if st, t := b.At(i, pos[c]); st == pubsub.Present {
				dst = appendString(dst, t)
				continue
			}
		}
		dst = append(dst, "null"...)
	}
	return append(dst, l.insertTail...)
}
