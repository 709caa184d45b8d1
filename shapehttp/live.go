package shapehttp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// liveShape is one shape served over HTTP: its feed, its log and the
// handles clients know it by. One goroutine (run, owned by the Handler)
// reads the feed and writes the log; request goroutines read the log under
// mu and wait on changed.
type liveShape struct {
	h   *Handler
	key string
	def definition

	ctx    context.Context
	cancel context.CancelFunc
	opened chan struct{} // closed when the feed is open or failed

	lastUsed atomic.Int64 // unix nanoseconds of the last request
	active   atomic.Int32 // requests using the shape now

	mu         sync.Mutex
	openErr    error    // set before opened is closed
	cols       []column // set before opened is closed
	log        *shapeLog
	ready      bool     // the snapshot is complete (an up-to-date arrived)
	handle     string   // the current handle
	oldHandles []string // handles given out before a must-refetch, still valid for offsets in the log
	dead       bool     // the feed ended: every request must refetch
	changed    chan struct{}
	// snap is the snapshot offset -1 is answered with, prevSnap the one
	// before (see frozenSnapshot); snapIDs counts them.
	snap, prevSnap *frozenSnapshot
	snapIDs        uint64
	// lastBody is the last log response body encoded: the clients
	// waiting at one offset, woken by one commit, share it.
	lastBody encodedBody
}

// In NOTIFY mode, where changes carry no transaction, a burst of changes
// counts as complete once the feed was quiet for txnSettle, or after
// txnHold at most.
const (
	txnSettle = 20 * time.Millisecond
	txnHold   = 20 * time.Millisecond
)

// maxOldHandles bounds the handles a shape keeps accepting after it
// rotated its handle.
const maxOldHandles = 8

// newHandle returns a fresh handle: a random part, so that handles of an
// earlier process are never taken for this one's, and the time.
func newHandle(now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-" + strconv.FormatInt(now.UnixMilli(), 10)
}

// run opens the feed and copies its messages into the log until the feed
// ends or the shape is dropped. It is the shape's one writer.
func (s *liveShape) run(full bool) {
	f, err := s.h.open(s.ctx, s.def)
	s.mu.Lock()
	if err != nil {
		s.openErr = err
		s.dead = true
		s.mu.Unlock()
		close(s.opened)
		s.h.forget(s)
		return
	}
	s.cols = f.columns()
	s.log = newShapeLog(s.def.Schema, s.def.Table, s.cols, full, s.h.opts.LogBytes, s.h.opts.LogAge)
	s.mu.Unlock()
	close(s.opened)
	defer f.close()

	// A transaction's changes are committed to the log together, so a
	// response ends only between transactions: in WAL mode at the
	// transaction's Commit (or, should one be missing, when a change of
	// another LSN arrives), however long the source takes between its
	// changes. In NOTIFY mode, where changes carry no transaction, a
	// burst ends after txnSettle without a change, or txnHold at most.
	var (
		pending      []change
		pendingSince time.Time
	)
	for {
		wait := time.Duration(-1)
		if len(pending) > 0 && pending[0].lsn == 0 {
			wait = txnSettle
			if time.Since(pendingSince) >= txnHold {
				wait = 0
			}
		}
		c, ok, err := f.next(s.ctx, wait)
		if err != nil {
			s.mu.Lock()
			s.dead = true
			s.signal()
			s.mu.Unlock()
			s.h.forget(s)
			if s.ctx.Err() == nil {
				s.h.log.Warn("shapehttp: shape feed ended", "table", s.def.Schema+"."+s.def.Table, "error", err)
			}
			return
		}
		if !ok {
			s.commit(pending)
			pending = pending[:0]
			continue
		}
		switch c.kind {
		case kindInsert, kindUpdate, kindDelete, kindSnapshot:
			if !s.ready { // only this goroutine writes ready
				s.mu.Lock()
				s.log.load(c)
				if c.kind == kindSnapshot && !c.rows.Complete() {
					// Rows still being read: served as they come (see
					// writeChunk), so that the first bytes leave before
					// the last row is read. The UpToDate that follows
					// changes nothing.
					s.ready = true
					s.signal()
					s.freezeBatch()
				}
				s.mu.Unlock()
				continue
			}
			if len(pending) > 0 && c.lsn != pending[0].lsn {
				s.commit(pending)
				pending = pending[:0]
			}
			if len(pending) == 0 {
				pendingSince = time.Now()
			}
			pending = append(pending, c)
		case kindCommit:
			s.commit(pending)
			pending = pending[:0]
		case kindUpToDate:
			s.commit(pending)
			pending = pending[:0]
			if !s.ready {
				s.loaded()
			}
		case kindReset:
			pending = pending[:0]
			s.mu.Lock()
			s.log.reset()
			s.snap, s.prevSnap = nil, nil
			s.ready = false
			s.handle = newHandle(time.Now())
			s.oldHandles = nil
			s.signal()
			s.mu.Unlock()
		}
	}
}

