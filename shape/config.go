package shape

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Defaults of Config's zero values.
const (
	// DefaultMaxShapes is Config.MaxShapes's default.
	DefaultMaxShapes = 10000
	// DefaultGrace is Config.Grace's default.
	DefaultGrace = 30 * time.Second
	// DefaultBuffer is Config.Buffer's default.
	DefaultBuffer = 4096
	// DefaultFetchBatch is Config.FetchBatch's default.
	DefaultFetchBatch = 1000
	// DefaultSnapshots is Config.Snapshots's default.
	DefaultSnapshots = 4
	// DefaultPublication is Config.Publication's default, the WAL
	// source's own default.
	DefaultPublication = "phoenixkitdb"
)

// Config configures a [Manager]. Zero values mean the documented defaults;
// Pool and Changes are required.
type Config struct {
	// Pool runs the snapshot queries and the fetches by key. Its
	// connections' session settings do not matter: each query pins the
	// ones the WAL source pins, so values print the same way.
	Pool *pgxpool.Pool
	// Changes is the PubSub the change source publishes to (the DB
	// module's PubSub; a cluster follower's).
	Changes *pubsub.PubSub
	// Notify says the change source is the NOTIFY Listener: changes carry
	// row ids only, rows are fetched by key, and the guarantee is weaker
	// (see the package documentation). False means a source whose events
	// carry rows and transaction ids: the WAL source or a cluster follower
	// fed by one.
	Notify bool
	// Publication is the WAL source's publication, checked at Subscribe so
	// that a table whose changes never arrive is refused. Default
	// "phoenixkitdb". Unused with Notify.
	Publication string
	// MaxShapes bounds the shapes held at once, idle ones (waiting out
	// Grace) included; past it the oldest idle shape is dropped, and when
	// none is idle Subscribe fails with ErrTooManyShapes. Default 10,000.
	MaxShapes int
	// Grace is how long a shape without subscribers is kept, so that a
	// client that reconnects finds it. Default 30 s.
	Grace time.Duration
	// Buffer bounds the live messages a subscription holds that its
	// reader has not taken; past it the subscription gets a Reset and a
	// fresh snapshot instead. Snapshot rows do not count. Default 4,096.
	Buffer int
	// FetchBatch bounds the keys fetched by one query (NOTIFY mode, and
	// rows whose changed columns the WAL did not carry). Default 1,000.
	FetchBatch int
	// Snapshots bounds the snapshot queries that run at once (after a
	// Resync every shape takes one). Default 4.
	Snapshots int
	// Logger receives the Manager's log lines. Nil means slog.Default().
	Logger *slog.Logger
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Pool == nil {
		return c, fmt.Errorf("%w: Pool is nil", ErrInvalidConfig)
	}
	if c.Changes == nil {
		return c, fmt.Errorf("%w: Changes is nil", ErrInvalidConfig)
	}
	if c.MaxShapes < 0 || c.Grace < 0 || c.Buffer < 0 || c.FetchBatch < 0 || c.Snapshots < 0 {
		return c, fmt.Errorf("%w: negative MaxShapes, Grace, Buffer, FetchBatch or Snapshots", ErrInvalidConfig)
	}
	if c.Publication == "" {
		c.Publication = DefaultPublication
	}
	if c.MaxShapes == 0 {
		c.MaxShapes = DefaultMaxShapes
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	if c.Buffer == 0 {
		c.Buffer = DefaultBuffer
	}
	if c.FetchBatch == 0 {
		c.FetchBatch = DefaultFetchBatch
	}
	if c.Snapshots == 0 {
		c.Snapshots = DefaultSnapshots
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
