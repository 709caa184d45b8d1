package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/thejerf/suture/v4"
)

// lease is the value of the leader key.
type lease struct {
	ID    string `json:"id"`
	Term  uint64 `json:"term,omitempty"` // the leader's term (see elector.term); 0 in the write that takes the lease
	Ready bool   `json:"ready"`          // the leader's change source is ready
	// TTLms is the holder's LeaseTTL in milliseconds (0 from earlier
	// builds): it refreshes every fifth of it, so an instance with a
	// shorter LeaseTTL waits for the holder's before taking over (see
	// staleAfter).
	TTLms int64 `json:"ttl_ms,omitempty"`
}

// staleAfter is how long an instance whose own LeaseTTL is ttl waits
// for the lease's next revision before it takes the lease: the longer of
// ttl and the holder's LeaseTTL. A holder refreshes every fifth of its
// own; timed by a watcher's shorter one alone, a healthy leader's lease
// would look stale between two refreshes and be taken.
func (e *elector) staleAfter(ttl time.Duration) time.Duration {
	if o := e.obs.Load(); o != nil {
		return max(ttl, time.Duration(o.TTLms)*time.Millisecond)
	}
	return ttl
}

// observed is what an instance last saw of the lease, and when.
type observed struct {
	lease
	at time.Time
}

// elector is the service that campaigns for the lease and, while it holds
// it, runs the change source and relays what it publishes to the stream.
//
// The lease is a key in a JetStream key-value bucket, written only with
// compare-and-swap on its revision. The leader rewrites it every
// LeaseTTL/5. Every other instance watches it and, when it has seen no
// new revision for LeaseTTL (timed on its own clock, so clocks need not
// agree), swaps it to itself from the revision it saw; only one swap can
// succeed. A leader that has not refreshed for 3/5 of LeaseTTL, measured
// from the start of its last successful refresh, stops its source before
// anyone else may take over. A refresh whose swap fails reads the lease:
// if it still names this instance and term, a refresh that timed out here
// was written all the same, and the leader adopts its revision; only a
// lease naming someone else ends the term. A leader that stops cleanly drains its relay
// and deletes the key, and a watcher takes over at once.
type elector struct {
	c       *Cluster
	running atomic.Bool
	leading atomic.Bool
	obs     atomic.Pointer[observed]
	terms   atomic.Uint64 // leaderships this instance has held
	// term is the number of this instance's current or last term: the
	// lease revision of the write that took the lease. Revisions only
	// grow, so two leaders never have the same term, and a newer leader
	// has the larger one (see refused).
	term  atomic.Uint64
	relay relayState // see its fields for who touches what
}

// String names the service in supervisor logs.
func (e *elector) String() string { return "phoenixkitdb/cluster-leader(" + e.c.cfg.Stream + ")" }

// Serve campaigns and leads until ctx ends. It returns only after the
// change source and the relay it started have returned; a leader stopping
// this way releases the lease.
func (e *elector) Serve(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return fmt.Errorf("%w (%w)", ErrAlreadyRunning, suture.ErrDoNotRestart)
	}
	defer e.running.Store(false)
	defer e.c.changed.notify()

	var nc *nats.Conn
	var pub jetstream.JetStream
	var kv jetstream.KeyValue
	err := e.c.retry(ctx, "leader setup", func() error {
		// No reconnect buffer: a publish the client kept while cut off
		// from NATS would be sent on reconnection, after another instance
		// took over, and land in the stream after the new leader's
		// changes. Unbuffered, it fails, and the relay retries it while
		// this instance still leads, or drops it with its term.
		conn, j, err := e.c.connect("phoenixkitdb-leader-"+e.c.id, nats.ReconnectBufSize(-1))
		if err != nil {
			return err
		}
		if _, err := e.c.ensureStream(ctx, j); err != nil {
			conn.Close()
			return err
		}
		k, err := e.c.ensureLease(ctx, j)
		if err != nil {
			conn.Close()
			return err
		}
		p, err := newPublisher(conn)
		if err != nil {
			conn.Close()
			return err
		}
		nc, pub, kv = conn, p, k
		return nil
	})
	if err != nil {
		return err
	}
	defer nc.Close()
	return e.campaign(ctx, nc, pub, kv)
}

