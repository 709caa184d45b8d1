package listener

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"

	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/readiness"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/thejerf/suture/v4"
)

// Listener is a suture service that holds one dedicated PostgreSQL
// connection, LISTENs on the change channel and publishes every valid
// notification to the PubSub (see the package documentation).
//
// Create it with New. All methods are safe for concurrent use. Serve runs
// at most once at a time.
type Listener struct {
	cfg          Config
	log          *slog.Logger
	ps           *pubsub.PubSub
	probeChannel string

	// started warns when EnsureStarted found the Listener stopped and
	// Serve did not start within StartGrace.
	started readiness.StartWatch

	running   atomic.Bool
	connected atomic.Bool
	ready     readiness.Flag
	lastErr   atomic.Pointer[errorRecord] // the last connection error; nil if none since start
	listened  atomic.Bool                 // LISTEN succeeded at least once
	invalid   rateLimited
	// pathErrors rate-limits crossLost's ERROR across sessions and Serve
	// runs: it repeats at every reconnection behind a transaction pooler.
	pathErrors rateLimited

	reconnects atomic.Uint64
	received   atomic.Uint64
	invalids   atomic.Uint64
	published  atomic.Uint64
	probes     atomic.Uint64
	resyncs    atomic.Uint64
	lastListen atomic.Int64 // unix nanoseconds
	probeRTT   rttHistogram

	// holdDelivery, when set (by tests, before Serve), runs before each
	// batch the dispatcher delivers: a test holds the fan-out with it.
	holdDelivery func()
}

// New validates cfg and returns a Listener. It fails early, with an error
// wrapping ErrInvalidConfig, for a connection string that does not parse,
// a nil PubSub, or a channel name PostgreSQL cannot take. A certificate or
// key file the string names that cannot be read is not an error here:
// Serve reads the files at every attempt and retries until they can be
// read. New does not connect: Serve does.
func New(cfg Config) (*Listener, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Listener{cfg: cfg, log: cfg.Logger, ps: cfg.PubSub}
	if cfg.Connect == nil {
		if _, err := parseConnString(cfg.ConnString, cfg, false); err != nil && !errors.Is(err, ErrConfigFile) {
			return nil, err
		}
	}
	var token [8]byte
	_, _ = rand.Read(token[:])
	// Private to this Listener: nobody else listens on it, and it can
	// never collide with the PhoenixKit channel.
	l.probeChannel = "phoenixkitdb_probe_" + hex.EncodeToString(token[:])
	l.invalid.every = time.Second
	l.started = readiness.StartWatch{
		Running: l.running.Load, Grace: cfg.StartGrace, Every: warnEvery, Now: cfg.Now,
		Warn: func(waited time.Duration) {
			l.log.Warn("listener: not running; live updates will not work; enable the module or add its Children to the supervisor",
				"channel", l.cfg.Channel, "waited", waited)
		},
	}
	l.pathErrors.every = pathErrorEvery
	return l, nil
}

// String names the service in supervisor logs.
func (l *Listener) String() string { return "phoenixkitdb/listener(" + l.cfg.Channel + ")" }

// Channel returns the channel the Listener LISTENs on.
func (l *Listener) Channel() string { return l.cfg.Channel }

// PubSub returns the PubSub the Listener publishes to.
func (l *Listener) PubSub() *pubsub.PubSub { return l.ps }

// Running reports whether Serve is running.
func (l *Listener) Running() bool { return l.running.Load() }

// Connected reports whether the Listener holds a connection that is
// LISTENing right now.
func (l *Listener) Connected() bool { return l.connected.Load() }

// Stats is a snapshot of a Listener's counters.
type Stats struct {
	State      State // what the Listener is doing, derived from the fields below
	Running    bool
	Connected  bool
	Reconnects uint64    // LISTEN re-established after the first time
	Received   uint64    // notifications received on the change channel
	Invalid    uint64    // of those, payloads that did not parse
	Published  uint64    // changes handed to the PubSub
	Probes     uint64    // probe notifications sent on idle connections
	Resyncs    uint64    // Resync broadcasts (one per LISTEN established)
	LastListen time.Time // when LISTEN was last established; zero if never
	// Ready reports whether changes flow (see Listener.Ready).
	Ready bool
	// LastError is the last error that failed a connection attempt or
	// ended a connection, and LastErrorAt when it happened; empty and zero
	// when there was none. It never holds a password.
	LastError   string
	LastErrorAt time.Time
}

