package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// relayWindow is how many publishes the relay keeps awaiting JetStream's
// acknowledgement. Waiting for each one before sending the next would
// bound the relay to one round trip per change; a window keeps the
// connection busy while acknowledgements come back, in order. 512 let a
// burst's publishing wait on acknowledgements, in steps, on a loaded
// machine; 4096 publishes a 10,000-change burst about three times faster
// (docs/performance.md, section 8). A failed publish sends the window
// again (de-duplicated by message id), so it also bounds that cost.
const relayWindow = 4096

// pipeline is one term's relay state: the events published and not yet
// acknowledged, in order. Only the relay goroutine touches it.
//
// Order: every message but the first of a run is published with the
// previous one's id as the stream's expected last message id
// (jetstream.WithExpectLastMsgID), so JetStream stores a message only
// right after its predecessor. If one is not stored, none after it in
// the window is; the relay then publishes again from the first one not
// acknowledged, with the same ids. An acknowledged message therefore
// means that every message before it is in the stream, which is what
// confirmLimit relies on. JetStream checks message ids before expected
// last ids, so a retried message that had landed is reported as a
// duplicate, not as out of order.
//
// Fencing: the first message of a run (the window empty, or published
// again) expects the stream's last sequence as this term knows it
// (jetstream.WithExpectLastSequence): read from the stream when the term
// begins, then the highest sequence JetStream acknowledged. A leader
// stalled past its lease that resumes publishing is refused once the next
// leader stored anything, and ends its term (see refused); its changes
// never interleave with the newer term's.
type pipeline struct {
	e     *elector
	js    jetstream.JetStream
	termN uint64
	// lastSeq is the stream's last sequence as this term knows it: what
	// the first message of a run expects.
	lastSeq uint64
	// prev is the stream's last message when the term began.
	prev streamLast
	// slot is the replication slot in WAL mode, "" otherwise.
	slot   string
	win    []*outgoing // published (or to be published again), oldest first
	warned bool        // a failure was logged since the last acknowledgement
	err    error       // why the relay stopped early (errFenced)
	mb     *pubsub.Mailbox
	enc    encoder
	// batch is gather's scratch; held is an event gather read that did
	// not fit the last message (holding says there is one): the next
	// message begins with it.
	batch   []pubsub.Event
	held    pubsub.Event
	holding bool
}

// newPublisher returns the JetStream context through which every term's
// relay on nc publishes: its asynchronous publishes time out after
// publishTimeout and fail at once when the connection drops. There is
// one per connection and it is never cleaned up: nats.go starts the
// goroutine that fails pending publishes on a reconnect at a context's
// first asynchronous publish, and a CleanupPublisher that runs before
// that goroutine has read its status channel leaves it blocked for good
// (a JetStream context per term leaked one that way). The goroutine ends
// when the connection closes. A term that ends with publishes
// unanswered leaves their futures to JetStream's answer or the timeout;
// nobody reads them.
func newPublisher(nc *nats.Conn) (jetstream.JetStream, error) {
	pub, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(publishTimeout),
		jetstream.WithPublishAsyncMaxPending(2*relayWindow))
	if err != nil {
		return nil, fmt.Errorf("cluster: jetstream publisher: %w", err)
	}
	return pub, nil
}