// campaign is the election loop: one goroutine owns every state change.
// Every term's relay publishes through pub (see newPublisher).
func (e *elector) campaign(ctx context.Context, nc *nats.Conn, pub jetstream.JetStream, kv jetstream.KeyValue) error {
	ttl := e.c.cfg.LeaseTTL
	w, err := kv.Watch(ctx, leaseKey)
	if err != nil {
		return fmt.Errorf("cluster: watch the lease: %w", err)
	}
	defer func() {
		// Stop deletes the watch's consumer on the server, a request that
		// waits out its timeout (5 s) when NATS is unreachable; closing
		// the connection drops the subscription anyway, and the server
		// removes the idle consumer.
		if nc.IsConnected() {
			_ = w.Stop()
		}
	}()

	var (
		lastRev  uint64 // revision of the last put seen; 0 when none or deleted
		initDone bool
		t        *term
		myRev    uint64
		lastOK   time.Time // start of the last successful acquire or refresh
	)
	stale := time.NewTimer(time.Hour)
	stale.Stop()
	defer stale.Stop()
	refresh := time.NewTicker(ttl / 5)
	defer refresh.Stop()

	acquire := func() {
		start := time.Now()
		// The term is the revision this write gets, unknown before it:
		// the first refresh writes it.
		val := e.leaseValue(0, false)
		actx, cancel := context.WithTimeout(ctx, ttl/2)
		var rev uint64
		var err error
		if lastRev == 0 {
			rev, err = kv.Create(actx, leaseKey, val)
		} else {
			rev, err = kv.Update(actx, leaseKey, val, lastRev)
		}
		cancel()
		if err != nil {
			switch {
			case ctx.Err() != nil:
			case errors.Is(err, jetstream.ErrKeyExists):
				// The lease moved past the revision this instance saw.
				// The watch normally reports the new one at once, but
				// after a NATS server restart it can lag many seconds
				// (its consumer is re-created only once heartbeats are
				// missed): read the lease, and time it from now.
				if e.reread(ctx, kv, &lastRev) {
					stale.Reset(retryMin) // released: take it now
				} else {
					stale.Reset(e.staleAfter(ttl))
				}
			default:
				e.c.log.Debug("cluster: lease not taken", "err", err)
				stale.Reset(ttl / 5)
			}
			return
		}
		myRev, lastOK = rev, start
		t = e.startTerm(ctx, pub, rev)
		e.c.log.Info("cluster: leading", "instance", e.c.id, "term", t.n)
	}
	stepDown := func(release bool, why string) {
		// A clean stop relays what the source handed over, but only while
		// the lease surely holds: the lease is not refreshed meanwhile, and
		// a relay still publishing after another instance took over would
		// interleave its changes with the new leader's. What is left then
		// is covered as after a crash (the next leader's LISTEN Resync;
		// the WAL source's slot, confirmed only up to what was stored).
		var drainUntil time.Time
		if release {
			drainUntil = time.Now().Add(drainTimeout)
			if held := lastOK.Add(ttl * 3 / 5); held.Before(drainUntil) {
				drainUntil = held
			}
		}
		e.endTerm(t, drainUntil)
		if release {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ttl)
			// A failed delete only delays the takeover to LeaseTTL.
			_ = kv.Delete(dctx, leaseKey, jetstream.LastRevision(myRev))
			cancel()
		}
		e.c.log.Info("cluster: no longer leading", "instance", e.c.id, "term", t.n, "why", why)
		t = nil
		stale.Reset(ttl)
	}

	for {
		var refreshC <-chan time.Time
		var termDone, fenced <-chan struct{}
		if t != nil {
			refreshC, termDone, fenced = refresh.C, t.srcDone, t.fenced
		}
		select {
		case <-ctx.Done():
			if t != nil {
				stepDown(true, "stopping")
			}
			return ctx.Err()

		case ent, ok := <-w.Updates():
			if !ok {
				if t != nil {
					stepDown(false, "lease watch ended")
				}
				return errors.New("cluster: lease watch ended")
			}
			if ent == nil {
				initDone = true
			} else {
				e.observe(ent, &lastRev)
			}
			if t != nil {
				if o := e.obs.Load(); o == nil || o.ID != e.c.id {
					stepDown(false, "lease taken by another instance")
				}
				continue
			}
			if !initDone {
				continue
			}
			if lastRev == 0 {
				acquire()
			} else {
				stale.Reset(e.staleAfter(ttl))
			}

		case <-stale.C:
			if t == nil && initDone {
				acquire()
			}

		case <-refresh.C:
			if refreshC == nil {
				continue
			}
			start := time.Now()
			rev, err := e.refresh(ctx, kv, t, myRev)
			if errors.Is(err, jetstream.ErrKeyExists) {
				// The swap found another revision. It may be this term's
				// own: a refresh that timed out here can still have been
				// written. Only a lease naming someone else is lost.
				var own bool
				if myRev, own = e.ownRevision(ctx, kv, t, myRev); own {
					e.c.log.Debug("cluster: lease refresh had landed; adopting its revision", "revision", myRev)
					rev, err = e.refresh(ctx, kv, t, myRev)
				}
			}
			switch {
			case err == nil:
				myRev, lastOK = rev, start
			case errors.Is(err, jetstream.ErrKeyExists):
				stepDown(false, "lease taken by another instance")
			case time.Since(lastOK) > ttl*3/5:
				stepDown(false, "lease not refreshed in time: "+err.Error())
			default:
				e.c.log.Debug("cluster: lease refresh failed", "err", err)
			}

		case <-fenced:
			// A newer leader publishes: the lease is surely its own.
			stepDown(false, "a newer leader published to the stream")

		case <-termDone:
			stepDown(true, "change source ended")
			// Let another instance try before this one campaigns again.
			if !sleep(ctx, ttl) {
				return ctx.Err()
			}
		}
	}
}

