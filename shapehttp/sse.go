package shapehttp

import (
	"net/http"
	"strconv"
	"time"
)

// sse answers a live request in SSE mode: a text/event-stream that sends
// each change as one event and an up-to-date after each transaction, for
// SSETimeout; then the client reconnects from the offset of the last
// up-to-date.
func (rs *responder) sse(s *liveShape) bool {
	fl, canFlush := rs.w.(http.Flusher)
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return false
	}
	rs.cols = s.log.cols
	es, upToDate, ok := rs.position(s)
	head := s.log.head
	ch := s.changed
	s.mu.Unlock()
	if !ok {
		return true
	}
	rs.common(rs.req.handle, rs.req.off)
	h := rs.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("electric-cursor", nextCursor(time.Now(), rs.h.opts.LongPollTimeout, rs.req.cursor))
	h.Set("X-Accel-Buffering", "no")
	rs.cache("public, max-age=" + strconv.Itoa(max(1, int(rs.h.opts.SSETimeout/time.Second)-1)))
	rs.w.WriteHeader(http.StatusOK)
	if canFlush {
		fl.Flush()
	}
	end := time.NewTimer(rs.h.opts.SSETimeout)
	defer end.Stop()
	pos := rs.req.off
	buf := make([]byte, 0, 4096)
	for {
		if len(es) > 0 {
			buf = buf[:0]
			for _, e := range es {
				buf = append(buf, "data: "...)
				buf = append(buf, e.json...)
				buf = append(buf, "\n\n"...)
			}
			pos = es[len(es)-1].off
			if upToDate {
				buf = append(buf, "data: "...)
				buf = appendUpToDate(buf, head.tx+1)
				buf = append(buf, "\n\n"...)
			}
			if _, err := rs.w.Write(buf); err != nil {
				return true
			}
			if canFlush {
				fl.Flush()
			}
		}
		if len(es) == 0 || upToDate {
			select {
			case <-ch:
			case <-end.C:
				return true
			case <-rs.r.Context().Done():
				return true
			case <-rs.h.ctx.Done():
				return true
			}
		}
		s.mu.Lock()
		if s.dead || !s.validHandle(rs.req.handle) {
			// The client reconnects and is told to refetch.
			s.mu.Unlock()
			return true
		}
		var gone bool
		es, upToDate, gone = s.log.after(pos, rs.h.opts.ChunkBytes)
		head = s.log.head
		ch = s.changed
		s.mu.Unlock()
		if gone {
			return true
		}
	}
}
