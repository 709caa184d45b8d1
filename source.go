package phoenixkitdb

import (
	"context"
	"strconv"

	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// SourceKind chooses where the DB module's changes come from.
type SourceKind uint8

const (
	// SourceNotify, the zero value, is the Listener: PhoenixKit's row
	// triggers send NOTIFY, at most once (a Resync after every reconnect).
	SourceNotify SourceKind = iota
	// SourceWAL is logical replication from a slot: every committed change
	// of a published table in commit order, with the row data; exactly
	// once within a process across reconnects and server restarts, at
	// least once across process restarts (each change carries its
	// (LSN, Seq) to de-duplicate); no trigger needed. See
	// docs/replication.md.
	SourceWAL
)

// String returns "notify", "wal" or "SourceKind(N)".
func (k SourceKind) String() string {
	switch k {
	case SourceNotify:
		return "notify"
	case SourceWAL:
		return "wal"
	default:
		return "SourceKind(" + strconv.Itoa(int(k)) + ")"
	}
}

// ChangeSource is what host code needs from the active change source,
// whichever runs: *listener.Listener and *replication.Source satisfy it.
// Subscriptions go to the module's PubSub with the same topics in both
// modes, so they survive a source restart.
type ChangeSource interface {
	// Subscribe subscribes mb to the changes of schema.table.
	Subscribe(mb *pubsub.Mailbox, schema, table string) error
	// Unsubscribe removes mb from the changes of schema.table.
	Unsubscribe(mb *pubsub.Mailbox, schema, table string) error
	// SubscribeAll subscribes mb to every table's changes.
	SubscribeAll(mb *pubsub.Mailbox) error
	// UnsubscribeAll removes mb from every table's changes.
	UnsubscribeAll(mb *pubsub.Mailbox) error
	// Running reports whether the source's Serve runs.
	Running() bool
	// Connected reports whether the source holds a working connection.
	Connected() bool
	// EnsureStarted warns, after a grace period, when the source is not
	// running (subscribers would wait forever).
	EnsureStarted()
	// Ready reports whether changes flow right now.
	Ready() bool
	// WaitReady blocks until changes flow or ctx ends.
	WaitReady(ctx context.Context) error
}

var (
	_ ChangeSource = (*listener.Listener)(nil)
	_ ChangeSource = (*replication.Source)(nil)
)

// Changes returns the active change source: the Listener, or the
// replication Source in WAL mode, or, under the cluster module, its
// follower, which feeds the PubSub from the stream. Never nil.
func (db *DB) Changes() ChangeSource {
	if cs := db.pl.Override(); cs != nil {
		return cs
	}
	return db.src
}

// Replication returns the module's replication Source; nil in NOTIFY mode.
func (db *DB) Replication() *replication.Source {
	src, _ := db.src.(*replication.Source)
	return src
}
