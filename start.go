package phoenixkitdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/thejerf/suture/v4"
)

// DefaultReadyTimeout bounds how long Start waits for changes to flow
// unless WithReadyTimeout says otherwise.
const DefaultReadyTimeout = 30 * time.Second

// ErrNotReady is returned by Start when changes did not flow within the
// ready timeout (or ctx ended first); the error also wraps the source's
// WaitReady error, which quotes its last connection error.
var ErrNotReady = errors.New("phoenixkitdb: not ready")

// StartOption configures Start.
type StartOption func(*startOptions)

type startOptions struct {
	readyTimeout time.Duration // < 0: do not wait
}

// WithReadyTimeout sets how long Start waits for changes to flow (default
// DefaultReadyTimeout). A negative d makes Start return as soon as the
// supervisor runs; wait with [Standalone.WaitReady] then.
func WithReadyTimeout(d time.Duration) StartOption {
	return func(o *startOptions) {
		if d != 0 {
			o.readyTimeout = d
		}
	}
}

// Standalone is a DB module running under a supervisor of its own, for an
// application that does not run suture: see [Start]. A host that does
// plugs the [DB] module into its tree through a [Registry] instead.
//
// It embeds the module's change source ([DB.Changes]), so Subscribe,
// SubscribeAll, Unsubscribe, UnsubscribeAll, Ready, WaitReady and the rest
// of [ChangeSource] are Standalone's own. Subscribe first, then load what
// you show, and reload on every Resync event (package pubsub).
//
// All methods are safe for concurrent use.
type Standalone struct {
	ChangeSource

	db     *DB
	cancel context.CancelFunc
	errc   <-chan error   // the supervisor's Serve result
	runs   sync.WaitGroup // Serve calls of the module's children in progress

	closeOnce sync.Once
	closeErr  error
}

// Start creates the DB module from cfg (see [New]), runs it under a
// supervisor of its own until ctx ends or Close is called, and waits until
// changes flow (see [DB.WaitReady]), at most DefaultReadyTimeout or what
// WithReadyTimeout says.
//
//	db, err := phoenixkitdb.Start(ctx, phoenixkitdb.Config{ConnString: url})
//	if err != nil {
//		return err
//	}
//	defer db.Close()
//
// Start blocks while it waits for readiness. A configuration error is
// returned before anything runs. When changes do not flow in time, or ctx
// ends first, Start stops everything it started and returns an error
// wrapping ErrNotReady and the source's error (the Listener keeps retrying
// a database it cannot reach; Start does not).
//
// Once changes flow, Start looks for what the other change source left
// (see FindLeftovers: a replication slot in NOTIFY mode, change triggers
// on published tables in WAL mode) over a short-lived connection, for at
// most 2 s, and logs what it finds once, with the call that removes it.
//
// After ctx ends, the module stops by itself; Close still waits for it.
func Start(ctx context.Context, cfg Config, opts ...StartOption) (*Standalone, error) {
	o := startOptions{readyTimeout: DefaultReadyTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	db, err := New(cfg)
	if err != nil {
		return nil, err
	}
	logger := cfg.logger()
	s := &Standalone{ChangeSource: db.Changes(), db: db}
	sup := suture.New("phoenixkitdb", suture.Spec{EventHook: logEvents(logger)})
	for _, child := range db.Children() {
		sup.Add(&counted{Service: child, runs: &s.runs})
	}
	runCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.errc = sup.ServeBackground(runCtx)

	if o.readyTimeout < 0 {
		return s, nil
	}
	wait, cancelWait := context.WithTimeout(runCtx, o.readyTimeout)
	err = db.WaitReady(wait)
	cancelWait()
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("%w within %v: %w", ErrNotReady, o.readyTimeout, err)
	}
	logLeftovers(runCtx, cfg, logger)
	return s, nil
}

// Close stops the supervisor and returns once the module's PubSub and its
// change source have returned from Serve (the source closes its
// connection first). It blocks for as long as they take to stop, which
// they do promptly; it is idempotent, and returns the supervisor's error
// only when it ended for a reason other than Close or ctx.
func (s *Standalone) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		err := <-s.errc
		// The supervisor gives up waiting for a child after its stop
		// timeout (and logs it); Close does not.
		s.runs.Wait()
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			s.closeErr = fmt.Errorf("phoenixkitdb: supervisor: %w", err)
		}
	})
	return s.closeErr
}

// DB returns the module, for what Standalone does not offer itself: its
// PubSub, Listener or replication Source, or metrics.DB.
func (s *Standalone) DB() *DB { return s.db }

// counted runs a child of the module and counts its Serve calls in
// progress, so that Close can wait for a child the supervisor stopped
// waiting for.
type counted struct {
	suture.Service
	runs *sync.WaitGroup
}

// Serve serves the child. The supervisor calls it only while it runs, so
// no Add happens once Close waits.
func (c *counted) Serve(ctx context.Context) error {
	c.runs.Add(1)
	defer c.runs.Done()
	return c.Service.Serve(ctx)
}

// String keeps the child's own name in supervisor logs.
func (c *counted) String() string { return fmt.Sprint(c.Service) }

// logEvents logs the supervisor's events (restarts, backoffs, panics) to
// logger. It runs on the supervisor's goroutine and never blocks.
func logEvents(logger *slog.Logger) suture.EventHook {
	return func(e suture.Event) {
		level := slog.LevelWarn
		if e.Type() == suture.EventTypeServicePanic || e.Type() == suture.EventTypeStopTimeout {
			level = slog.LevelError
		}
		logger.Log(context.Background(), level, "phoenixkitdb: supervisor: "+e.String())
	}
}
