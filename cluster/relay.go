package cluster

import (
	"log/slog"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// publishTimeout bounds how long one publish waits for JetStream's
// acknowledgement; a failed attempt is retried with the same message id,
// so a publish that did land is not stored twice.
const publishTimeout = 2 * time.Second

// relayState is the leader's publishing state. The WAL fields start
// afresh with every term, as the WAL source does (it has a ConfirmLimit):
// it replays whole transactions from the slot's confirmed position.
type relayState struct {
	published atomic.Uint64 // events stored, over the process's life
	tooLarge  atomic.Uint64 // changes replaced by a Resync for their size (Stats.TooLarge)
	seq       uint64        // counter for ids of NOTIFY changes and Resyncs

	// Touched by the relay goroutine only.
	// The last overflow WARN: when, and the relay mailbox's Dropped count
	// then (reset with each term's mailbox).
	warnedAt      time.Time
	warnedDropped uint64

	// What confirmLimit reads, from the WAL source's goroutine.
	base      atomic.Uint64                  // the source's Published count when the term began
	slotsBase atomic.Uint64                  // the source's SlotsCreated count when the term began
	stored    atomic.Uint64                  // changes of this term stored (or replaced by a Resync)
	storedLSN atomic.Uint64                  // commit LSN of the last change of this term stored
	mb        atomic.Pointer[pubsub.Mailbox] // this term's relay mailbox
}

// beginTerm resets the per-term state; the source and the relay of the
// previous term have returned, the new ones have not started.
func (r *relayState) beginTerm(src *replication.Source, mb *pubsub.Mailbox) {
	r.warnedDropped = 0
	r.stored.Store(0)
	r.storedLSN.Store(0)
	r.mb.Store(mb)
	if src != nil {
		st := src.Stats()
		r.base.Store(st.Published)
		r.slotsBase.Store(st.SlotsCreated)
	}
}

// overflowReport is the least time between two WARNs of a relay mailbox
// overflow, as the PubSub's default ReportInterval: the cluster's private
// PubSub is never served, so its own report never runs.
const overflowReport = 10 * time.Second

// warnOverflow logs, at most once per overflowReport, that the relay
// mailbox mb overflowed: the stream did not keep up with the change
// source and followers get a Resync. Called by the relay goroutine when it
// reads mb's overflow Resync.
func (r *relayState) warnOverflow(log *slog.Logger, mb *pubsub.Mailbox) {
	now := time.Now()
	if !r.warnedAt.IsZero() && now.Sub(r.warnedAt) < overflowReport {
		return
	}
	d := mb.Dropped()
	log.Warn("cluster: the relay to the stream fell behind and dropped events; followers get a Resync (raise Config.RelayCapacity)",
		"dropped", d-r.warnedDropped, "relay_capacity", mb.Cap())
	r.warnedAt, r.warnedDropped = now, d
}

// confirmLimit is the WAL source's replication.Config.ConfirmLimit: how
// far the slot may be confirmed so that every change handed to the relay
// past it is either stored in the stream or read again by the next
// leader. When every change the source handed over this term was stored
// (or dropped by the relay mailbox's overflow, which followers see as a
// Resync), there is no limit. Otherwise it is just below the commit LSN
// of the last stored change: every transaction committed before that one
// is stored whole, and PostgreSQL replays a transaction whose commit LSN
// is past the confirmed position. Called from the source's goroutine; it
// reads counters and never waits.
func (c *Cluster) confirmLimit() pubsub.LSN {
	r := &c.elector.relay
	handed := c.wal.Stats().Published - r.base.Load()
	done := r.stored.Load()
	if mb := r.mb.Load(); mb != nil {
		done += mb.Dropped()
	}
	if done >= handed {
		return math.MaxUint64
	}
	if l := r.storedLSN.Load(); l > 0 {
		return pubsub.LSN(l - 1)
	}
	return 0 // nothing stored yet this term: confirm nothing new
}

// outgoing is one stream message on its way: one event, or a batch of
// changes. Its id never changes, so a retry is de-duplicated by JetStream
// if an earlier attempt landed.
type outgoing struct {
	subject string
	body    []byte
	id      string
	events  int                    // the events it stands for (Stats.Published)
	changes int                    // of those, the changes the source handed over (see relayState.stored)
	lsn     pubsub.LSN             // their commit LSN; 0 for the NOTIFY source
	fut     jetstream.PubAckFuture // the last attempt's; nil when not sent
	failed  bool                   // fut's error was received
}

// headerRoom is what a message's headers may take of the server's
// max_payload, which counts them with the body: "NATS/1.0", the names
// Nats-Msg-Id and Nats-Expected-Last-Msg-Id (or -Sequence) and two
// message ids (a slot name of at most 63 bytes, a commit LSN and a
// position: about 100 bytes each), the term, slot and LSN headers (about
// 160 bytes), with room to spare.
const headerRoom = 512

// prepare encodes evs (one event, or changes of one transaction and
// table that batchable allows in one body) for the stream with enc and
// gives the message its id, in the order the source handed events over.
// A body that would exceed maxPayload (the NATS server's max_payload, 0
// for unknown) less headerRoom goes as a Resync (ReasonTooLarge) with
// the message's own id, so that a replay of it is de-duplicated like the
// changes (the relay puts a change too large for a message alone, so
// this is the rule for one change). It returns nil for an event the
// stream does not carry.
func (e *elector) prepare(termN uint64, evs []pubsub.Event, enc *encoder, maxPayload int64) *outgoing {
	wal := e.c.wal != nil
	ev := &evs[0]
	if wal && ev.Kind == pubsub.Resync && ev.Reason == pubsub.ReasonStart {
		// The stream carries what came before this process's source
		// started; followers have their own start Resync.
		return nil
	}
	// A transaction's end mark is not counted: the source's Published
	// leaves it out too.
	o := &outgoing{events: countChanges(evs), lsn: ev.LSN}
	if ev.Kind != pubsub.Resync {
		o.changes = o.events
	}
	o.id = e.msgID(wal, termN, &evs[len(evs)-1])
	var err error
	o.subject, o.body, err = enc.encodeBatch(e.c.cfg.Subject, evs)
	switch {
	case err != nil:
		// An event the format cannot hold: followers must reload.
		e.c.log.Error("cluster: cannot encode a change; sending a Resync", "err", err)
		o.subject, o.body, _ = enc.encodeBatch(e.c.cfg.Subject, []pubsub.Event{{Kind: pubsub.Resync, Reason: ReasonEncode}})
	case maxPayload > 0 && int64(len(o.body)) > maxPayload-headerRoom:
		// NATS refuses it, and would refuse it again on every retry:
		// followers get a Resync in its place and the stream goes on.
		e.relay.tooLarge.Add(uint64(countChanges(evs)))
		e.c.log.Error("cluster: a change is larger than the NATS server's max_payload; sending a Resync in its place (raise max_payload, see docs/cluster.md)",
			"schema", ev.Schema, "table", ev.Table, "op", ev.Operation, "row_id", ev.RowID, "lsn", ev.LSN,
			"changes", countChanges(evs), "bytes", len(o.body), "max_payload", maxPayload)
		o.subject, o.body, _ = enc.encodeBatch(e.c.cfg.Subject, []pubsub.Event{{Kind: pubsub.Resync, Reason: ReasonTooLarge}})
	}
	return o
}

// markStored counts o as stored in the stream. Called in stream order.
func (e *elector) markStored(o *outgoing) {
	e.relay.published.Add(uint64(o.events))
	if o.changes > 0 {
		if o.lsn != 0 {
			e.relay.storedLSN.Store(uint64(o.lsn))
		}
		e.relay.stored.Add(uint64(o.changes))
	}
}

// msgID is the de-duplication id of the message whose last event is
// ev. A WAL message's id is its slot, commit LSN and the Seq of its last
// change, the same whichever instance reads it, so a new leader replaying
// what the old one published is dropped by JetStream. The last change,
// not the first: the relay batches what is queued, so a replay may cut a
// transaction's run of changes elsewhere, and a message is dropped only
// when one ending at the same change is stored, which (the stream holding
// each term's messages in order, after the terms before) means every
// change of the transaction up to it is stored. A replayed message
// ending elsewhere is stored again; followers skip the changes in it they
// handed over (Follower.deliver). Other events get an id unique to this
// instance, term and message, which only de-duplicates this relay's own
// retries.
func (e *elector) msgID(wal bool, termN uint64, ev *pubsub.Event) string {
	r := &e.relay
	if wal && ev.Kind != pubsub.Resync && ev.LSN != 0 {
		return e.c.slot + ":" + strconv.FormatUint(uint64(ev.LSN), 16) + ":" + strconv.FormatUint(ev.Seq, 10)
	}
	r.seq++
	return e.c.id + ":" + strconv.FormatUint(termN, 10) + ":" + strconv.FormatUint(r.seq, 10)
}
