package shapehttp

import (
	"net/http"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// frozenSnapshot is a shape's rows at one position of its log, kept so
// that every client starting from offset -1 meanwhile reads the same rows
// in the same chunks: a chunk never changes, so a shared cache may keep
// it, and the client reads the log on from head. It shares the rows with
// the log (pubsub Rows are immutable); its slices are never changed.
type frozenSnapshot struct {
	id   uint64 // 1, 2, ... per shape; 0 for the empty changes_only snapshot
	head offset
	keys []string
	rows []*pubsub.Row
	// batch, when set, holds the rows instead (a snapshot served as the
	// shape package gave it, see batch.go).
	batch *shape.Rows
}

// len returns the number of rows of f.
func (f *frozenSnapshot) len() int {
	if f.batch != nil {
		return f.batch.Len()
	}
	return len(f.rows)
}

// A snapshot chunk's offset is "0_<id << 32 | first row>": no log
// position has tx 0 but the empty log's head "0_0", and the first row of
// a later chunk is never 0.
const chunkRowBits = 32

// chunkOffset is the offset a client asks with for the chunk of f that
// starts at row i (i >= 1).
func (f *frozenSnapshot) chunkOffset(i int) offset {
	return offset{op: f.id<<chunkRowBits | uint64(i)}
}

// chunkOf reads a snapshot chunk's offset: the snapshot's id and the
// chunk's first row.
func chunkOf(o offset) (id uint64, start int, ok bool) {
	if o.tx != 0 || o.op>>chunkRowBits == 0 {
		return 0, 0, false
	}
	return o.op >> chunkRowBits, int(o.op & (1<<chunkRowBits - 1)), true
}

// frozen returns the snapshot to answer offset -1 with: the last one
// frozen while the log still holds every change after it, else the
// current rows, frozen now. Call with mu held.
func (s *liveShape) frozen() *frozenSnapshot {
	l := s.log
	if f := s.snap; f != nil && !f.head.less(l.tail) {
		return f
	}
	s.unbatch()
	keys := make([]string, 0, len(l.rows))
	rows := make([]*pubsub.Row, 0, len(l.rows))
	for k, r := range l.rows {
		keys = append(keys, k)
		rows = append(rows, r)
	}
	return s.freeze(keys, rows, l.head)
}

// freeze makes keys and rows, at head, the snapshot served from now on;
// the one before stays readable for clients in the middle of its chunks.
// Call with mu held.
func (s *liveShape) freeze(keys []string, rows []*pubsub.Row, head offset) *frozenSnapshot {
	s.snapIDs++
	f := &frozenSnapshot{id: s.snapIDs, head: head, keys: keys, rows: rows}
	s.prevSnap, s.snap = s.snap, f
	return f
}

// findSnapshot returns the kept snapshot with id, or nil. Call with mu
// held.
func (s *liveShape) findSnapshot(id uint64) *frozenSnapshot {
	for _, f := range [...]*frozenSnapshot{s.snap, s.prevSnap} {
		if f != nil && f.id == id {
			return f
		}
	}
	return nil
}

// snapshot answers offset -1: the first chunk of the shape's frozen
// snapshot (every row as an insert, none with changes_only). Call with
// s.mu held; it unlocks.
func (rs *responder) snapshot(s *liveShape) bool {
	l, handle := s.log, s.handle
	rs.cols = l.cols
	f := &frozenSnapshot{head: l.head}
	if !rs.req.changesOnly {
		f = s.frozen()
	}
	s.mu.Unlock()
	rs.writeChunk(l, handle, f, 0)
	return true
}

// snapshotChunk answers the offset of a later chunk of a frozen
// snapshot. A snapshot no longer kept (the log moved past it twice while
// the client read its chunks) makes the client refetch.
func (rs *responder) snapshotChunk(s *liveShape, id uint64, start int) bool {
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return false
	}
	defer s.mu.Unlock()
	if !s.validHandle(rs.req.handle) {
		rs.mustRefetch(s.handle)
		return true
	}
	f := s.findSnapshot(id)
	if f == nil || start >= f.len() {
		if rs.req.handle == s.handle {
			s.rotate()
		}
		rs.mustRefetch(s.handle)
		return true
	}
	l := s.log
	rs.cols = l.cols
	s.mu.Unlock()
	rs.writeChunk(l, rs.req.handle, f, start)
	s.mu.Lock() // for the deferred unlock
	return true
}