// Stats returns the current counters.
func (l *Listener) Stats() Stats {
	s := Stats{
		Running:    l.running.Load(),
		Connected:  l.connected.Load(),
		Reconnects: l.reconnects.Load(),
		Received:   l.received.Load(),
		Invalid:    l.invalids.Load(),
		Published:  l.published.Load(),
		Probes:     l.probes.Load(),
		Resyncs:    l.resyncs.Load(),
	}
	if ns := l.lastListen.Load(); ns != 0 {
		s.LastListen = time.Unix(0, ns)
	}
	s.Ready = l.ready.Get()
	s.State = stateOf(s.Running, s.Connected, s.Ready)
	if e := l.lastErr.Load(); e != nil {
		s.LastError, s.LastErrorAt = e.msg, e.at
	}
	return s
}

// Serve connects, LISTENs and publishes until ctx ends, reconnecting
// with backoff whenever the connection fails. It returns only after its
// connection is closed and every goroutine it started has ended: within
// about a second of ctx ending, with ctx's error.
//
// Errors that cannot heal (a Connect func reporting an unparsable
// connection string) end Serve with an error wrapping
// suture.ErrDoNotRestart; everything else (server down, authentication
// failing while a password rotates, a certificate file missing, network
// faults) is retried forever. A second concurrent Serve returns
// ErrAlreadyRunning at once.
func (l *Listener) Serve(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return fmt.Errorf("%w (%w)", ErrAlreadyRunning, suture.ErrDoNotRestart)
	}
	defer l.running.Store(false)
	l.started.Cancel()
	// Reconnects counts connections lost while Serve runs: a stop and a
	// start (a module disabled and enabled) is not one.
	l.listened.Store(false)

	d := newDispatcher(l.ps, &l.published)
	d.inline = inlineMailboxes
	d.hold = l.holdDelivery
	go d.run()
	defer func() {
		d.close()
		<-d.done
	}()

	// attempt counts unsuccessful connections since the last healthy one:
	// failed connects and sessions shorter than HealthyAfter.
	attempt := 0
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		conn, err := l.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if permanent(err) {
				l.log.Error("listener: cannot connect and will not retry", "err", err)
				return fmt.Errorf("listener: %w (%w)", err, suture.ErrDoNotRestart)
			}
			attempt++
			delay := backoff(attempt, l.cfg.MinBackoff, l.cfg.MaxBackoff)
			l.recordError(err)
			if hint, escalate := escalation(err, attempt); escalate {
				l.log.Error("listener: connect failed", "attempt", attempt, "retry_in", delay, "err", err, "hint", hint)
			} else {
				l.log.Warn("listener: connect failed", "attempt", attempt, "retry_in", delay, "err", err)
			}
			if !sleep(ctx, delay) {
				return ctx.Err()
			}
			continue
		}

		began := l.cfg.Now()
		err = l.session(ctx, conn, d)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// After a healthy connection the first attempt is immediate; a
		// connection that keeps dying young backs off like a failed connect.
		var delay time.Duration
		// A path that drops other sessions' notifications (a transaction
		// pooler) is no healthier for lasting a while: keep backing off.
		if l.cfg.Now().Sub(began) >= l.cfg.HealthyAfter && !errors.Is(err, errPathSilent) {
			attempt = 0
		} else {
			attempt++
			delay = backoff(attempt, l.cfg.MinBackoff, l.cfg.MaxBackoff)
		}
		l.recordError(err)
		l.log.Warn("listener: connection lost; reconnecting", "err", err, "retry_in", delay)
		if !sleep(ctx, delay) {
			return ctx.Err()
		}
	}
}

// connect opens a connection with the Listener's settings: through
// Config.Connect, or by parsing ConnString afresh, so that the files it
// names are read again at every attempt (a rotated CA bundle is honoured
// without a restart). The caller owns and closes the connection. Its
// errors never quote the connection string; those that retrying cannot
// fix wrap ErrInvalidConfig. Safe for concurrent use; ctx bounds the
// attempt.
func (l *Listener) connect(ctx context.Context) (*pgx.Conn, error) {
	if l.cfg.Connect != nil {
		conn, err := l.cfg.Connect(ctx)
		if err != nil {
			return nil, configError(err, false)
		}
		if conn == nil {
			return nil, errors.New("listener: Connect returned neither a connection nor an error")
		}
		return conn, nil
	}
	cc, err := parseConnString(l.cfg.ConnString, l.cfg, true)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cc)
}

// permanent reports errors that retrying cannot fix: connect wraps them
// with ErrInvalidConfig.
func permanent(err error) bool {
	return errors.Is(err, ErrInvalidConfig)
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