// observe records a lease entry.
func (e *elector) observe(ent jetstream.KeyValueEntry, lastRev *uint64) {
	defer e.c.changed.notify()
	if ent.Operation() != jetstream.KeyValuePut {
		*lastRev = 0
		e.obs.Store(nil)
		return
	}
	*lastRev = ent.Revision()
	var l lease
	if err := json.Unmarshal(ent.Value(), &l); err != nil {
		l = lease{ID: "?"}
	}
	e.obs.Store(&observed{lease: l, at: time.Now()})
}

// reread reads the lease directly, as the watch would report it: after
// a failed swap, so that a lagging watch cannot keep the election
// waiting. It reports whether the lease is released (deleted). A failed
// read leaves things as they are (the swap is retried after LeaseTTL all
// the same).
func (e *elector) reread(ctx context.Context, kv jetstream.KeyValue, lastRev *uint64) (released bool) {
	gctx, cancel := context.WithTimeout(ctx, e.c.cfg.LeaseTTL/2)
	defer cancel()
	ent, err := kv.Get(gctx, leaseKey)
	switch {
	case err == nil:
		e.observe(ent, lastRev)
	case errors.Is(err, jetstream.ErrKeyNotFound):
		// Deleted (released): the next attempt creates it.
		*lastRev = 0
		e.obs.Store(nil)
		e.c.changed.notify()
		return true
	}
	return false
}

// refresh rewrites the lease of term t from revision rev; it waits
// LeaseTTL/5 at most.
func (e *elector) refresh(ctx context.Context, kv jetstream.KeyValue, t *term, rev uint64) (uint64, error) {
	rctx, cancel := context.WithTimeout(ctx, e.c.cfg.LeaseTTL/5)
	defer cancel()
	return kv.Update(rctx, leaseKey, e.leaseValue(t.n, t.ready()), rev)
}

// ownRevision reads the lease after a refresh of term t failed its swap
// from rev. If the lease still names this instance and term, nobody took
// it (a takeover writes its own id), so its revision is one of this
// term's own writes: it returns that revision and true. Otherwise, or if
// the read fails, it returns rev and false. It waits LeaseTTL/5 at most.
func (e *elector) ownRevision(ctx context.Context, kv jetstream.KeyValue, t *term, rev uint64) (uint64, bool) {
	gctx, cancel := context.WithTimeout(ctx, e.c.cfg.LeaseTTL/5)
	defer cancel()
	ent, err := kv.Get(gctx, leaseKey)
	if err != nil || ent.Operation() != jetstream.KeyValuePut || ent.Revision() <= rev {
		return rev, false
	}
	var l lease
	if json.Unmarshal(ent.Value(), &l) != nil || l.ID != e.c.id || l.Term != t.n {
		return rev, false
	}
	return ent.Revision(), true
}

