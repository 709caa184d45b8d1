package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/thejerf/suture/v4"
)

// Follower is the service, on every instance, that consumes the stream
// into the DB module's PubSub. It is what the DB's Changes returns once
// the cluster module wraps it, so Subscribe, Running, Ready and WaitReady
// describe the path that really feeds the instance's mailboxes.
//
// All methods are safe for concurrent use. Serve runs at most once at a
// time.
type Follower struct {
	c       *Cluster
	ps      *pubsub.PubSub
	running atomic.Bool
	// consuming: an ordered consumer is attached and NATS is connected.
	consuming atomic.Bool
	nc        atomic.Pointer[nats.Conn]

	// begun and last outlive Serve, so that a restarted Serve resumes
	// after the last stream sequence handed to the PubSub.
	begun    atomic.Bool
	last     atomic.Uint64
	received atomic.Uint64
	resyncs  atomic.Uint64
	// streamLast is the stream's last sequence as last seen (Stats): it
	// only grows, like the stream's sequences, until the stream is reset.
	streamLast atomic.Uint64
	// created is when the stream that last counts in was created: another
	// time means the stream was deleted and created again. Touched by the
	// running Serve only.
	created time.Time
	// check asks the running Serve's watcher to look at the stream now
	// (after a reconnection).
	check chan struct{}

	// evs is handle's scratch for a message's events, kept to spare an
	// allocation per message (only the running Serve touches it).
	evs []pubsub.Event
	// seen is the (commit LSN, Seq) of the last WAL change or message
	// handed over: a message a new leader published again, cut
	// elsewhere than the one stored before it, repeats changes before it
	// (see elector.msgID), which deliver skips. Only the running Serve
	// touches it; it outlives Serve, as last does. seenStale asks for it
	// to be forgotten: a Resync went out, after which positions may start
	// afresh (another server's history, a new slot).
	seen struct {
		lsn pubsub.LSN
		seq uint64
	}
	seenStale atomic.Bool
	// marks makes the commit marks (follower_marks.go); touched by the
	// running Serve only.
	marks txnMarks

	startMu    sync.Mutex
	startCheck *time.Timer
}

var _ phoenixkitdb.ChangeSource = (*Follower)(nil)

// String names the service in supervisor logs.
func (f *Follower) String() string { return "phoenixkitdb/cluster-follower(" + f.c.cfg.Stream + ")" }

// Serve consumes the stream until ctx ends. On its first run in the
// process it starts after the stream's last message and sends its mailboxes
// a Resync (pubsub.ReasonStart); later runs, and the client's own
// re-subscriptions after a lost connection, resume after the last message
// handed over. A gap in stream sequences (messages that aged out past
// MaxAge while this instance was away) sends a Resync (ReasonGap).
func (f *Follower) Serve(ctx context.Context) error {
	if !f.running.CompareAndSwap(false, true) {
		return fmt.Errorf("%w (%w)", ErrAlreadyRunning, suture.ErrDoNotRestart)
	}
	defer f.running.Store(false)
	defer f.c.changed.notify()
	for {
		// A reset stream is read on a new connection: the consumer of the
		// old one may be stuck in the client's own consumer reset, which
		// ignores a Stop that comes while it creates the next consumer
		// (the cut-off follower then waited forever); closing the
		// connection ends it for sure.
		if err := f.serveConn(ctx); !errors.Is(err, errStreamReset) {
			return err
		}
	}
}

// serveConn is one run of Serve on one NATS connection. It returns
// errStreamReset when the stream was found deleted and created again.
func (f *Follower) serveConn(ctx context.Context) error {
	var nc *nats.Conn
	var stream jetstream.Stream
	var first *jetstream.StreamInfo
	err := f.c.retry(ctx, "follower setup", func() error {
		conn, js, err := f.c.connect("phoenixkitdb-follower-" + f.c.id)
		if err != nil {
			return err
		}
		s, err := f.c.ensureStream(ctx, js)
		if err != nil {
			conn.Close()
			return err
		}
		// Every setup reads the stream's last sequence, so that Stats show
		// the lag of a follower that resumes before its first message.
		ictx, cancel := context.WithTimeout(ctx, setupTimeout)
		info, err := s.Info(ictx)
		cancel()
		if err != nil {
			conn.Close()
			return fmt.Errorf("cluster: stream info: %w", err)
		}
		if !f.begun.Load() {
			f.last.Store(info.State.LastSeq)
			f.created = info.Created
		}
		f.sawLast(info.State.LastSeq)
		nc, stream, first = conn, s, info
		return nil
	})
	if err != nil {
		return err
	}
	defer nc.Close()
	f.nc.Store(nc)
	defer f.nc.Store(nil)
	nc.SetDisconnectErrHandler(func(*nats.Conn, error) { f.c.changed.notify() })
	nc.SetReconnectHandler(func(*nats.Conn) {
		f.c.changed.notify()
		f.poke()
	})
	if f.begun.CompareAndSwap(false, true) {
		f.resync(pubsub.ReasonStart)
	} else if f.reset(first) {
		f.restart(first)
	} else {
		f.gap(first)
	}
	return f.consume(ctx, nc, stream)
}

