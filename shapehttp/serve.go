package shapehttp

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// responder answers one request from one shape.
type responder struct {
	h        *Handler
	w        http.ResponseWriter
	r        *http.Request
	req      *request
	narrowed bool
	cols     []column // the shape's, for the schema header
}

// serve answers the request from s. It returns false, having written
// nothing, when s turns out dead: the caller retries with a fresh shape.
func (rs *responder) serve(s *liveShape) bool {
	if err := s.waitReady(rs.r.Context()); err != nil {
		if rs.r.Context().Err() != nil {
			return true // the client went away
		}
		writeError(rs.w, rs.h.openError(err))
		return true
	}
	switch {
	case rs.req.beforeAll, rs.req.now:
		// The shape may be reset (a fresh snapshot on its way) between
		// waitReady and reading it: wait again then.
		for {
			if done, ready := rs.atHead(s); ready {
				return done
			}
			if err := s.waitReady(rs.r.Context()); err != nil {
				return true
			}
		}
	case rs.req.sse:
		return rs.sse(s)
	}
	if id, start, ok := chunkOf(rs.req.off); ok {
		return rs.snapshotChunk(s, id, start)
	}
	return rs.logChunk(s)
}

// cache sets Cache-Control, public unless the shape was narrowed for its
// caller.
func (rs *responder) cache(v string) {
	if rs.narrowed {
		v = "private" + strings.TrimPrefix(v, "public")
	}
	rs.w.Header().Set("Cache-Control", v)
}

// common sets the headers of every answer about s.
func (rs *responder) common(handle string, off offset) {
	h := rs.w.Header()
	h.Set("electric-handle", handle)
	h.Set("electric-offset", off.String())
	if !rs.req.live {
		h.Set("electric-schema", schemaHeader(rs.cols))
	}
}

// notModified sets the ETag and answers 304 when the client (or a cache
// revalidating) already has this response.
func (rs *responder) notModified(etag string) bool {
	rs.w.Header().Set("ETag", etag)
	for _, v := range rs.r.Header.Values("If-None-Match") {
		for _, t := range strings.Split(v, ",") {
			if strings.TrimSpace(t) == etag {
				rs.w.WriteHeader(http.StatusNotModified)
				return true
			}
		}
	}
	return false
}

// mustRefetch answers 409 naming the shape's current handle.
func (rs *responder) mustRefetch(handle string) {
	h := rs.w.Header()
	h.Set("electric-handle", handle)
	h.Set("Content-Type", "application/json")
	rs.cache("public, max-age=60, must-revalidate")
	rs.w.WriteHeader(http.StatusConflict)
	_, _ = rs.w.Write(mustRefetchBody)
}

// atHead answers offset -1 or now; ready is false, with nothing written,
// when the shape's snapshot is being taken again.
func (rs *responder) atHead(s *liveShape) (done, ready bool) {
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return false, true
	}
	if !s.ready {
		s.mu.Unlock()
		return false, false
	}
	if rs.req.now {
		return rs.now(s), true
	}
	return rs.snapshot(s), true
}

// now answers offset=now: no rows, up-to-date at the log's head. Call
// with s.mu held; it unlocks.
func (rs *responder) now(s *liveShape) bool {
	head, handle := s.log.head, s.handle
	rs.cols = s.log.cols
	s.mu.Unlock()
	rs.common(handle, head)
	rs.w.Header().Set("electric-up-to-date", "")
	rs.cache("public, max-age=" + strconv.Itoa(rs.h.opts.MaxAge) + ", stale-while-revalidate=" + strconv.Itoa(rs.h.opts.StaleAge))
	body := append([]byte{'['}, appendUpToDate(nil, head.tx+1)...)
	body = append(body, ']')
	rs.w.Header().Set("Content-Type", "application/json")
	_, _ = rs.w.Write(body)
	return true
}

// position checks the request's handle and offset against s and returns
// the entries after the offset. Call with s.mu held. A false ok means the
// answer (409 or 400) is written.
func (rs *responder) position(s *liveShape) (es []entry, upToDate bool, ok bool) {
	l := s.log
	if !s.validHandle(rs.req.handle) {
		rs.mustRefetch(s.handle)
		return nil, false, false
	}
	o := rs.req.off
	// Past head is fine up to "<head.tx+1>_0", the offset an SSE client
	// derives from an up-to-date.
	if l.head.less(o) && o.tx > l.head.tx+1 {
		writeError(rs.w, invalid("offset", "out of bounds for this shape"))
		return nil, false, false
	}
	es, upToDate, gone := l.after(o, rs.h.opts.ChunkBytes)
	if gone {
		if rs.req.handle == s.handle {
			s.rotate()
		}
		rs.mustRefetch(s.handle)
		return nil, false, false
	}
	return es, upToDate, true
}

// logChunk answers a resumed offset: the entries after it, with
// up-to-date when they reach the head; a live request with nothing to
// send waits for a change or LongPollTimeout.
func (rs *responder) logChunk(s *liveShape) bool {
	var timeout <-chan time.Time
	if rs.req.live {
		t := time.NewTimer(rs.h.opts.LongPollTimeout)
		defer t.Stop()
		timeout = t.C
	}
	for {
		s.mu.Lock()
		if s.dead {
			s.mu.Unlock()
			return false
		}
		rs.cols = s.log.cols
		es, upToDate, ok := rs.position(s)
		if !ok {
			s.mu.Unlock()
			return true
		}
		head := s.log.head
		if len(es) > 0 || !rs.req.live {
			body := s.encoded(rs.req.off, es, upToDate, head)
			s.mu.Unlock()
			rs.writeLog(body, lastOffset(rs.req.off, es), upToDate, false)
			return true
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			rs.writeLog(s.encodedEmpty(head), rs.req.off, true, true)
			return true
		case <-rs.r.Context().Done():
			return true
		case <-rs.h.ctx.Done():
			writeError(rs.w, errClosed)
			return true
		}
	}
}

// writeLog sends body, entries and up-to-date encoded by
// liveShape.encoded, with the headers of a log response reaching last.
func (rs *responder) writeLog(body []byte, last offset, upToDate bool, timedOut bool) {
	rs.common(rs.req.handle, last)
	h := rs.w.Header()
	if upToDate {
		h.Set("electric-up-to-date", "")
	}
	etag := rs.req.handle + ":" + rs.req.off.String() + ":" + last.String()
	if rs.req.live {
		h.Set("electric-cursor", nextCursor(time.Now(), rs.h.opts.LongPollTimeout, rs.req.cursor))
		rs.cache("public, max-age=5, stale-while-revalidate=5")
		if timedOut {
			// An empty live answer must never revalidate as "the same":
			// the client would loop on it.
			etag += ":" + strconv.FormatInt(time.Now().UnixNano(), 10)
		}
	} else {
		rs.cache("public, max-age=" + strconv.Itoa(rs.h.opts.MaxAge) + ", stale-while-revalidate=" + strconv.Itoa(rs.h.opts.StaleAge))
	}
	if rs.notModified(`"` + etag + `"`) {
		return
	}
	h.Set("Content-Type", "application/json")
	_, _ = rs.w.Write(body)
}

// lastOffset is the offset of the last of es, from when es is empty.
func lastOffset(from offset, es []entry) offset {
	if len(es) > 0 {
		return es[len(es)-1].off
	}
	return from
}
