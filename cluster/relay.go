package cluster

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// publishTimeout bounds one publish attempt; a failed attempt is retried
// with the same message id, so a publish that did land is not stored twice.
const publishTimeout = 2 * time.Second

// relayState is the leader's per-process publishing state. It outlives a
// term: the WAL source keeps skipping what it handed over in an earlier
// term of this process, and the position counter must continue with it.
type relayState struct {
	published atomic.Uint64
	lastLSN   uint64 // commit LSN of the last WAL change relayed
	pos       int    // its position in its transaction
	seq       uint64 // counter for ids of NOTIFY changes and Resyncs
}

// runRelay publishes every event of t's mailbox to the stream, in order,
// until ctx ends, or until t.stopRelay is closed and the mailbox is empty.
func (e *elector) runRelay(ctx context.Context, js jetstream.JetStream, t *term) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-t.mb.C():
			if !ok || !e.relayOne(ctx, js, t.n, ev) {
				return
			}
		case <-t.stopRelay:
			for {
				select {
				case ev, ok := <-t.mb.C():
					if !ok || !e.relayOne(ctx, js, t.n, ev) {
						return
					}
				default:
					return
				}
			}
		}
	}
}

// relayOne publishes ev, retrying until it is stored or ctx ends (then it
// returns false).
func (e *elector) relayOne(ctx context.Context, js jetstream.JetStream, termN uint64, ev pubsub.Event) bool {
	wal := e.c.db.Source() == phoenixkitdb.SourceWAL
	if wal && ev.Kind == pubsub.Resync && ev.Reason == pubsub.ReasonStart {
		// The stream carries what came before this process's source
		// started; followers have their own start Resync.
		return true
	}
	subject, body, err := encodeEvent(e.c.cfg.Subject, ev)
	if err != nil {
		// A row value JSON cannot hold: followers must reload.
		e.c.log.Error("cluster: cannot encode a change; sending a Resync", "err", err)
		ev = pubsub.Event{Kind: pubsub.Resync, Reason: ReasonEncode}
		subject, body, _ = encodeEvent(e.c.cfg.Subject, ev)
	}
	id := e.msgID(wal, termN, ev)
	warned := false
	for {
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		_, err := js.Publish(pctx, subject, body, jetstream.WithMsgID(id))
		cancel()
		if err == nil {
			e.relay.published.Add(1)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if !warned {
			e.c.log.Warn("cluster: cannot publish to the stream; retrying", "err", err)
			warned = true
		}
		if !sleep(ctx, retryMin) {
			return false
		}
	}
}

// msgID is the de-duplication id of ev. A WAL change's id is its slot,
// commit LSN and position in its transaction, the same whichever instance
// reads it, so a new leader replaying what the old one published is
// dropped by JetStream. Other events get an id unique to this instance,
// term and event, which only de-duplicates this relay's own retries.
func (e *elector) msgID(wal bool, termN uint64, ev pubsub.Event) string {
	r := &e.relay
	if wal && ev.Kind == pubsub.TableChanged && ev.LSN != 0 {
		if ev.LSN == r.lastLSN {
			r.pos++
		} else {
			r.lastLSN, r.pos = ev.LSN, 0
		}
		return e.c.slot + ":" + strconv.FormatUint(ev.LSN, 16) + ":" + strconv.Itoa(r.pos)
	}
	r.seq++
	return e.c.id + ":" + strconv.FormatUint(termN, 10) + ":" + strconv.FormatUint(r.seq, 10)
}