// writeChunk sends the rows of f from start as inserts, as many as fit
// in ChunkBytes (one at least), with the offset of the next chunk, or
// f's head after the last. The body is encoded as it is sent. Rows still
// being read (see shape.Rows.Wait) are waited for until the chunk's end
// is known; should their query fail, the answer is 503 (the shape then
// starts over with a new handle).
func (rs *responder) writeChunk(l *shapeLog, handle string, f *frozenSnapshot, start int) {
	// The end comes first (the offset is a header): from sizes that
	// leave out JSON escapes, the same for every request.
	var pos []int
	if f.batch != nil {
		pos = l.positions(f.batch.Layout())
	}
	end, size, n := start, 0, f.len()
	var pre *encodedRows // rows encoded while the next ones are read
	if !f.batch.Complete() {
		pre = &encodedRows{pool: &rs.h.bufs}
		defer pre.release()
	}
	for {
		if end == n {
			if f.batch.Complete() {
				// The last rows may have come since n was read.
				if n = f.len(); end == n {
					break
				}
				continue
			}
			var err error
			if n, err = f.batch.Wait(rs.r.Context(), n); err != nil {
				if rs.r.Context().Err() == nil {
					writeError(rs.w, &Error{Status: http.StatusServiceUnavailable, Message: "the shape's snapshot failed; try again", RetryAfter: 1})
				}
				return
			}
			continue
		}
		if f.batch != nil {
			size += l.batchSize(f.batch, pos, end)
		} else {
			size += l.approxSize(f.keys[end], f.rows[end])
		}
		if end > start && size > rs.h.opts.ChunkBytes {
			break
		}
		if pre != nil {
			pre.add(l, f.batch, pos, end, end == start)
		}
		end++
	}
	next := f.head
	if end < n {
		next = f.chunkOffset(end)
	}
	rs.common(handle, next)
	rs.cache("public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746")
	from := "-1"
	if start > 0 {
		from = f.chunkOffset(start).String()
	}
	if rs.notModified(`"` + handle + ":" + from + ":" + next.String() + ":" + f.head.String() + `"`) {
		return
	}
	rs.w.Header().Set("Content-Type", "application/json")
	rs.w.WriteHeader(http.StatusOK)
	if pre != nil {
		pre.writeTo(rs.w)
		return
	}
	bp := rs.h.bufs.Get().(*[]byte)
	defer rs.h.bufs.Put(bp)
	b := append((*bp)[:0], '[')
	for i := start; i < end; i++ {
		if i > start {
			b = append(b, ',')
		}
		if f.batch != nil {
			b = l.batchMessage(b, f.batch, pos, i)
		} else {
			b = l.snapshotMessage(b, f.keys[i], f.rows[i])
		}
		if len(b) >= writeBufBytes-4<<10 {
			if _, err := rs.w.Write(b); err != nil {
				*bp = b[:0]
				return
			}
			b = b[:0]
		}
	}
	b = append(b, ']')
	_, _ = rs.w.Write(b)
	*bp = b[:0]
}

// writeBufBytes is the size of the buffers bodies are encoded into.
const writeBufBytes = 64 << 10

// approxSize is about the size of the insert message of a snapshot row:
// exact but for JSON escapes.
func (l *shapeLog) approxSize(key string, r *pubsub.Row) int {
	n := len(`{"key":"","value":{}`) + len(key) + len(l.insertTail)
	pos := l.positions(r.Layout())
	for i := range l.cols {
		n += len(l.names[i]) + len(`"",`)
		_, t := l.cellOf(r, pos, i)
		n += len(t)
	}
	return n
}
