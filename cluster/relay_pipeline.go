package cluster

import (
	"context"

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
// acknowledged, the first without an expectation (the stream's last
// message may be another leader's), with the same ids. An acknowledged
// message therefore means that every message before it is in the stream,
// which is what confirmLimit relies on. JetStream checks message ids
// before expectations, so a retried message that had landed is reported
// as a duplicate, not as out of order.
type pipeline struct {
	e      *elector
	js     jetstream.JetStream
	termN  uint64
	win    []*outgoing // published (or to be published again), oldest first
	warned bool        // a failure was logged since the last acknowledgement
	mb     *pubsub.Mailbox
	enc    encoder
}

// runRelay publishes every event of t's mailbox to the stream, in order,
// until ctx ends, or until t.stopRelay is closed, the mailbox is empty
// and every publish is acknowledged.
func (e *elector) runRelay(ctx context.Context, js jetstream.JetStream, t *term) {
	// A JetStream context of the relay's own: its asynchronous publishes
	// time out after publishTimeout and fail at once when the connection
	// drops, and CleanupPublisher releases its reply subscription when
	// the term ends (the connection outlives terms).
	ajs, err := jetstream.New(js.Conn(), jetstream.WithPublishAsyncTimeout(publishTimeout),
		jetstream.WithPublishAsyncMaxPending(2*relayWindow))
	if err != nil {
		e.c.log.Error("cluster: cannot relay to the stream", "err", err)
		return
	}
	defer ajs.CleanupPublisher()
	p := &pipeline{e: e, js: ajs, termN: t.n, mb: t.mb}
	in, stop := t.mb.C(), t.stopRelay
	draining := false
	for {
		if draining && len(p.win) == 0 {
			// The source has returned: what the mailbox holds is all.
			select {
			case ev, ok := <-in:
				if !ok || !p.add(ctx, ev) {
					return
				}
				continue
			default:
				return
			}
		}
		var inC <-chan pubsub.Event
		if len(p.win) < relayWindow {
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
			if !p.add(ctx, ev) {
				return
			}
		case <-okC:
			e.markStored(p.win[0])
			p.win[0] = nil
			p.win = p.win[1:]
			p.warned = false
		case err := <-errC:
			p.win[0].failed = true // its answer is read: settle must not wait for it
			if !p.recover(ctx, err) {
				return
			}
		case <-stop:
			draining, stop = true, nil
		}
	}
}

// add publishes ev after the window. It returns false when ctx ended.
func (p *pipeline) add(ctx context.Context, ev pubsub.Event) bool {
	if ev.Kind == pubsub.Resync && ev.Reason == pubsub.ReasonOverflow {
		p.e.relay.warnOverflow(p.e.c.log, p.mb)
	}
	// The server's limit as the connection last heard it (it may change
	// when the client reconnects to another server).
	o := p.e.prepare(p.termN, ev, &p.enc, p.js.Conn().MaxPayload())
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

// send publishes o, expecting prev as the stream's last message id
// unless prev is empty.
func (p *pipeline) send(o *outgoing, prev string) error {
	opts := []jetstream.PublishOpt{jetstream.WithMsgID(o.id)}
	if prev != "" {
		opts = append(opts, jetstream.WithExpectLastMsgID(prev))
	}
	// A fresh message every time: the options write its headers.
	fut, err := p.js.PublishMsgAsync(&nats.Msg{Subject: o.subject, Data: o.body}, opts...)
	o.fut = fut
	return err
}

// recover handles a failed publish (err): it waits until every publish of
// the window has its answer, counts as stored those up to the last one
// acknowledged, and publishes the rest again, retrying until they are all
// sent. It returns false when ctx ended.
func (p *pipeline) recover(ctx context.Context, err error) bool {
	for {
		if !p.warned {
			p.e.c.log.Warn("cluster: cannot publish to the stream; retrying", "err", err)
			p.warned = true
		}
		if !p.settle(ctx) {
			return false
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
		case <-o.fut.Ok():
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
