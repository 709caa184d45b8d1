package pubsub

import "sync"

// chunkLen is the number of events per queue chunk: big enough that a
// burst of a few hundred events costs a handful of chunks, small enough
// that a queue holding a few events keeps little memory.
const chunkLen = 32

// chunk is one link of a queue: a fixed array of events, so that a queue
// grows by whole chunks and never copies what it already holds.
type chunk struct {
	evs  [chunkLen]Event
	next *chunk
}

// chunks recycles the chunks of every mailbox's queue. It is a cache, not
// state: a chunk taken from it holds only zero events, and the garbage
// collector empties it, so memory a burst needed goes back to the heap
// once the burst is over. It is package-level because a Mailbox is not
// tied to one PubSub and chunks are worth sharing between mailboxes.
var chunks = sync.Pool{New: func() any { return new(chunk) }}

// queue is a FIFO of events made of chunks taken from the pool on demand
// and given back as soon as they are read: an empty queue holds no memory,
// one holding n events about n*sizeof(Event) rounded up to a chunk. The
// zero value is an empty queue. It is not safe for concurrent use: its
// Mailbox's mu guards it.
type queue struct {
	n          int // events held
	w, r       int // next write index in tail, next read index in head
	tail, head *chunk
}

// push appends ev.
func (q *queue) push(ev *Event) {
	if q.tail == nil || q.w == chunkLen {
		c := chunks.Get().(*chunk)
		if q.tail == nil {
			q.head, q.r = c, 0
		} else {
			q.tail.next = c
		}
		q.tail, q.w = c, 0
	}
	q.tail.evs[q.w] = *ev
	q.w++
	q.n++
}

// pushAll appends evs in order, as push would one by one, copying whole
// runs per chunk; a zero Kind becomes TableChanged, as the delivery
// loops read it.
func (q *queue) pushAll(evs []Event) {
	for len(evs) > 0 {
		if q.tail == nil || q.w == chunkLen {
			c := chunks.Get().(*chunk)
			if q.tail == nil {
				q.head, q.r = c, 0
			} else {
				q.tail.next = c
			}
			q.tail, q.w = c, 0
		}
		dst := q.tail.evs[q.w:]
		n := copy(dst, evs)
		for i := range dst[:n] {
			if dst[i].Kind == 0 {
				dst[i].Kind = TableChanged
			}
		}
		q.w += n
		q.n += n
		evs = evs[n:]
	}
}

// front returns the oldest event, in place. The queue must not be empty.
func (q *queue) front() *Event { return &q.head.evs[q.r] }

// drop removes the oldest event. The queue must not be empty. Slots are
// not cleared one by one: a chunk is cleared as a whole when it goes back
// to the pool.
func (q *queue) drop() {
	c := q.head
	q.r++
	q.n--
	switch {
	case q.n == 0:
		// Empty: give the last chunk back too, whatever its fill.
		q.release(c)
		q.head, q.tail, q.r, q.w = nil, nil, 0, 0
	case q.r == chunkLen:
		q.head, q.r = c.next, 0
		q.release(c)
	}
}

// pop removes and returns the oldest event. The queue must not be empty.
func (q *queue) pop() Event {
	ev := *q.front()
	q.drop()
	return ev
}

// reset drops every event and gives the chunks back.
func (q *queue) reset() {
	for q.n > 0 {
		q.drop()
	}
}

// chunkCount returns the number of chunks the queue holds.
func (q *queue) chunkCount() int {
	n := 0
	for c := q.head; c != nil; c = c.next {
		n++
	}
	return n
}

// release clears c, so that the pool keeps no string alive, and gives it
// back to the pool.
func (q *queue) release(c *chunk) {
	*c = chunk{}
	chunks.Put(c)
}
