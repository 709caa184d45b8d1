package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"sync/atomic"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/readiness"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/thejerf/suture/v4"
)

// Source is a suture service that streams the changes of a publication
// from a logical replication slot (pgoutput) and publishes them to the
// PubSub, with the Listener's topics (see the package documentation).
//
// Create it with New. All methods are safe for concurrent use. Serve runs
// at most once at a time.
type Source struct {
	cfg Config
	log *slog.Logger
	ps  *pubsub.PubSub

	// startWatch warns when EnsureStarted found the Source stopped and
	// Serve did not start within StartGrace.
	startWatch readiness.StartWatch

	running   atomic.Bool
	connected atomic.Bool
	ready     readiness.Flag
	lastErr   atomic.Pointer[errorRecord]

	// The position state outlives Serve, so that a Source restarted by
	// its supervisor (after a panic, say) still skips what it published.
	// Only the goroutine running Serve touches pos.
	pos position
	// started: the first connection of the process has sent its Resync.
	started atomic.Bool
	// hadSlot: the persistent slot existed once; missing later means lost.
	hadSlot atomic.Bool
	// failoverWarned: the WARN that the server has no failover slots
	// was logged.
	failoverWarned atomic.Bool
	// owed is a Resync reason found while preparing a connection and not
	// sent yet (pubsub.ReasonSlot or ReasonServer): a connection that fails
	// after finding it leaves it to the next one. Only the goroutine
	// running Serve touches it.
	owed pubsub.Reason
	// systemID and timeline identify the server of the last connection
	// that streamed (identity.go); 0 before the first.
	systemID atomic.Uint64
	timeline atomic.Uint64
	// creatingSlot: slot creation is waiting (slotwait.go).
	creatingSlot atomic.Bool
	// busyWaits counts silences past Timeout spent waiting for a busy
	// walsender (timeout.go); lastBusyLog is when that was last logged.
	busyWaits   atomic.Uint64
	lastBusyLog atomic.Int64
	// slotsCreated counts the persistent slots this Source created (Stats).
	slotsCreated atomic.Uint64

	reconnects atomic.Uint64
	received   atomic.Uint64
	published  atomic.Uint64
	resyncs    atomic.Uint64
	confirmed  atomic.Uint64
	lagBytes   atomic.Int64
	lastLagLog atomic.Int64
	// typeLookups counts the side connections that resolved types seen
	// after the preload (tests read it).
	typeLookups atomic.Uint64

	// acks holds back confirmation for ack mailboxes (ack.go); only the
	// goroutine running Serve touches it.
	acks          ackLedger
	waitingForAck atomic.Bool

	// changeHook, set by tests only, runs before each change is decoded.
	changeHook func()
}

// position is what has been handed to the PubSub: the commit LSN of the
// last transaction published whole, and, for a transaction cut off in its
// middle, its commit LSN and how many of its events went out.
type position struct {
	lastCommit   pubsub.LSN
	partialLSN   pubsub.LSN
	partialCount int
}

// New validates cfg and returns a Source. It fails early, with an error
// wrapping ErrInvalidConfig, for a connection string that does not parse,
// a nil PubSub, or a slot or publication name PostgreSQL cannot take. New
// does not connect: Serve does.
func New(cfg Config) (*Source, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := parseConnString(cfg.ConnString, cfg); err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg, log: cfg.Logger, ps: cfg.PubSub}
	s.startWatch = readiness.StartWatch{
		Running: s.running.Load, Grace: cfg.StartGrace, Every: warnEvery,
		Warn: func(waited time.Duration) {
			s.log.Warn("replication: not running; live updates will not work; add the Source to a running supervisor",
				"slot", s.cfg.Slot, "waited", waited)
		},
	}
	return s, nil
}

// String names the service in supervisor logs.
func (s *Source) String() string { return "phoenixkitdb/replication(" + s.cfg.Slot + ")" }

// Slot returns the replication slot's name.
func (s *Source) Slot() string { return s.cfg.Slot }

// Publication returns the publication's name.
func (s *Source) Publication() string { return s.cfg.Publication }

// PubSub returns the PubSub the Source publishes to.
func (s *Source) PubSub() *pubsub.PubSub { return s.ps }

// Running reports whether Serve is running.
func (s *Source) Running() bool { return s.running.Load() }

// Connected reports whether the Source streams from its slot right now.
// A Source waiting for another reader to release the slot is not.
func (s *Source) Connected() bool { return s.connected.Load() }

// Stats is a snapshot of a Source's counters.
type Stats struct {
	Running    bool
	Connected  bool
	Ready      bool
	Reconnects uint64 // streaming re-established after the first time in a Serve
	Received   uint64 // row changes and messages decoded (replays skipped included)
	Published  uint64 // changes and messages handed to the PubSub
	Resyncs    uint64 // Resync broadcasts (start, lost slot, new server history, temporary slot reconnects)
	// SlotsCreated counts the persistent slots this Source created because
	// the slot was missing or invalidated (the first one included: a
	// process that finds no slot at start creates it and sends
	// pubsub.ReasonStart, not ReasonSlot).
	SlotsCreated uint64
	// ConfirmedLSN is the last position reported to the server as
	// processed: the slot's confirmed_flush_lsn once the server took it.
	ConfirmedLSN pubsub.LSN
	// LagBytes is the server's WAL end, as last reported by it, minus
	// ConfirmedLSN: WAL the slot retains, as of the last message the
	// Source read (it stands still while disconnected; the metrics module
	// reads the slot from the server instead).
	LagBytes int64
	// WaitingForAck is true while the Source waits for a full ack mailbox
	// (pubsub.WithAck) to acknowledge events, reading nothing meanwhile.
	WaitingForAck bool
	// CreatingSlot is true while the Source waits for the server to
	// create the slot, which waits for open transactions to end.
	CreatingSlot bool
	// BusyWaits counts the times the connection was silent past
	// Config.Timeout while its walsender was at work (replaying a large
	// transaction), and the Source waited instead of reconnecting.
	BusyWaits uint64
	// SystemID and Timeline identify the server of the last connection
	// that streamed, as IDENTIFY_SYSTEM reported them (0 before the
	// first): the cluster's system identifier, which initdb chose and
	// backups and standbys keep, and its timeline, which every promotion
	// and point-in-time recovery raises. When they change in a way that
	// can lose delivered changes, the Source starts afresh with a Resync
	// (pubsub.ReasonServer).
	SystemID uint64
	Timeline uint32
	// LastError is the last error that failed a connection attempt or
	// ended a connection, and LastErrorAt when; empty and zero if none.
	// It never holds a password.
	LastError   string
	LastErrorAt time.Time
}

