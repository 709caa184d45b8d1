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

// session runs one connection: LISTEN, Resync, then read until the
// connection fails or ctx ends. It always closes conn.
func (l *Listener) session(ctx context.Context, conn *pgx.Conn, d *dispatcher) (err error) {
	pg := conn.PgConn()
	netConn := pg.Conn()
	healthy := false
	defer func() { l.closeConn(conn, healthy) }()

	// Wake a blocked read when ctx ends: pgx's own context watching costs
	// an allocation per call, so the read loop uses a background context
	// and socket deadlines, and this hook moves the deadline to the past.
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = netConn.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	defer func() {
		if !stop() {
			<-fired
		}
	}()

	if err := l.listen(pg); err != nil {
		return err
	}
	l.connected.Store(true)
	defer l.connected.Store(false)
	if l.listened.Swap(true) {
		l.reconnects.Add(1)
	}
	l.lastListen.Store(l.cfg.Now().UnixNano())
	l.resyncs.Add(1)
	// Anything sent while no connection listened is gone: tell every
	// subscriber to reload, in order after what the last connection read.
	d.resync(pubsub.ReasonListen)
	l.log.Info("listener: listening", "channel", l.cfg.Channel, "backend_pid", pg.PID(),
		"reconnects", l.reconnects.Load())

	err = l.read(ctx, conn, d)
	// A healthy connection (ctx ended, nothing broken) gets UNLISTEN.
	healthy = ctx.Err() != nil && !pg.IsClosed()
	return err
}

// listen runs LISTEN on the change channel and on the private probe
// channel, both quoted as identifiers, within one ProbeInterval.
func (l *Listener) listen(pg *pgconn.PgConn) error {
	sql := "LISTEN " + pgx.Identifier{l.cfg.Channel}.Sanitize() + "; LISTEN " + pgx.Identifier{l.probeChannel}.Sanitize()
	_ = pg.Conn().SetDeadline(time.Now().Add(l.cfg.ProbeInterval))
	_, err := pg.Exec(context.Background(), sql).ReadAll()
	_ = pg.Conn().SetDeadline(time.Time{})
	if err != nil {
		return fmt.Errorf("listener: LISTEN: %w", err)
	}
	return nil
}

// read is the connection's only reader. When a half ProbeInterval passed
// without traffic it probes the whole delivery path by notifying itself on
// the probe channel; a probe not echoed within ProbeInterval ends the
// session. A frozen path is thus found within about 1.5 x ProbeInterval.
func (l *Listener) read(ctx context.Context, conn *pgx.Conn, d *dispatcher) error {
	pg := conn.PgConn()
	netConn := pg.Conn()
	tick := l.cfg.ProbeInterval / 2
	var (
		activity, seen uint64    // notifications read, and at the last tick
		probeDue       time.Time // zero when no probe is outstanding
		probeCounter   uint64
	)
	if err := armDeadline(ctx, netConn, time.Now().Add(tick)); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(context.Background())
		if err != nil {
			if !isTimeout(err) {
				return fmt.Errorf("listener: wait for notification: %w", err)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			now := time.Now()
			switch {
			case !probeDue.IsZero() && now.After(probeDue):
				return errProbeLost
			case probeDue.IsZero() && activity == seen:
				probeCounter++
				if err := l.probe(pg, probeCounter); err != nil {
					return err
				}
				probeDue = now.Add(l.cfg.ProbeInterval)
			}
			seen = activity
			next := now.Add(tick)
			if !probeDue.IsZero() && probeDue.Before(next) {
				next = probeDue
			}
			if err := armDeadline(ctx, netConn, next); err != nil {
				return err
			}
			continue
		}
		if n == nil {
			// A Connect func left OnNotification set, which consumed it.
			continue
		}
		activity++
		if n.Channel == l.probeChannel {
			probeDue = time.Time{}
			continue
		}
		if n.Channel != l.cfg.Channel {
			continue
		}
		l.received.Add(1)
		ev, perr := ParsePayload(n.Payload)
		if perr != nil {
			l.invalids.Add(1)
			l.logInvalid(n.Payload, perr)
			continue
		}
		d.push(ctx, ev)
	}
}

// probe sends a notification on the probe channel. A frozen path makes
// it time out within ProbeInterval, which ends the session.
func (l *Listener) probe(pg *pgconn.PgConn, counter uint64) error {
	l.probes.Add(1)
	sql := fmt.Sprintf("NOTIFY %s, '%d'", pgx.Identifier{l.probeChannel}.Sanitize(), counter)
	_ = pg.Conn().SetDeadline(time.Now().Add(l.cfg.ProbeInterval))
	_, err := pg.Exec(context.Background(), sql).ReadAll()
	if err != nil {
		return fmt.Errorf("listener: probe: %w", err)
	}
	return nil
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

// closeConn ends a session's connection: UNLISTEN first when it is
// healthy, then Close, both bounded by closeTimeout.
func (l *Listener) closeConn(conn *pgx.Conn, healthy bool) {
	pg := conn.PgConn()
	if healthy && !pg.IsClosed() {
		_ = pg.Conn().SetDeadline(time.Now().Add(closeTimeout))
		_, _ = pg.Exec(context.Background(), "UNLISTEN *").ReadAll()
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = pg.Conn().SetDeadline(time.Now().Add(closeTimeout))
	_ = conn.Close(ctx)
}
