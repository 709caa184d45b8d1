package phoenixkitdb

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/thejerf/suture/v4"
)

// Version is this library's version, reported by (*DB).Version.
const Version = "0.1.0"

// Config configures the DB module. Zero values mean the documented
// defaults; only one of ConnString and Connect is needed.
type Config struct {
	// ConnString is the connection string of the Listener's dedicated
	// connection (direct, or through a session-mode pooler).
	ConnString string
	// Channel is the notification channel. Default "phoenix_kit_db_changes".
	Channel string
	// Logger receives the module's logs. Nil means slog.Default().
	Logger *slog.Logger

	// Connect, when set, replaces ConnString (see listener.Config.Connect).
	Connect func(ctx context.Context) (*pgx.Conn, error)
	// MinBackoff, MaxBackoff and ProbeInterval tune the Listener; zero
	// means the listener package's defaults (100 ms, 30 s, 5 s).
	// MinBackoff and MaxBackoff tune the WAL source too.
	MinBackoff, MaxBackoff, ProbeInterval time.Duration

	// Source chooses the change source: SourceNotify (the zero value, the
	// Listener and PhoenixKit's triggers) or SourceWAL (logical
	// replication; needs ConnString, wal_level=logical, a role with
	// REPLICATION and a publication: see EnsurePublication).
	Source SourceKind
	// Slot and Publication name the replication slot and the publication
	// in WAL mode. Defaults "phoenixkitdb" (see replication.Config).
	Slot, Publication string
	// WALTimeout and WALStatusInterval tune the WAL source: how long its
	// replication connection may stay silent before it is given up (a
	// frozen network path is found within about WALTimeout), and how often
	// it reports its confirmed position to the server. Zero means the
	// replication package's defaults (15 s and 10 s); see
	// replication.Config.Timeout and StatusInterval. Unused in NOTIFY mode.
	WALTimeout, WALStatusInterval time.Duration
	// WALMessages makes the WAL source deliver the logical decoding
	// messages transactions emit with pg_logical_emit_message(true,
	// prefix, content), in order with their changes, on
	// pubsub.TopicMessage(prefix): subscribe with
	// db.Replication().SubscribeMessages. Needs PostgreSQL 14 or later;
	// see replication.Config.Messages. Unused in NOTIFY mode.
	WALMessages bool
	// WALFailoverSlot makes the WAL source's slot a failover slot
	// (PostgreSQL 17 and later), which a physical standby synchronises so
	// that the source resumes after the standby's promotion with no
	// Resync. It needs server settings on the primary and the standby:
	// see replication.Config.FailoverSlot and docs/replication.md,
	// "Failover". Unused in NOTIFY mode.
	WALFailoverSlot bool
}

// DB is this library's Module: the PubSub and the Listener that feeds it,
// supervised together. Two DB values are fully independent.
type DB struct {
	ps   *pubsub.PubSub
	l    *listener.Listener  // nil in WAL mode
	src  *replication.Source // nil in NOTIFY mode
	cfg  Config              // for NewChangeSource (source_hook.go)
	hook changesHook         // see SetChanges (source_hook.go)
}

var _ Module = (*DB)(nil)

// New validates cfg and returns the DB module. It does not connect; the
// Listener does once its supervisor runs it. A configuration error (for
// example a connection string that does not parse) wraps
// listener.ErrInvalidConfig (replication.ErrInvalidConfig in WAL mode).
func New(cfg Config) (*DB, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return newWithPubSub(cfg, pubsub.New(logger), logger)
}

// newWithPubSub is New with the PubSub given.
func newWithPubSub(cfg Config, ps *pubsub.PubSub, logger *slog.Logger) (*DB, error) {
	if cfg.Source == SourceWAL {
		return newWAL(cfg, ps, logger)
	}
	if cfg.Source != SourceNotify {
		return nil, fmt.Errorf("%w: unknown source kind %d", listener.ErrInvalidConfig, cfg.Source)
	}
	l, err := listener.New(listener.Config{
		ConnString:    cfg.ConnString,
		Connect:       cfg.Connect,
		Channel:       cfg.Channel,
		PubSub:        ps,
		Logger:        logger,
		MinBackoff:    cfg.MinBackoff,
		MaxBackoff:    cfg.MaxBackoff,
		ProbeInterval: cfg.ProbeInterval,
	})
	if err != nil {
		return nil, err
	}
	return &DB{ps: ps, l: l, cfg: cfg}, nil
}

// Key returns "db", PhoenixKit's module key.
func (db *DB) Key() string { return "db" }

// Name returns "DB".
func (db *DB) Name() string { return "DB" }

// Version returns the library version.
func (db *DB) Version() string { return Version }

// Children returns the PubSub and the active change source (the Listener,
// or the replication Source in WAL mode), the same two services on every
// call.
func (db *DB) Children() []suture.Service {
	if db.src != nil {
		return []suture.Service{db.ps, db.src}
	}
	return []suture.Service{db.ps, db.l}
}

// PubSub returns the module's PubSub.
func (db *DB) PubSub() *pubsub.PubSub { return db.ps }

// Listener returns the module's Listener; nil in WAL mode.
func (db *DB) Listener() *listener.Listener { return db.l }

// Ready reports whether changes flow right now (see WaitReady).
func (db *DB) Ready() bool { return db.Changes().Ready() }

// WaitReady blocks until changes flow: the Listener has established
// LISTEN and a notification sent by another session came back through it.
// It returns ctx's error (wrapped, with the Listener's last connection
// error quoted) when ctx ends first. Call it after the supervisor runs the
// module; see [listener.Listener.WaitReady]. In WAL mode it waits for
// the replication Source instead (see [replication.Source.WaitReady]).
func (db *DB) WaitReady(ctx context.Context) error { return db.Changes().WaitReady(ctx) }