// Stats returns the current counters.
func (s *Source) Stats() Stats {
	st := Stats{
		Running:      s.running.Load(),
		Connected:    s.connected.Load(),
		Reconnects:   s.reconnects.Load(),
		Received:     s.received.Load(),
		Published:    s.published.Load(),
		Resyncs:      s.resyncs.Load(),
		SlotsCreated: s.slotsCreated.Load(),
		ConfirmedLSN: pubsub.LSN(s.confirmed.Load()),
		LagBytes:     s.lagBytes.Load(),
	}
	st.Ready = s.ready.Get()
	st.WaitingForAck = s.waitingForAck.Load()
	st.CreatingSlot = s.creatingSlot.Load()
	st.BusyWaits = s.busyWaits.Load()
	st.SystemID = s.systemID.Load()
	st.Timeline = uint32(s.timeline.Load())
	if e := s.lastErr.Load(); e != nil {
		st.LastError, st.LastErrorAt = e.msg, e.at
	}
	return st
}

// Serve connects, streams and publishes until ctx ends, reconnecting with
// backoff whenever the connection fails. It returns only after its
// connection is closed and every goroutine it started has ended: within
// about a second of ctx ending, with ctx's error.
//
// Setup problems a person can fix while it runs (wal_level, the role's
// REPLICATION attribute, a missing publication, the server down) are
// logged at ERROR and retried with backoff. While another reader holds
// the slot, Serve waits and retries after 200 ms, then backs off up to
// 2 s (DefaultSlotRetry, DefaultSlotRetryMax). A second concurrent
// Serve returns ErrAlreadyRunning at once, wrapped with
// suture.ErrDoNotRestart.
func (s *Source) Serve(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return fmt.Errorf("%w (%w)", ErrAlreadyRunning, suture.ErrDoNotRestart)
	}
	defer s.running.Store(false)
	s.startWatch.Cancel()
	if s.cfg.ConfirmLimit != nil {
		// What an earlier Serve handed over may not have been stored by
		// the consumer: read again whatever the slot did not confirm.
		s.pos = position{}
	}

	streamed := false // a connection streamed during this Serve
	attempt := 0
	var busyPID uint32 // the holder last logged, 0 when not waiting
	busyTries := 0     // attempts that found the slot held, since the last that did not
	lastErrorMsg := ""
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		began := time.Now()
		sess := &session{s: s}
		err := sess.run(ctx, streamed)
		streamed = streamed || sess.streaming
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var busy *slotBusyError
		if errors.As(err, &busy) {
			if busy.pid != busyPID {
				s.log.Info("replication: slot is in use by another reader; waiting to take over",
					"slot", s.cfg.Slot, "holder_pid", busy.pid)
				busyPID = busy.pid
			}
			attempt = 0
			busyTries++
			// A standby waiting for the active reader backs off (each try
			// is a replication connection); one that ends the holder
			// finds the slot free within a moment.
			delay := DefaultSlotRetry
			if !s.cfg.TakeOverSlot {
				delay = backoff(busyTries, DefaultSlotRetry, DefaultSlotRetryMax)
			}
			if !sleep(ctx, delay) {
				return ctx.Err()
			}
			continue
		}
		busyPID, busyTries = 0, 0
		s.recordError(err)
		if sess.streaming && time.Since(began) >= s.cfg.Timeout {
			attempt = 0
		}
		attempt++
		delay := backoff(attempt, s.cfg.MinBackoff, s.cfg.MaxBackoff)
		if sess.streaming && attempt == 1 {
			// A healthy stream that broke: reconnect at once.
			delay = 0
		}
		hint, setup := escalation(err)
		switch {
		case setup && err.Error() != lastErrorMsg:
			s.log.Error("replication: cannot stream; retrying", "attempt", attempt, "retry_in", delay, "err", err, "hint", hint)
		case setup:
			s.log.Warn("replication: still cannot stream; retrying", "attempt", attempt, "retry_in", delay, "err", err, "hint", hint)
		case attempt >= escalateAfter:
			s.log.Error("replication: cannot connect; retrying", "attempt", attempt, "retry_in", delay, "err", err, "hint", hint)
		default:
			s.log.Warn("replication: connection lost; reconnecting", "attempt", attempt, "retry_in", delay, "err", err)
		}
		lastErrorMsg = err.Error()
		if !sleep(ctx, delay) {
			return ctx.Err()
		}
	}
}

// resync broadcasts a Resync with reason to every subscribed mailbox.
func (s *Source) resync(reason pubsub.Reason) {
	s.resyncs.Add(1)
	s.ps.ResyncWith(reason)
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
