package listener

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// errProbeLost marks a connection whose probe notification never came back.
var errProbeLost = errors.New("listener: probe notification not received: connection presumed dead")

// closeTimeout bounds UNLISTEN and Close at the end of a session, so that
// Serve returns within about a second of its context ending.
const closeTimeout = 400 * time.Millisecond

// session runs one connection: it takes the socket over from pgx, sends
// LISTEN, queues a Resync, then reads until the connection fails or ctx
// ends. It always closes the connection, and returns within about
// closeTimeout of ctx ending.
func (l *Listener) session(ctx context.Context, conn *pgx.Conn, d *dispatcher) error {
	pid := conn.PgConn().PID()
	nc, err := takeOver(ctx, conn, l.cfg.ProbeInterval)
	if err != nil {
		return err
	}
	return l.serveConn(ctx, nc, pid, d)
}

// serveConn is session after the take-over: nc is an idle, authenticated
// connection to backend pid, which serveConn always closes.
func (l *Listener) serveConn(ctx context.Context, nc net.Conn, pid uint32, d *dispatcher) (err error) {
	s := &wireSession{l: l, d: d, nc: nc, r: newWireReader(nc, readBufferSize)}
	healthy := false
	defer func() { s.close(healthy) }()
	// Runs first: the cross-session probe's sender ends before the
	// connection is closed and before serveConn returns.
	defer s.stopCross()

	// Wake a blocked read or write when ctx ends: the loop never watches
	// ctx itself, and this hook moves the socket deadline to the past.
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = nc.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	defer func() {
		if !stop() {
			<-fired
		}
	}()

	err = s.listen(ctx)
	if err == nil {
		l.connected.Store(true)
		defer l.connected.Store(false)
		// Ready once another session's notification came through
		// (crossProven), until the session ends.
		defer l.ready.Set(false)
		if l.listened.Swap(true) {
			l.reconnects.Add(1)
		}
		l.lastListen.Store(l.cfg.Now().UnixNano())
		l.resyncs.Add(1)
		// Anything sent while no connection listened is gone: tell every
		// subscriber to reload, in order after what the last connection
		// read and before what arrived with LISTEN's reply.
		d.resync(pubsub.ReasonListen)
		l.log.Info("listener: listening", "channel", l.cfg.Channel, "backend_pid", pid,
			"reconnects", l.reconnects.Load())
		err = s.read(ctx)
	}
	// A healthy connection (ctx ended, nothing broken) gets UNLISTEN.
	healthy = ctx.Err() != nil && !s.broken
	return err
}

// read is the connection's only reader. When a half ProbeInterval passed
// without traffic it probes the connection by notifying itself on the
// probe channel; the session ends when a probe stays unanswered and
// nothing at all is read for ProbeInterval. A frozen path is thus found
// within about 1.5 x ProbeInterval. Any message read proves the
// connection alive, even while a probe's echo waits behind the hundreds of
// thousands of notifications a big transaction queued before it; time
// spent blocked on the dispatcher does not count against the connection.
// Besides, a cross-session probe (crossprobe.go) checks that other
// sessions' notifications reach this one.
//
// Events go to the dispatcher in batches: whenever the next message is
// not buffered whole (so the next read would wait on the socket), after
// maxBatch events, and when read returns.
func (s *wireSession) read(ctx context.Context) error {
	defer s.flush(ctx)
	tick := s.l.cfg.ProbeInterval / 2
	var seen, probeCounter uint64 // activity at the last tick; probes sent
	// lastChance is set when a deadline passed with something overdue: a
	// timeout may come from a deadline already past when the read began
	// (the goroutine was not scheduled in time), without the socket being
	// read, so the verdict waits for one more short read.
	lastChance := false
	s.startCross(ctx)
	if err := armDeadline(ctx, s.nc, time.Now().Add(tick)); err != nil {
		return err
	}
	for {
		if s.batched() >= maxBatch || (s.received > 0 && !s.r.ready()) {
			if s.flush(ctx) {
				if err := s.resumed(ctx, tick); err != nil {
					return err
				}
			}
		}
		typ, body, err := s.r.next()
		if err != nil {
			if !isTimeout(err) {
				s.broken = true
				return fmt.Errorf("listener: wait for notification: %w", err)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			now := time.Now()
			if s.activity != seen {
				seen = s.activity
				// Traffic proves the connection alive: give an unanswered
				// probe a fresh interval rather than a verdict.
				if !s.probeDue.IsZero() {
					s.probeDue = now.Add(s.l.cfg.ProbeInterval)
				}
			} else if s.probeDue.IsZero() {
				probeCounter++
				if err := s.probe(ctx, probeCounter); err != nil {
					return err
				}
				s.probeDue = now.Add(s.l.cfg.ProbeInterval)
			}
			s.crossTick(ctx, now)
			probeLate := !s.probeDue.IsZero() && !now.Before(s.probeDue)
			next := now.Add(tick)
			switch {
			case (probeLate || s.crossLate(now)) && !lastChance:
				lastChance = true
				next = now.Add(tick / 4)
			case probeLate:
				s.broken = true
				return errProbeLost
			case s.crossLate(now):
				return s.crossLost()
			default:
				lastChance = false
				next = s.earliestDue(next)
			}
			if err := armDeadline(ctx, s.nc, next); err != nil {
				return err
			}
			continue
		}
		s.activity++
		if err := s.handle(typ, body); err != nil {
			return fmt.Errorf("listener: wait for notification: %w", err)
		}
	}
}

// resumed runs after the reader was blocked on the dispatcher: however
// long that took, outstanding probes get a full interval from now, and
// the socket a deadline in the future, so the next read waits for data
// instead of reporting a timeout at once.
func (s *wireSession) resumed(ctx context.Context, tick time.Duration) error {
	now := time.Now()
	if !s.probeDue.IsZero() {
		s.probeDue = now.Add(s.l.cfg.ProbeInterval)
	}
	s.crossResumed(now)
	return armDeadline(ctx, s.nc, s.earliestDue(now.Add(tick)))
}

// earliestDue returns the earliest of t and the outstanding probes' due times.
func (s *wireSession) earliestDue(t time.Time) time.Time {
	for _, due := range []time.Time{s.probeDue, s.cross.due} {
		if !due.IsZero() && due.Before(t) {
			t = due
		}
	}
	return t
}

// armDeadline sets the socket deadline for the next wait, then re-checks
// ctx: the AfterFunc in session may have fired before this call, and its
// past deadline must not be overwritten unnoticed.
func armDeadline(ctx context.Context, c net.Conn, t time.Time) error {
	_ = c.SetDeadline(t)
	return ctx.Err()
}

func isTimeout(err error) bool {
	if pgconn.Timeout(err) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
