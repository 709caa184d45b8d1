package phoenixkitdb

import (
	"context"
	"fmt"

	"github.com/phoenixkit/phoenixkitdb/internal/changesource"
	"github.com/phoenixkit/phoenixkitdb/internal/configerr"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/thejerf/suture/v4"
)

// Version is this library's version, reported by (*DB).Version.
const Version = "0.1.0"

// DB is this library's change module: the PubSub and the change source
// that feeds it (the Listener, or the replication Source in WAL mode),
// supervised together. Two DB values are fully independent.
//
// The name is PhoenixKit's: DB is the Go counterpart of PhoenixKit's DB
// module (key "db"), which owns no connection pool either. The cluster
// module is a drop-in replacement for it whose Key is also "db", so that
// a host's lookups of "db" in its Registry keep working in both set-ups.
type DB struct {
	// handle lets the cluster module reach this DB's source plumbing
	// (internal/changesource.Of) without an exported method.
	handle

	pl  *changesource.Plumbing
	ps  *pubsub.PubSub
	src changesource.Service // the Listener or the replication Source
}

// handle is embedded so that its unexported method, which
// changesource.Of looks for, is promoted to *DB.
type handle = changesource.Handle

var _ Module = (*DB)(nil)

// New validates cfg and returns the DB module. It does not connect; the
// change source does once its supervisor runs it. A configuration error
// (for example a connection string that does not parse) wraps
// pgsql.ErrInvalidConfig, and listener.ErrInvalidConfig or
// replication.ErrInvalidConfig for the source that reported it.
func New(cfg Config) (*DB, error) {
	if cfg.Source != SourceNotify && cfg.Source != SourceWAL {
		return nil, fmt.Errorf("%w: unknown source kind %d", errInvalidConfig, cfg.Source)
	}
	pl := changesource.New(cfg.Source == SourceWAL, cfg.listenerConfig(), cfg.walConfig())
	ps := pubsub.New(cfg.logger())
	src, err := pl.Build(ps, changesource.Options{})
	if err != nil {
		return nil, err
	}
	return &DB{handle: pl.Handle(), pl: pl, ps: ps, src: src}, nil
}

// errInvalidConfig is the root's configuration error.
var errInvalidConfig = configerr.New("phoenixkitdb")

// Key returns "db", PhoenixKit's module key (see DB on why the cluster
// module returns it too).
func (db *DB) Key() string { return "db" }

// Name returns "DB".
func (db *DB) Name() string { return "DB" }

// Version returns the library version.
func (db *DB) Version() string { return Version }

// Children returns the PubSub and the change source (the Listener, or
// the replication Source in WAL mode), the same two services on every
// call.
func (db *DB) Children() []suture.Service { return []suture.Service{db.ps, db.src} }

// PubSub returns the module's PubSub.
func (db *DB) PubSub() *pubsub.PubSub { return db.ps }

// Listener returns the module's Listener; nil in WAL mode.
func (db *DB) Listener() *listener.Listener {
	l, _ := db.src.(*listener.Listener)
	return l
}

// Ready reports whether changes flow right now (see WaitReady).
func (db *DB) Ready() bool { return db.Changes().Ready() }

// WaitReady blocks until changes flow: the Listener has established
// LISTEN and a notification sent by another session came back through it.
// It returns ctx's error (wrapped, with the Listener's last connection
// error quoted) when ctx ends first. Call it after the supervisor runs the
// module; see [listener.Listener.WaitReady]. In WAL mode it waits for
// the replication Source instead (see replication.Source.WaitReady).
func (db *DB) WaitReady(ctx context.Context) error { return db.Changes().WaitReady(ctx) }