// errStreamReset ends a consume whose stream was deleted and created again.
var errStreamReset = errors.New("cluster: the stream was reset")

// streamCheck is how often a follower looks at the stream's state (its
// first sequence, its creation time) besides after each reconnection.
const streamCheck = 5 * time.Second

// poke asks the running Serve to look at the stream now.
func (f *Follower) poke() {
	select {
	case f.check <- struct{}{}:
	default:
	}
}

// reset reports whether info shows another stream than the one the
// follower's position counts in: created at another time (deleted and
// created again), or with a last sequence below that position.
func (f *Follower) reset(info *jetstream.StreamInfo) bool {
	return !info.Created.Equal(f.created) || info.State.LastSeq < f.last.Load()
}

// restart moves the follower onto the stream info describes, after a
// reset: its mailboxes get a Resync (ReasonStreamReset) and it reads the
// new stream from its first message. Called while no consumer runs.
func (f *Follower) restart(info *jetstream.StreamInfo) {
	f.c.log.Warn("cluster: the stream was deleted and created again (or reset); sending a Resync and reading it from its start",
		"stream", f.c.cfg.Stream, "position", f.last.Load(), "stream_first", info.State.FirstSeq, "stream_last", info.State.LastSeq)
	f.created = info.Created
	f.last.Store(max(info.State.FirstSeq, 1) - 1)
	f.streamLast.Store(info.State.LastSeq)
	f.resync(ReasonStreamReset)
	f.c.changed.notify()
}

// gap sends a Resync (ReasonGap) if messages this follower has not read
// aged out of the stream info describes, and moves its position past
// them, so that subscribers learn it now, not with the next message.
// Safe while handle runs: its own gap check may then send a second
// Resync, never none.
func (f *Follower) gap(info *jetstream.StreamInfo) {
	first := info.State.FirstSeq
	if first == 0 {
		return
	}
	last := f.last.Load()
	if first > last+1 && f.last.CompareAndSwap(last, first-1) {
		f.c.log.Warn("cluster: stream messages expired before this instance read them; sending a Resync",
			"missed_from", last+1, "missed_to", first-1)
		f.sawLast(info.State.LastSeq)
		f.resync(ReasonGap)
	}
}

// pullMessages is how many messages the ordered consumer asks for at a
// time; with the client's default threshold it asks again when half
// were delivered (a few hundred bytes each when every message is one
// change). Config.FollowerBufferBytes bounds the bytes (pullBytes).
const pullMessages = 4096

// pullSlack is what the server counts in a pulled message besides the
// payload that max_payload bounds: the subject and the reply subject.
const pullSlack = 64 << 10

// pullBytes is the most bytes one pull asks for, given the server's
// max_payload: half of Config.FollowerBufferBytes, or one message of the
// largest size if that is more (a pull too small for the next message
// would stall the consumer).
//
// The client (Messages with PullMaxMessagesWithBytesLimit) sends the next
// pull once the last one ended (the server ends a pull at its byte bound)
// and was handed over, or once half of pullMessages were: a pull is only
// ever sent when the one before it was handed over entirely, or its bytes
// were, so at most two pulls' bytes are buffered.
func (f *Follower) pullBytes(maxPayload int64) int {
	return max(f.c.cfg.FollowerBufferBytes/2, int(min(maxPayload, math.MaxInt32))+pullSlack)
}

