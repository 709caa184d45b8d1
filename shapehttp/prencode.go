package shapehttp

import (
	"net/http"
	"sync"

	"github.com/phoenixkit/phoenixkitdb/shape"
)

// A chunk of a snapshot whose rows are still being read can be sent only
// once its end is known (the next offset is a header), after ChunkBytes
// of rows arrived or the last one. Meanwhile its rows are encoded as they
// arrive, into buffers of the handler's pool (ChunkBytes at most, as a
// log response's body), so that the encoding overlaps the query and the
// body leaves as soon as the end is known.

// encodedRows holds the encoded rows of a chunk, in pooled buffers.
type encodedRows struct {
	pool *sync.Pool
	bufs []*[]byte
}

// add encodes row i of b as an insert message of the chunk; first says
// it is the chunk's first row.
func (e *encodedRows) add(l *shapeLog, b *shape.Rows, pos []int, i int, first bool) {
	if n := len(e.bufs); n == 0 || len(*e.bufs[n-1]) >= writeBufBytes-4<<10 {
		bp := e.pool.Get().(*[]byte)
		*bp = (*bp)[:0]
		if n == 0 {
			*bp = append(*bp, '[')
		}
		e.bufs = append(e.bufs, bp)
	}
	bp := e.bufs[len(e.bufs)-1]
	if !first {
		*bp = append(*bp, ',')
	}
	*bp = l.batchMessage(*bp, b, pos, i)
}

// writeTo sends the chunk's body (the encoded rows as a JSON array) and
// gives the buffers back.
func (e *encodedRows) writeTo(w http.ResponseWriter) {
	if len(e.bufs) == 0 {
		_, _ = w.Write([]byte("[]"))
		return
	}
	last := e.bufs[len(e.bufs)-1]
	*last = append(*last, ']')
	for _, bp := range e.bufs {
		if _, err := w.Write(*bp); err != nil {
			break
		}
	}
	e.release()
}

// release gives the buffers back to the pool.
func (e *encodedRows) release() {
	for _, bp := range e.bufs {
		*bp = (*bp)[:0]
		e.pool.Put(bp)
	}
	e.bufs = nil
}
