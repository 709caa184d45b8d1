package phoenixkitdb

import (
	"log/slog"

	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// Config configures the DB module. Zero values mean the documented
// defaults. Each change source has a section of its own, its package's
// Config, where every one of its settings is documented once; the fields
// before the sections are shared by both.
type Config struct {
	// ConnString is the connection string of the active change source's
	// own connection (direct, or through a session-mode pooler in NOTIFY
	// mode; direct in WAL mode). It is the default of the chosen
	// section's ConnString, which wins when set.
	ConnString string
	// Logger receives the module's logs, and is the default of the
	// chosen section's Logger. Nil means slog.Default().
	Logger *slog.Logger

	// Source chooses the change source: SourceNotify (the zero value, the
	// Listener and PhoenixKit's triggers) or SourceWAL (logical
	// replication; needs a direct connection, wal_level=logical, a role
	// with REPLICATION and a publication: see
	// replication.EnsurePublication).
	Source SourceKind

	// Listener configures the Listener in NOTIFY mode (channel, backoff,
	// probe interval, Connect, ...); unused in WAL mode. Its PubSub is
	// ignored: New sets the module's own.
	Listener listener.Config
	// WAL configures the replication Source in WAL mode (slot,
	// publication, timeouts, batching, messages, failover slot, ...);
	// unused in NOTIFY mode. Its PubSub is ignored: New sets the module's
	// own.
	WAL replication.Config
}

// logger returns c.Logger, or slog.Default() when it is nil.
func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

// listenerConfig and walConfig are the one translation from c to each
// source's configuration: the section, with the shared fields filling
// what it leaves empty. The PubSub is set where the source is built.
func (c Config) listenerConfig() listener.Config {
	lc := c.Listener
	if lc.ConnString == "" && lc.Connect == nil {
		lc.ConnString = c.ConnString
	}
	if lc.Logger == nil {
		lc.Logger = c.logger()
	}
	lc.PubSub = nil
	return lc
}

func (c Config) walConfig() replication.Config {
	rc := c.WAL
	if rc.ConnString == "" {
		rc.ConnString = c.ConnString
	}
	if rc.Logger == nil {
		rc.Logger = c.logger()
	}
	rc.PubSub = nil
	return rc
}