// consume runs one ordered consumer from the last sequence handed over.
// It returns errStreamReset when its watcher finds the stream deleted and
// created again; the watcher then has closed nc.
func (f *Follower) consume(ctx context.Context, nc *nats.Conn, stream jetstream.Stream) error {
	cctx, cancel := context.WithTimeout(ctx, setupTimeout)
	cons, err := stream.OrderedConsumer(cctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{f.c.cfg.Subject + ".>"},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    f.last.Load() + 1,
	})
	cancel()
	if err != nil {
		return fmt.Errorf("cluster: ordered consumer: %w", err)
	}
	// Larger pulls than the client's default (500 messages): during a
	// burst a follower asks the server for more less often, which halved
	// its pauses between batches (docs/performance.md, section 8). The
	// byte bound keeps a follower far behind from pulling 4,096 batches.
	it, err := cons.Messages(jetstream.PullMaxMessagesWithBytesLimit(pullMessages, f.pullBytes(nc.MaxPayload())))
	if err != nil {
		return fmt.Errorf("cluster: consume: %w", err)
	}
	stopped := make(chan struct{})
	watchDone := make(chan struct{})
	var reset atomic.Bool
	go func() {
		defer close(watchDone)
		defer it.Stop()
		tick := time.NewTicker(streamCheck)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				// Next may be inside the client's own consumer reset, whose
				// requests ignore Stop until they time out (10 s) while NATS
				// is unreachable; closing the connection ends them at once.
				nc.Close()
				return
			case <-stopped:
				return
			case <-tick.C:
			case <-f.check:
			}
			ictx, cancel := context.WithTimeout(ctx, setupTimeout)
			info, err := stream.Info(ictx)
			cancel()
			if err != nil {
				continue // a missing stream is created again by the leader
			}
			if f.reset(info) {
				// Closing the connection ends the consume loop (Stop alone
				// may not: see Serve); Serve then reads the new stream
				// on a new connection.
				reset.Store(true)
				nc.Close()
				return
			}
			f.gap(info)
		}
	}()
	defer func() { close(stopped); <-watchDone }()

	f.consuming.Store(true)
	f.c.changed.notify()
	defer func() { f.consuming.Store(false); f.c.changed.notify() }()
	var dec decoder
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if reset.Load() {
				return errStreamReset
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return errors.New("cluster: consumer closed")
			}
			return fmt.Errorf("cluster: consume: %w", err)
		}
		if reset.Load() {
			// The watcher found the stream reset: what this consumer
			// still delivers may belong to either stream.
			continue
		}
		f.handle(msg, &dec)
	}
}

// handle hands one stream message to the PubSub. dec is the consume
// loop's decoder.
func (f *Follower) handle(msg jetstream.Msg, dec *decoder) {
	// The reply subject holds the sequence and the pending count: read
	// them without building Metadata's struct for every message.
	seq, pending, ok := parseAckReply(msg.Reply())
	if !ok {
		md, err := msg.Metadata()
		if err != nil {
			return
		}
		seq, pending = md.Sequence.Stream, md.NumPending
	}
	last := f.last.Load()
	// The stream holds only the module's subjects, so what the filtered
	// consumer still has pending after seq is the rest of the stream.
	f.sawLast(seq + pending)
	if seq <= last {
		return // redelivered after a consumer reset
	}
	if seq > last+1 {
		f.c.log.Warn("cluster: stream messages expired before this instance read them; sending a Resync",
			"missed_from", last+1, "missed_to", seq-1)
		f.resync(ReasonGap)
	}
	f.last.Store(seq)
	evs, err := dec.decodeAll(f.evs[:0], msg.Data())
	if err != nil {
		f.c.log.Error("cluster: malformed stream message; sending a Resync", "seq", seq, "err", err)
		f.resync(ReasonEncode)
		return
	}
	f.deliver(evs)
	clear(evs) // drop the rows for the GC
	f.evs = evs[:0]
}

// deliver hands the events of one stream message to the PubSub, all at
// once: a follower never stops in the middle of a message, so its
// position (the message's stream sequence) says what it handed over.
// WAL changes and messages at or before the last one handed over (by
// commit LSN and Seq, see seen) are skipped.
func (f *Follower) deliver(evs []pubsub.Event) {
	if f.seenStale.Swap(false) {
		f.seen.lsn, f.seen.seq = 0, 0
		f.marks.reset()
	}
	run := 0 // evs[run:i] are changes not handed over yet
	flush := func(i int) {
		if i > run {
			f.received.Add(uint64(i - run))
			_ = f.ps.BroadcastChanges(evs[run:i]) // decode checked schema and table
		}
		run = i
	}
	for i := range evs {
		ev := &evs[i]
		if ev.Kind == pubsub.Resync {
			flush(i)
			run = i + 1
			f.resync(ev.Reason)
			f.seenStale.Store(false)
			f.seen.lsn, f.seen.seq = 0, 0
			f.marks.reset()
			continue
		}
		if ev.Kind == pubsub.Committed {
			flush(i)
			run = i + 1
			f.endTxn(ev.LSN)
			continue
		}
		if ev.LSN != 0 && ev.Seq != 0 {
			if ev.LSN < f.seen.lsn || ev.LSN == f.seen.lsn && ev.Seq <= f.seen.seq {
				// Handed over already: leave it out of the run.
				flush(i)
				run = i + 1
				continue
			}
			f.seen.lsn, f.seen.seq = ev.LSN, ev.Seq
			if f.marks.note(ev) {
				flush(i)
				f.endTxn(0)
				f.marks.note(ev)
			}
		}
		if ev.Kind == pubsub.Message {
			flush(i)
			run = i + 1
			f.received.Add(1)
			// To the mailboxes of db.Replication().SubscribeMessages.
			_ = f.ps.BroadcastMessage(*ev) // decode checked the kind
		}
	}
	flush(len(evs))
}

