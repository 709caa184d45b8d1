package cluster

import "github.com/phoenixkit/phoenixkitdb/pubsub"

// Bounds of one batched stream message. A transaction's run of changes
// to one table goes in as few messages as these allow; the server's
// max_payload (less headerRoom) bounds the bytes further.
const (
	// maxBatchChanges bounds the changes in one message: a follower hands
	// a message's changes to its PubSub in one call.
	maxBatchChanges = 1024
	// maxBatchBytes bounds a message's body, well below NATS's default
	// max_payload (1 MB), so that a follower's pull (Follower.pullBytes)
	// holds many.
	maxBatchBytes = 64 << 10
)

// gather returns first and, when first is a change, the events already
// in the relay mailbox (in) that batch with it (none but its
// transaction's end with SingleChangeMessages), within
// maxBatchChanges and maxBytes (first's own size aside: a change too
// large for a message goes alone, see prepare). It never waits: a change
// whose successor is not queued yet goes now, so batching delays
// nothing. The first event read that does not fit is kept in p.held for
// the next message; the transaction's end mark, when queued right after
// its last change, ends the batch. The result is p.batch's storage.
func (p *pipeline) gather(first pubsub.Event, in <-chan pubsub.Event, maxBytes int) []pubsub.Event {
	b := append(p.batch[:0], first)
	p.batch = b
	if !isChange(&first) {
		return b
	}
	single := p.e.c.cfg.SingleChangeMessages
	size := headerSize(&first) + p.enc.changeSize(&first)
	for len(b) < maxBatchChanges {
		var ev pubsub.Event
		var ok bool
		select {
		case ev, ok = <-in:
		default:
			return b
		}
		if !ok {
			return b // closed: the relay's next read sees it too
		}
		if endsTxn(&b[len(b)-1], &ev) {
			// The transaction's end: the body's flag (message_batch.go).
			b = append(b, ev)
			p.batch = b
			return b
		}
		if !single && batchable(&b[len(b)-1], &ev) {
			if n := p.enc.changeSize(&ev); size+n <= maxBytes {
				size += n
				b = append(b, ev)
				p.batch = b
				continue
			}
		}
		p.held, p.holding = ev, true
		return b
	}
	return b
}

// batchBytes is the body size a batch may reach given the server's
// max_payload (0 for unknown).
func batchBytes(maxPayload int64) int {
	if maxPayload > 0 && maxPayload-headerRoom < maxBatchBytes {
		return int(max(maxPayload-headerRoom, 0))
	}
	return maxBatchBytes
}
