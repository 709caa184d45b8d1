package listener

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// The self-probe (session.go) runs on the Listener's own connection, so
// it comes back even where other sessions' notifications never arrive:
// behind a transaction-mode pooler (PgBouncer pool_mode=transaction) the
// LISTEN holds on one server connection that the pooler lends to other
// clients between transactions, and whatever is delivered to it while the
// Listener is not in a transaction is dropped. The cross-session probe
// proves the path the way the changes take it: a separate, short-lived
// connection (l.connect) notifies the probe channel, and the Listener must
// read that notification. It runs right after LISTEN and again after
// crossEvery without any change notification (a change comes from another
// session, so it proves the path as well as the probe does). The cost is
// one short connection per session and one per crossEvery of quiet.

// errPathSilent ends a session whose cross-session probe was not received.
var errPathSilent = errors.New("listener: notifications from other sessions do not reach this connection")

const (
	// crossEveryProbes is crossEvery in ProbeIntervals: 12 x 5 s, one
	// short connection a minute on a quiet Listener.
	crossEveryProbes = 12
	// crossPrefix starts a cross-session probe's payload; the self-probe's
	// payload is a bare counter.
	crossPrefix = "cross:"
	// minCrossSendTimeout bounds connecting and notifying for short
	// ProbeIntervals: a loaded server may take that long to accept.
	minCrossSendTimeout = 3 * time.Second
	// pathErrorEvery rate-limits the ERROR logged when the probe is lost,
	// which repeats at every reconnection.
	pathErrorEvery = time.Minute
)

// crossProbe is the state of the cross-session probe of one session. Only
// the session's goroutine touches it; the sender goroutine reports on
// result.
type crossProbe struct {
	seq     uint64           // probes started in this session
	want    []byte           // payload of the outstanding probe; nil when none
	result  chan crossResult // non-nil while a sender runs or its result is unread
	cancel  context.CancelFunc
	due     time.Time // zero until the sender reported the NOTIFY committed
	next    time.Time // when a quiet connection is probed again
	changes uint64    // s.changes when the path was last proven
}

// crossResult is what the sender goroutine reports.
type crossResult struct {
	sent     time.Time // when the NOTIFY committed
	err      error
	panicked any // a panic in l.connect (a user's Connect func), re-raised in Serve
}

func isCrossPayload(p []byte) bool { return bytes.HasPrefix(p, []byte(crossPrefix)) }

// startCross starts a cross-session probe on a goroutine that stopCross
// waits for. It never blocks.
func (s *wireSession) startCross(ctx context.Context) {
	c := &s.cross
	c.seq++
	c.want = []byte(crossPrefix + strconv.FormatUint(c.seq, 10))
	c.due = time.Time{}
	c.changes = s.changes
	c.result = make(chan crossResult, 1)
	timeout := max(2*s.l.cfg.ProbeInterval, minCrossSendTimeout)
	sctx, cancel := context.WithTimeout(ctx, timeout)
	c.cancel = cancel
	go s.l.sendCrossProbe(sctx, string(c.want), c.result)
}

// sendCrossProbe notifies the probe channel with payload from a fresh
// connection, which it closes, and reports on out (buffered) exactly once.
// ctx bounds the whole.
func (l *Listener) sendCrossProbe(ctx context.Context, payload string, out chan<- crossResult) {
	var res crossResult
	defer func() {
		if p := recover(); p != nil {
			res = crossResult{panicked: p}
		}
		out <- res
	}()
	conn, err := l.connect(ctx)
	if err != nil {
		res.err = err
		return
	}
	// The simple protocol, with no prepared statement: poolers in front
	// may not support them. SET LOCAL: a statement_timeout meant for
	// ordinary clients must not fail the probe, nor this setting outlive
	// it on a pooled server connection. The payload is the probe's own
	// prefix and digits.
	sql := "SET LOCAL statement_timeout = 0; NOTIFY " + pgx.Identifier{l.probeChannel}.Sanitize() + ", '" + payload + "'"
	_, res.err = conn.PgConn().Exec(ctx, sql).ReadAll()
	res.sent = time.Now()
	cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = conn.Close(cctx)
	// An interrupted query leaves pgx a cleanup goroutine: wait for it,
	// so that nothing of the probe outlives the session.
	select {
	case <-conn.PgConn().CleanupDone():
	case <-cctx.Done():
	}
}