func (e *elector) leaseValue(term uint64, ready bool) []byte {
	b, _ := json.Marshal(lease{ID: e.c.id, Term: term, Ready: ready, TTLms: e.c.cfg.LeaseTTL.Milliseconds()}) // cannot fail
	return b
}

// leaderReady reports whether a live lease says its source is ready.
func (e *elector) leaderReady() bool {
	o := e.obs.Load()
	return o != nil && o.Ready && time.Since(o.at) < e.staleAfter(e.c.cfg.LeaseTTL)
}

// term is one leadership: the change source and the relay it feeds.
type term struct {
	n           uint64
	mb          *pubsub.Mailbox
	cancelSrc   context.CancelFunc
	srcDone     chan struct{}
	stopRelay   chan struct{} // closed: drain the mailbox, then return
	cancelRelay context.CancelFunc
	relayDone   chan struct{}
	fenced      chan struct{} // closed by the relay when a newer leader published (see refused)
	ready       func() bool   // the change source's Ready
}

// fence reports that a newer leader published; called once, by the relay.
func (t *term) fence() { close(t.fenced) }

// startTerm subscribes a relay mailbox to the private PubSub, then runs
// the change source and the relay, which publishes through pub.
func (e *elector) startTerm(ctx context.Context, pub jetstream.JetStream, n uint64) *term {
	e.leading.Store(true)
	e.terms.Add(1)
	e.term.Store(n)
	// WithCommits: each transaction's end travels in the stream.
	mb := pubsub.NewMailbox(e.c.cfg.RelayCapacity, pubsub.WithCommits())
	// Subscribed before the source runs, so that its first Resync and
	// every change after it reach the relay.
	_ = e.c.private.Subscribe(mb, pubsub.TopicAll())
	// Logical messages (Config.WAL.Messages of the DB module) travel in the stream too.
	_ = e.c.private.Subscribe(mb, pubsub.TopicMessages())
	e.relay.beginTerm(e.c.wal, mb)
	srcCtx, cancelSrc := context.WithCancel(ctx)
	relayCtx, cancelRelay := context.WithCancel(context.WithoutCancel(ctx))
	t := &term{
		n: n, mb: mb, cancelSrc: cancelSrc, srcDone: make(chan struct{}),
		stopRelay: make(chan struct{}), cancelRelay: cancelRelay, relayDone: make(chan struct{}),
		fenced: make(chan struct{}), ready: e.c.src.Ready,
	}
	go func() {
		defer close(t.srcDone)
		// Outside a supervisor a panic would end the process: end the
		// term instead, as suture would restart the service.
		defer func() {
			if r := recover(); r != nil {
				e.c.log.Error("cluster: change source panicked", "panic", r, "stack", string(debug.Stack()))
			}
		}()
		if err := e.c.src.Serve(srcCtx); err != nil && srcCtx.Err() == nil {
			e.c.log.Error("cluster: change source ended", "err", err)
		}
	}()
	go func() {
		defer close(t.relayDone)
		e.runRelay(relayCtx, pub, t)
	}()
	e.c.changed.notify()
	return t
}

// drainTimeout bounds how long a leader stopping cleanly spends
// publishing what its source handed over before it stopped (the lease's
// validity bounds it further: see stepDown).
const drainTimeout = 5 * time.Second

// endTerm stops the source and the relay. With a zero drainUntil the
// relay stops at once (the lease may be someone else's: publishing more
// could reorder the stream); otherwise, once the source has returned, it
// publishes what is left in its mailbox until drainUntil at most.
func (e *elector) endTerm(t *term, drainUntil time.Time) {
	t.cancelSrc()
	if drainUntil.IsZero() {
		t.cancelRelay()
	} else {
		timer := time.NewTimer(time.Until(drainUntil))
		select {
		case <-t.srcDone:
			close(t.stopRelay)
			select {
			case <-t.relayDone:
			case <-timer.C:
			}
		case <-timer.C:
		}
		timer.Stop()
		t.cancelRelay()
	}
	<-t.srcDone
	<-t.relayDone
	t.mb.Close()
	e.leading.Store(false)
	e.c.changed.notify()
}