// endTxn hands over the commit marks of the open transaction if it is
// lsn's (any when lsn is 0).
func (f *Follower) endTxn(lsn pubsub.LSN) {
	if marks := f.marks.end(lsn); len(marks) > 0 {
		_ = f.ps.BroadcastChanges(marks)
		clear(marks)
	}
}

// sawLast records last as the stream's last sequence if it is newer.
func (f *Follower) sawLast(last uint64) {
	for {
		old := f.streamLast.Load()
		if last <= old || f.streamLast.CompareAndSwap(old, last) {
			return
		}
	}
}

func (f *Follower) resync(reason pubsub.Reason) {
	f.seenStale.Store(true)
	f.resyncs.Add(1)
	f.ps.ResyncWith(reason)
}

// Position returns the stream sequence of the last message handed to the
// PubSub.
func (f *Follower) Position() uint64 { return f.last.Load() }

// Subscribe subscribes mb to the changes of schema.table.
func (f *Follower) Subscribe(mb *pubsub.Mailbox, schema, table string) error {
	f.EnsureStarted()
	return f.ps.Subscribe(mb, pubsub.TopicTable(schema, table))
}

// Unsubscribe removes mb from the changes of schema.table.
func (f *Follower) Unsubscribe(mb *pubsub.Mailbox, schema, table string) error {
	return f.ps.Unsubscribe(mb, pubsub.TopicTable(schema, table))
}

// SubscribeAll subscribes mb to every table's changes.
func (f *Follower) SubscribeAll(mb *pubsub.Mailbox) error {
	f.EnsureStarted()
	return f.ps.Subscribe(mb, pubsub.TopicAll())
}

// UnsubscribeAll removes mb from every table's changes.
func (f *Follower) UnsubscribeAll(mb *pubsub.Mailbox) error {
	return f.ps.Unsubscribe(mb, pubsub.TopicAll())
}

// Running reports whether Serve runs.
func (f *Follower) Running() bool { return f.running.Load() }

// Connected reports whether the follower consumes the stream right now.
func (f *Follower) Connected() bool {
	nc := f.nc.Load()
	return f.consuming.Load() && nc != nil && nc.IsConnected()
}

// Ready reports whether changes flow: this follower consumes the stream
// and a live leader's change source is ready.
func (f *Follower) Ready() bool { return f.Connected() && f.c.elector.leaderReady() }

// WaitReady blocks until Ready or ctx ends; then it returns ctx's error,
// wrapped.
func (f *Follower) WaitReady(ctx context.Context) error {
	for {
		ch := f.c.changed.wait()
		if f.Ready() {
			return nil
		}
		// Lease freshness is a matter of time, not of an event: look again
		// at every refresh interval even if nothing was signalled.
		t := time.NewTimer(f.c.cfg.LeaseTTL / 5)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("cluster: not ready (consuming %v, leader ready %v): %w",
				f.Connected(), f.c.elector.leaderReady(), ctx.Err())
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// EnsureStarted logs a WARN if the follower is not running StartGrace
// from now (subscribers would wait forever). Only one check is pending
// at a time.
func (f *Follower) EnsureStarted() {
	if f.running.Load() {
		return
	}
	f.startMu.Lock()
	defer f.startMu.Unlock()
	if f.startCheck != nil {
		return
	}
	f.startCheck = time.AfterFunc(f.c.cfg.StartGrace, func() {
		f.startMu.Lock()
		f.startCheck = nil
		f.startMu.Unlock()
		if !f.running.Load() {
			f.c.log.Warn("cluster: subscribed, but the cluster module is not running: enable it in the Registry",
				"stream", f.c.cfg.Stream)
		}
	})
}