// crossEcho handles a cross-session probe read on the connection.
func (s *wireSession) crossEcho(payload []byte) {
	c := &s.cross
	if c.want != nil && bytes.Equal(payload, c.want) {
		now := time.Now()
		s.l.log.Debug("listener: cross-session probe received", "channel", s.l.cfg.Channel, "payload", string(payload))
		s.crossProven(now)
	}
}

// crossProven records that another session's notification arrived.
func (s *wireSession) crossProven(now time.Time) {
	c := &s.cross
	c.want, c.due = nil, time.Time{}
	c.changes = s.changes
	c.next = now.Add(crossEveryProbes * s.l.cfg.ProbeInterval)
	s.l.ready.Set(true)
}

// crossTick runs at every read timeout: it collects the sender's report,
// counts change notifications as proof, and starts the next probe when
// the connection was quiet for crossEvery. A panic in the sender is
// re-raised here, on Serve's goroutine, where suture recovers it.
func (s *wireSession) crossTick(ctx context.Context, now time.Time) {
	c := &s.cross
	if s.changes != c.changes {
		s.crossProven(now)
	}
	if c.result != nil {
		select {
		case res := <-c.result:
			c.result = nil
			c.cancel()
			switch {
			case res.panicked != nil:
				panic(res.panicked)
			case c.want == nil:
				// Proven while the sender was closing its connection.
			case res.err != nil:
				// Not evidence against this connection (the server may be
				// full, or a proxy frozen): try again after crossEvery.
				if ctx.Err() == nil {
					s.l.log.Warn("listener: cannot send the cross-session probe; will retry",
						"channel", s.l.cfg.Channel, "retry_in", crossEveryProbes*s.l.cfg.ProbeInterval, "err", res.err)
				}
				c.want = nil
				c.next = now.Add(crossEveryProbes * s.l.cfg.ProbeInterval)
			default:
				c.due = res.sent.Add(s.l.cfg.ProbeInterval)
			}
		default:
		}
	}
	if c.want == nil && c.result == nil && !now.Before(c.next) {
		s.startCross(ctx)
	}
}

// crossLate reports whether the outstanding probe is overdue.
func (s *wireSession) crossLate(now time.Time) bool {
	return s.cross.want != nil && !s.cross.due.IsZero() && !now.Before(s.cross.due)
}

// crossResumed gives the outstanding probe a full interval after the
// reader was blocked on the dispatcher: it may be waiting in the socket.
func (s *wireSession) crossResumed(now time.Time) {
	if !s.cross.due.IsZero() {
		s.cross.due = now.Add(s.l.cfg.ProbeInterval)
	}
}

// crossLost logs why the session ends, rate-limited across sessions, and
// returns errPathSilent. Serve reconnects, which sends every subscriber a
// Resync: whatever was dropped is covered.
func (s *wireSession) crossLost() error {
	if ok, suppressed := s.l.pathErrors.allow(time.Now()); ok {
		s.l.log.Error("listener: notifications sent by other sessions do not reach the Listener, although its own do: "+
			"a transaction-mode pooler (PgBouncer pool_mode=transaction) or a proxy that does not forward notifications "+
			"is probably in the path; connect directly or through a session-mode pooler. Reconnecting; subscribers get a Resync",
			"channel", s.l.cfg.Channel, "waited", s.l.cfg.ProbeInterval, "suppressed_since_last", suppressed)
	}
	return errPathSilent
}

// stopCross cancels a running sender and waits for it. A panic it
// reported is re-raised, so that Serve fails as it would had its own
// connect panicked.
func (s *wireSession) stopCross() {
	c := &s.cross
	if c.result == nil {
		return
	}
	c.cancel()
	res := <-c.result
	c.result = nil
	if res.panicked != nil {
		panic(res.panicked)
	}
}