// runRelay publishes every event of t's mailbox to the stream through
// pub (see newPublisher), in order, until ctx ends, or until t.stopRelay
// is closed, the mailbox is empty and every publish is acknowledged.
func (e *elector) runRelay(ctx context.Context, pub jetstream.JetStream, t *term) {
	p := &pipeline{e: e, js: pub, termN: t.n, mb: t.mb}
	if e.c.wal != nil {
		p.slot = e.c.slot
	}
	if !p.begin(ctx) {
		return
	}
	in, stop := t.mb.C(), t.stopRelay
	draining := false
	for {
		for p.holding && len(p.win) < relayWindow {
			ev := p.held
			p.held, p.holding = pubsub.Event{}, false
			if !p.add(ctx, ev, in) {
				return
			}
		}
		if draining && len(p.win) == 0 {
			// The source has returned: what the mailbox holds is all.
			select {
			case ev, ok := <-in:
				if !ok || !p.add(ctx, ev, in) {
					return
				}
				continue
			default:
				return
			}
		}
		var inC <-chan pubsub.Event
		if len(p.win) < relayWindow && !p.holding {
			inC = in
		}
		var okC <-chan *jetstream.PubAck
		var errC <-chan error
		if len(p.win) > 0 {
			okC, errC = p.win[0].fut.Ok(), p.win[0].fut.Err()
		}
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-inC:
			if !ok {
				// The term ended without a drain: stop as the source did.
				return
			}
			if !p.add(ctx, ev, in) {
				return
			}
		case ack := <-okC:
			p.lastSeq = max(p.lastSeq, ack.Sequence)
			e.markStored(p.win[0])
			p.win[0] = nil
			p.win = p.win[1:]
			p.warned = false
		case err := <-errC:
			p.win[0].failed = true // its answer is read: settle must not wait for it
			if !p.recover(ctx, err) {
				if errors.Is(p.err, errFenced) {
					t.fence()
				}
				return
			}
		case <-stop:
			draining, stop = true, nil
		}
	}
}

// add publishes ev after the window, with the events queued in in that
// batch with it (see gather). It returns false when ctx ended.
func (p *pipeline) add(ctx context.Context, ev pubsub.Event, in <-chan pubsub.Event) bool {
	if ev.Kind == pubsub.Resync && ev.Reason == pubsub.ReasonOverflow {
		p.e.relay.warnOverflow(p.e.c.log, p.mb)
	}
	if ev.Kind == pubsub.Resync && ev.Reason == pubsub.ReasonStart && p.slotLost() {
		ev.Reason = ReasonSlotLost
	}
	// The server's limit as the connection last heard it (it may change
	// when the client reconnects to another server).
	maxPayload := p.js.Conn().MaxPayload()
	evs := p.gather(ev, in, batchBytes(maxPayload))
	o := p.e.prepare(p.termN, evs, &p.enc, maxPayload)
	clear(evs) // drop the rows: the body holds what the stream needs
	if o == nil {
		return true
	}
	prev := ""
	if n := len(p.win); n > 0 {
		prev = p.win[n-1].id
	}
	p.win = append(p.win, o)
	if err := p.send(o, prev); err != nil {
		return p.recover(ctx, err)
	}
	return true
}

// begin reads the stream's last sequence, which the term's first message
// expects; it retries until it succeeds or ctx ends (false).
func (p *pipeline) begin(ctx context.Context) bool {
	for {
		l, err := p.e.c.readLast(ctx, p.js)
		if err == nil {
			p.lastSeq, p.prev = l.seq, l
			return true
		}
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			p.recreate(ctx)
			continue
		}
		if !p.warned {
			p.e.c.log.Warn("cluster: cannot read the stream's last message; retrying", "err", err)
			p.warned = true
		}
		if !sleep(ctx, retryMin) {
			return false
		}
	}
}

// send publishes o, expecting prev as the stream's last message id, or
// when prev is empty p.lastSeq as its last sequence.
func (p *pipeline) send(o *outgoing, prev string) error {
	opts := []jetstream.PublishOpt{jetstream.WithMsgID(o.id)}
	if prev != "" {
		opts = append(opts, jetstream.WithExpectLastMsgID(prev))
	} else {
		opts = append(opts, jetstream.WithExpectLastSequence(p.lastSeq))
	}
	// A fresh message every time: the options write its headers.
	fut, err := p.js.PublishMsgAsync(outMsg(o, p.termN, p.slot), opts...)
	o.fut = fut
	return err
}

