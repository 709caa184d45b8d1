package shape

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/thejerf/suture/v4"
)

// ErrAlreadyServing is returned (wrapped with suture.ErrDoNotRestart) by a
// second concurrent Serve of one Manager.
var ErrAlreadyServing = errors.New("shape: already serving")

// Manager holds the live shapes and routes changes to them. Serve runs it
// (it is a suture.Service); Subscribe adds subscribers. All methods are
// safe for concurrent use.
//
// One goroutine, Serve's, owns every shape: it reads the change stream,
// routes each change through an index per table, keeps each shape's key
// set and queues messages for subscribers. Snapshot queries run in
// goroutines of their own that Serve starts and waits for.
type Manager struct {
	cfg  Config
	pool *pgxpool.Pool
	ps   *pubsub.PubSub
	log  *slog.Logger

	serving atomic.Bool
	reqs    chan *request

	closedMu   sync.Mutex
	closedSubs []*Subscription
	wake       chan struct{}

	shapesLive atomic.Int64
	subsLive   atomic.Int64
	resets     atomic.Uint64
	snapshots  atomic.Int64

	// Owned by the Serve goroutine (and kept across Serve runs).
	r router
}

// request is a Subscribe call handed to the router.
type request struct {
	b   *bound
	sub *Subscription
}

// New validates cfg and returns a Manager. It does not connect.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, pool: cfg.Pool, ps: cfg.Changes, log: cfg.Logger,
		reqs: make(chan *request), wake: make(chan struct{}, 1)}
	m.r.init(m)
	return m, nil
}

// String names the service in supervisor logs.
func (m *Manager) String() string { return "phoenixkitdb/shape" }

// Subscribe subscribes to the shape of def, creating it when no shape of
// the same normalised definition exists, and blocks until the
// subscription's snapshot is queued: C then yields its rows, UpToDate,
// and the changes after it. It needs Serve to run; while it does not,
// Subscribe waits for it, or for ctx.
//
// Errors: ErrDefinition (wrapping the where package's *Error naming the
// construct and its position for a WHERE clause it refuses), ErrNotPublished,
// ErrTooManyShapes, ErrSnapshot, or ctx's error.
func (m *Manager) Subscribe(ctx context.Context, def Definition) (*Subscription, error) {
	return m.subscribe(ctx, def, false)
}

// SubscribeBatch is Subscribe, but every snapshot (the first, and each
// after a Reset) arrives as one Snapshot message holding all its rows in
// Rows, instead of one Insert per row: a subscriber that copies the rows
// on in bulk (shapehttp encodes them as JSON) pays nothing per row it
// does not use. What follows UpToDate is the same.
//
// A shape's snapshot may be handed over while its query still reads the
// rows (when they are durable already): SubscribeBatch then returns once
// the first row is read, and Rows fills until the UpToDate that follows
// it (see [Rows.Wait]); should the query fail meanwhile, Reset and a
// fresh snapshot follow instead.
func (m *Manager) SubscribeBatch(ctx context.Context, def Definition) (*Subscription, error) {
	return m.subscribe(ctx, def, true)
}

func (m *Manager) subscribe(ctx context.Context, def Definition, batch bool) (*Subscription, error) {
	if def.Schema == "" {
		def.Schema = "public"
	}
	if err := checkName("schema", def.Schema); err != nil {
		return nil, err
	}
	if err := checkName("table", def.Table); err != nil {
		return nil, err
	}
	pub := m.cfg.Publication
	if m.cfg.Notify {
		pub = ""
	}
	info, err := lookupTable(ctx, m.pool, def.Schema, def.Table, m.cfg.Notify, pub)
	if err != nil {
		return nil, err
	}
	b, err := bind(def, info)
	if err != nil {
		return nil, err
	}
	sub := newSubscription(m)
	sub.batch = batch
	select {
	case m.reqs <- &request{b: b, sub: sub}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-sub.ready:
		if sub.err != nil {
			sub.Close()
			return nil, sub.err
		}
		return sub, nil
	case <-ctx.Done():
		sub.Close()
		return nil, ctx.Err()
	}
}

// closed tells the router that sub was closed.
func (m *Manager) closed(sub *Subscription) {
	m.closedMu.Lock()
	m.closedSubs = append(m.closedSubs, sub)
	m.closedMu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// takeClosed returns the subscriptions closed since the last call.
func (m *Manager) takeClosed() []*Subscription {
	m.closedMu.Lock()
	defer m.closedMu.Unlock()
	s := m.closedSubs
	m.closedSubs = nil
	return s
}

// Stats is a snapshot of a Manager's counters.
type Stats struct {
	// Shapes are the shapes held, idle ones included.
	Shapes int
	// Subscriptions are the open subscriptions attached to a shape.
	Subscriptions int
	// Resets counts the Reset messages sent.
	Resets uint64
	// Snapshots counts the snapshot queries running or not yet applied.
	Snapshots int
}

// Stats returns the current counters.
func (m *Manager) Stats() Stats {
	return Stats{Shapes: int(m.shapesLive.Load()), Subscriptions: int(m.subsLive.Load()), Resets: m.resets.Load(), Snapshots: int(m.snapshots.Load())}
}

// Serve runs the router until ctx ends. Shapes and subscriptions live in
// the Manager, not in Serve: after a restart every shape takes a fresh
// snapshot (changes were not followed in between) and its subscribers get
// Reset. Serve returns only after every goroutine it started has ended. A
// second concurrent Serve returns ErrAlreadyServing wrapped with
// suture.ErrDoNotRestart.
func (m *Manager) Serve(ctx context.Context) error {
	if !m.serving.CompareAndSwap(false, true) {
		return fmt.Errorf("%w (%w)", ErrAlreadyServing, suture.ErrDoNotRestart)
	}
	defer m.serving.Store(false)
	return m.r.run(ctx)
}

// errorf formats an error of the package.
func errorf(format string, args ...any) error {
	return fmt.Errorf("shape: "+format, args...)
}
