package shape

import (
	"sync"
	"sync/atomic"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Subscription is one subscriber of a shape: read its messages from C.
// Close it when done. Its methods are safe for concurrent use.
//
// Messages wait in a queue behind C while the reader is behind; a small
// goroutine of the subscription hands them over and ends when the queue
// is empty. More than Config.Buffer live messages waiting make the
// subscription start over: its queue is dropped and it receives Reset
// and a fresh snapshot, so a slow reader never holds up the others.
type Subscription struct {
	m    *Manager
	info *Shape // set by the router before ready is closed
	ch   chan Message

	ready     chan struct{}
	readyOnce sync.Once
	err       error // set before ready is closed

	mu       sync.Mutex
	queue    []Message
	live     int // live messages in queue
	closed   bool
	pumping  bool
	inflight bool
	stop     chan struct{} // made with the first pump, closed by Close
	pumps    sync.WaitGroup
	sent     atomic.Uint64

	// batch: snapshots come as one Snapshot message (SubscribeBatch).
	batch bool

	// Router-owned.
	sh      *shape
	waiting bool // waiting for a snapshot; messages go to pending
	ownSnap bool // the snapshot waited for is the subscription's own
	reset   bool // the snapshot waited for starts with Reset
	// streamed: it holds the Rows of the shape's snapshot being read
	// (snapshotStarted), and waits for its UpToDate.
	streamed bool
	gen      uint64 // generation of the subscription's own snapshot
	pending  []Message
	// snap is the subscription's own snapshot until the stream passes it.
	snap     *pgSnapshot
	detached bool
	// txn is the LSN of the transaction the subscription was last sent
	// a message of while its Commit is due; 0 when none is.
	txn pubsub.LSN
}

// chanSlots is the buffer of a subscription's channel.
const chanSlots = 4

func newSubscription(m *Manager) *Subscription {
	return &Subscription{m: m, ch: make(chan Message, chanSlots), ready: make(chan struct{})}
}

// C returns the channel of the subscription's messages: the snapshot rows
// (Insert), UpToDate, then the changes. It is closed by Close.
func (s *Subscription) C() <-chan Message { return s.ch }

// Shape describes the subscription's shape.
func (s *Subscription) Shape() *Shape { return s.info }

// Pending returns how many messages the subscription holds that its
// reader has not received.
func (s *Subscription) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.ch) + len(s.queue)
	if s.inflight {
		n++
	}
	return n
}

// Delivered returns how many messages were put into C so far.
func (s *Subscription) Delivered() uint64 { return s.sent.Load() }

// Close ends the subscription: C is closed (messages still in its buffer
// can be read) and the shape forgets the subscriber; a shape left without
// subscribers is dropped after Config.Grace. Close is idempotent, never
// blocks for long, and may be called from the goroutine reading C.
func (s *Subscription) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	if s.stop != nil {
		close(s.stop)
	}
	s.mu.Unlock()
	s.pumps.Wait()
	s.mu.Lock()
	s.queue = nil
	close(s.ch)
	s.mu.Unlock()
	s.m.closed(s)
}

// isClosed reports whether Close was called.
func (s *Subscription) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// finish ends Subscribe's wait, with err or successfully.
func (s *Subscription) finish(err error) {
	s.readyOnce.Do(func() {
		s.err = err
		close(s.ready)
	})
}

// push queues msgs for the reader without blocking. live messages count
// against limit; when they would exceed it, push drops everything queued
// and reports false: the caller starts the subscription over. A closed
// subscription takes everything and keeps nothing.
func (s *Subscription) push(msgs []Message, live bool, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return true
	}
	if live && s.live+len(msgs) > limit {
		s.queue = nil
		s.live = 0
		return false
	}
	if !live && len(s.queue) == 0 && len(msgs) > cap(s.ch) {
		// A snapshot: the queue takes the caller's slice as it is.
		s.queue, msgs = msgs, nil
	}
	for _, msg := range msgs {
		if !s.pumping && len(s.queue) == 0 && len(s.ch) < cap(s.ch) {
			s.ch <- msg
			s.sent.Add(1)
			continue
		}
		s.queue = append(s.queue, msg)
		if live {
			s.live++
		}
	}
	if len(s.queue) > 0 && !s.pumping {
		s.pumping = true
		if s.stop == nil {
			s.stop = make(chan struct{})
		}
		s.pumps.Add(1)
		go s.pump()
	}
	return true
}

// pump hands queued messages to C in order until the queue is empty or
// the subscription is closed.
func (s *Subscription) pump() {
	defer s.pumps.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.closed && len(s.queue) > 0 {
		// While C has room nothing else sends to it: hand over a run of
		// messages under one lock.
		for len(s.queue) > 0 && len(s.ch) < cap(s.ch) {
			s.ch <- s.queue[0]
			s.sent.Add(1)
			s.queue[0] = Message{}
			s.queue = s.queue[1:]
		}
		if s.live > len(s.queue) {
			s.live = len(s.queue)
		}
		if len(s.queue) == 0 {
			break
		}
		msg := s.queue[0]
		s.queue[0] = Message{}
		s.queue = s.queue[1:]
		if s.live > len(s.queue) {
			// Live messages are always the last ones queued.
			s.live = len(s.queue)
		}
		s.inflight = true
		s.mu.Unlock()
		select {
		case s.ch <- msg:
			s.sent.Add(1)
		case <-s.stop:
		}
		s.mu.Lock()
		s.inflight = false
	}
	if len(s.queue) == 0 {
		s.queue = nil
	}
	s.pumping = false
}