// loaded makes the snapshot just read the shape's rows: clients may read
// it at once, frozen as it came, while the rows are indexed by key.
func (s *liveShape) loaded() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ready = true
	s.signal()
	if len(s.log.rows) > 0 {
		// A delete came during the load (the shape package sends none)
		// and indexed the rows before it: freeze them all from rows.
		s.log.loaded()
		s.frozen()
		return
	}
	if s.log.loadBatch != nil {
		s.freezeBatch()
		return
	}
	keys, rows := s.log.loadKeys, s.log.loadRows
	s.log.loadKeys, s.log.loadRows = nil, nil
	s.freeze(keys, rows, s.log.head)
	s.mu.Unlock()
	// Only this goroutine changes rows, and a request reads them only
	// once the log moved past the snapshot: after this goroutine's next
	// commit. Meanwhile requests read the frozen snapshot.
	m := make(map[string]*pubsub.Row, len(keys))
	for i, k := range keys {
		m[k] = rows[i]
	}
	s.mu.Lock()
	s.log.rows = m
}

// encodedBody is a log response's body and what it was encoded from.
type encodedBody struct {
	from, last, head offset
	upToDate         bool
	body             []byte // nil: none yet
}

// encoded returns the body of a log response: es (the entries after
// from) and, with upToDate, the up-to-date message at head, as a JSON
// array. The last one is kept and shared: the body is never changed.
// Call with mu held.
func (s *liveShape) encoded(from offset, es []entry, upToDate bool, head offset) []byte {
	last := lastOffset(from, es)
	if b := &s.lastBody; b.body != nil && b.from == from && b.last == last && b.head == head && b.upToDate == upToDate {
		return b.body
	}
	size := 2 + 96
	for _, e := range es {
		size += len(e.json) + 1
	}
	body := make([]byte, 0, size)
	body = append(body, '[')
	for i, e := range es {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, e.json...)
	}
	if upToDate {
		if len(es) > 0 {
			body = append(body, ',')
		}
		body = appendUpToDate(body, head.tx+1)
	}
	body = append(body, ']')
	s.lastBody = encodedBody{from: from, last: last, head: head, upToDate: upToDate, body: body}
	return body
}

// encodedEmpty returns the body of a live response that timed out: only
// up-to-date at head.
func (s *liveShape) encodedEmpty(head offset) []byte {
	return append(appendUpToDate([]byte{'['}, head.tx+1), ']')
}

// commit applies one transaction and wakes the waiting requests.
func (s *liveShape) commit(cs []change) {
	if len(cs) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unbatch()
	s.log.commit(cs, time.Now())
	s.signal()
}

// signal wakes every request waiting on changed. Call with mu held.
func (s *liveShape) signal() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// use marks a request using the shape; done undoes it.
func (s *liveShape) use() {
	s.active.Add(1)
	s.lastUsed.Store(time.Now().UnixNano())
}

func (s *liveShape) done() {
	s.lastUsed.Store(time.Now().UnixNano())
	s.active.Add(-1)
}

// idle reports whether no request used the shape for d.
func (s *liveShape) idle(now time.Time, d time.Duration) bool {
	return s.active.Load() == 0 && now.Sub(time.Unix(0, s.lastUsed.Load())) >= d
}

// waitReady blocks until the shape's snapshot is complete, the feed
// failed, or ctx ends.
func (s *liveShape) waitReady(ctx context.Context) error {
	select {
	case <-s.opened:
	case <-ctx.Done():
		return ctx.Err()
	}
	for {
		s.mu.Lock()
		if s.openErr != nil {
			s.mu.Unlock()
			return s.openErr
		}
		if s.ready || s.dead {
			s.mu.Unlock()
			return nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// validHandle reports whether handle names this shape for a client at o.
// Call with mu held.
func (s *liveShape) validHandle(handle string) bool {
	if s.dead {
		return false
	}
	if handle == s.handle {
		return true
	}
	for _, h := range s.oldHandles {
		if h == handle {
			return true
		}
	}
	return false
}

// rotate gives the shape a new handle after a client's offset fell out of
// the log, so that the must-refetch names a handle the client has not
// marked expired; the old one stays valid for clients still inside the
// log. Call with mu held.
func (s *liveShape) rotate() {
	s.oldHandles = append(s.oldHandles, s.handle)
	if len(s.oldHandles) > maxOldHandles {
		s.oldHandles = s.oldHandles[1:]
	}
	s.handle = newHandle(time.Now())
}