// recover handles a failed publish (err): it waits until every publish of
// the window has its answer, counts as stored those up to the last one
// acknowledged, and publishes the rest again, retrying until they are all
// sent. It returns false when ctx ended or the term is fenced off (p.err
// is then errFenced, wrapped).
func (p *pipeline) recover(ctx context.Context, err error) bool {
	for {
		fence := wrongLastSeq(err)
		if !p.warned && !fence {
			p.e.c.log.Warn("cluster: cannot publish to the stream; retrying", "err", err)
			p.warned = true
		}
		if !p.settle(ctx) {
			return false
		}
		if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
			// No stream takes the subject: it was deleted.
			p.recreate(ctx)
		}
		if fence {
			if err = p.refused(ctx); errors.Is(err, errFenced) {
				p.err = err
				p.e.c.log.Error("cluster: another leader stored messages after this term's; ending the term without publishing more",
					"term", p.termN, "err", err)
				return false
			}
			if err != nil {
				// Could not read the stream: try again after a pause.
				if !sleep(ctx, retryMin) {
					return false
				}
				continue
			}
		}
		if len(p.win) == 0 {
			return true
		}
		if !sleep(ctx, retryMin) {
			return false
		}
		if err = p.resend(); err == nil {
			return true
		}
	}
}

// settle waits for the answer to every publish of the window, then drops
// from its front, as stored, the messages up to the last one JetStream
// acknowledged: each of them was stored right after its predecessor.
// It returns false when ctx ended.
func (p *pipeline) settle(ctx context.Context) bool {
	lastOK := -1
	for i, o := range p.win {
		if o.fut == nil {
			break // never sent, nor anything after it
		}
		if o.failed {
			continue
		}
		select {
		case ack := <-o.fut.Ok():
			p.lastSeq = max(p.lastSeq, ack.Sequence)
			lastOK = i
		case <-o.fut.Err():
		case <-ctx.Done():
			return false
		}
	}
	for i := 0; i <= lastOK; i++ {
		p.e.markStored(p.win[i])
		p.win[i] = nil
	}
	p.win = p.win[lastOK+1:]
	if lastOK >= 0 {
		p.warned = false
	}
	return true
}

// resend publishes the whole window again, the first message without an
// expected last id. On a failure the messages from the failed one on are
// marked unsent.
func (p *pipeline) resend() error {
	for _, o := range p.win {
		o.fut, o.failed = nil, false
	}
	prev := ""
	for _, o := range p.win {
		if err := p.send(o, prev); err != nil {
			o.fut = nil
			return err
		}
		prev = o.id
	}
	return nil
}

// recreate creates the stream again with the configured settings after it
// was found missing. Followers notice the new stream (its creation time)
// and send their mailboxes a Resync (ReasonStreamReset). The next publish
// expects the old stream's last sequence and is refused: refused then
// adopts the new stream's.
func (p *pipeline) recreate(ctx context.Context) {
	p.e.c.log.Warn("cluster: the stream is missing; creating it again with the configured settings", "stream", p.e.c.cfg.Stream)
	if _, err := p.e.c.ensureStream(ctx, p.js); err != nil {
		p.e.c.log.Warn("cluster: cannot create the stream; retrying", "err", err)
	}
}

// slotLost reports, when the WAL source's first start created the slot,
// whether the slot existed before: the stream's last message when the
// term began was read from it. The source then sends only its start
// Resync, which the stream does not carry, and logs that it creates the
// slot; the changes committed between the last leader's and the new
// slot's are gone, and followers must be told. A slot the stream never
// named (a new deployment; or messages that aged out) is not reported.
func (p *pipeline) slotLost() bool {
	w := p.e.c.wal
	if w == nil || p.prev.slot != p.slot || w.Stats().SlotsCreated <= p.e.relay.slotsBase.Load() {
		return false
	}
	p.e.c.log.Error("cluster: the replication slot the last leader read is gone (dropped, or lost with its server); changes committed since are lost: sending followers a Resync",
		"slot", p.slot, "last_lsn", p.prev.lsn, "last_seq", p.prev.seq, "reason", ReasonSlotLost)
	return true
}
