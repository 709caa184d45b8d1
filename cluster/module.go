package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/changesource"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/thejerf/suture/v4"
)

// Resync reasons added by this package (see pubsub.Event.Reason). Resyncs
// of the change source (pubsub.ReasonListen, ReasonSlot, ...) travel
// through the stream with their own reasons.
const (
	// ReasonGap: stream messages aged out (MaxAge) before this instance
	// read them.
	ReasonGap pubsub.Reason = "cluster-gap"
	// ReasonEncode: a change could not be carried through the stream.
	ReasonEncode pubsub.Reason = "cluster-encode"
	// ReasonTooLarge: a change's message was larger than the NATS
	// server's max_payload; it went to the stream as this Resync, in its
	// place (see Stats.TooLarge and docs/cluster.md).
	ReasonTooLarge pubsub.Reason = "cluster-too-large"
	// ReasonStreamReset: the stream was deleted and created again (or
	// otherwise reset: its sequences went backwards); the follower reads
	// the new stream from its start.
	ReasonStreamReset pubsub.Reason = "cluster-stream-reset"
	// ReasonSlotLost: WAL mode, a new leader found the replication slot
	// missing although the stream's last message was read from it (the
	// slot was dropped, or lost with its server): the changes committed
	// between the two leaders' terms are gone.
	ReasonSlotLost pubsub.Reason = "cluster-slot-lost"
)

// Cluster is the Module that replaces a DB module in the Registry when
// many instances share one database: see the package documentation.
type Cluster struct {
	cfg     Config
	log     *slog.Logger
	db      *phoenixkitdb.DB
	id      string // this instance, in the lease and in message ids
	slot    string // WAL mode: the replication slot, in message ids
	private *pubsub.PubSub
	src     changesource.Service
	wal     *replication.Source // src in WAL mode, nil otherwise
	changed signal

	elector  *elector
	follower *Follower
}

var _ phoenixkitdb.Module = (*Cluster)(nil)

// New validates cfg and returns the cluster module wrapping db, whose
// Config chooses the change source the leader runs. It makes db.Changes()
// return the module's Follower. Register the result in the Registry
// instead of db (its Key is also "db"); never run db's own Children as
// well, or this instance reads PostgreSQL twice. New does not connect.
func New(cfg Config, db *phoenixkitdb.DB) (*Cluster, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: db is nil", ErrInvalidConfig)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, log: cfg.Logger, db: db, id: newID()}
	c.private = pubsub.New(cfg.Logger)
	plumbing := changesource.Of(db)
	var opts changesource.Options
	if plumbing.WAL() {
		// The slot confirms only what the stream stored: a leader that
		// dies with changes in its relay leaves them to the next one.
		opts.ConfirmLimit = c.confirmLimit
		// The source runs only while this instance holds the lease: a
		// walsender still holding the slot is a lost leader's, which
		// would keep it until wal_sender_timeout (docs/cluster.md).
		opts.TakeOverSlot = true
	}
	if c.src, err = plumbing.Build(c.private, opts); err != nil {
		return nil, err
	}
	if rs, ok := c.src.(*replication.Source); ok {
		c.slot, c.wal = rs.Slot(), rs
	}
	c.elector = &elector{c: c}
	c.follower = &Follower{c: c, ps: db.PubSub(), check: make(chan struct{}, 1)}
	plumbing.SetOverride(c.follower)
	return c, nil
}

// newID returns 8 random bytes in hex.
func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// Key returns "db": the module is a drop-in replacement for the DB
// module, so a host's lookups of "db" in its Registry (Enable("db"),
// Disable("db")) keep working whichever of the two it registered.
func (c *Cluster) Key() string { return "db" }

// Name returns "DB (cluster)".
func (c *Cluster) Name() string { return "DB (cluster)" }

// Version returns the library version.
func (c *Cluster) Version() string { return phoenixkitdb.Version }

// Children returns the DB's PubSub, the elector (which runs the change
// source while this instance leads) and the Follower, the same three on
// every call.
func (c *Cluster) Children() []suture.Service {
	return []suture.Service{c.db.PubSub(), c.elector, c.follower}
}

// ID returns this instance's id, as it appears in the lease.
func (c *Cluster) ID() string { return c.id }

// Leading reports whether this instance holds the lease and runs the
// change source.
func (c *Cluster) Leading() bool { return c.elector.leading.Load() }

// Leader returns the id of the instance this one last saw holding the
// lease, "" if none.
func (c *Cluster) Leader() string {
	if o := c.elector.obs.Load(); o != nil {
		return o.ID
	}
	return ""
}

// Source returns the change source the leader runs (a Listener or a
// replication Source built from the DB's Config, publishing into a
// private PubSub): a *listener.Listener or a *replication.Source. It runs
// only while this instance leads.
func (c *Cluster) Source() phoenixkitdb.ChangeSource { return c.src }

// Follower returns the module's Follower (also what db.Changes returns).
func (c *Cluster) Follower() *Follower { return c.follower }

// Stats is a snapshot of the module's counters.
type Stats struct {
	Leading bool
	Terms   uint64 // leaderships this instance has held
	// Term is the number of this instance's current or last term, 0
	// before its first: the revision of the lease write that began it,
	// so terms grow across instances and no two leaders share one.
	Term      uint64
	Published uint64 // events this instance's relay stored in the stream
	Position  uint64 // stream sequence last handed to the DB's PubSub
	Received  uint64 // changes handed to the DB's PubSub
	Resyncs   uint64 // Resyncs handed to the DB's PubSub
	// TooLarge counts the changes this instance's relay replaced by a
	// Resync (ReasonTooLarge) because their message exceeded the NATS
	// server's max_payload.
	TooLarge uint64

	// Leader is the id of the instance this one last saw holding the
	// lease (see Leader), "" if none.
	Leader string
	// Connected: the follower consumes the stream right now (see
	// Follower.Connected).
	Connected bool
	// StreamLast is the stream's last sequence as the follower last saw
	// it: at its setup, then with every message (the message's sequence
	// plus the consumer's pending count). It costs no request. While the
	// follower is not connected it does not move, so Lag understates.
	StreamLast uint64
	// Lag is StreamLast minus Position: messages stored in the stream
	// that this follower has not handed to the PubSub yet.
	Lag uint64
}

// Stats returns the current counters. It loads atomics and asks the NATS
// client whether it is connected (one short lock), and makes no request:
// it is cheap, never blocks for long and is safe for concurrent use.
func (c *Cluster) Stats() Stats {
	pos := c.follower.last.Load()
	last := max(c.follower.streamLast.Load(), pos)
	return Stats{
		Leading:    c.Leading(),
		Terms:      c.elector.terms.Load(),
		Term:       c.elector.term.Load(),
		Published:  c.elector.relay.published.Load(),
		Position:   pos,
		Received:   c.follower.received.Load(),
		Resyncs:    c.follower.resyncs.Load(),
		TooLarge:   c.elector.relay.tooLarge.Load(),
		Leader:     c.Leader(),
		Connected:  c.follower.Connected(),
		StreamLast: last,
		Lag:        last - pos,
	}
}

// signal wakes waiters when some state changed.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed at the next notify.
func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}
