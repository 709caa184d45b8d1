package listener

import (
	"errors"
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// ErrInvalidTable is returned by Subscribe and Unsubscribe for an empty
// schema or table name.
var ErrInvalidTable = errors.New("listener: invalid table")

// warnEvery bounds EnsureStarted's warnings.
const warnEvery = 10 * time.Second

// EnsureStarted logs a warning when the Listener is not running, so that
// a missed start is visible: subscribers would wait for changes forever.
// It logs at most once per 10 s however often it is called, never blocks
// and is cheap when the Listener runs.
func (l *Listener) EnsureStarted() {
	if l.running.Load() {
		return
	}
	now := l.cfg.Now().UnixNano()
	last := l.lastWarn.Load()
	if last != 0 && now-last < int64(warnEvery) {
		return
	}
	if !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("listener: not running; live updates will not work; enable the module or add its Children to the supervisor",
		"channel", l.cfg.Channel)
}

// Subscribe calls EnsureStarted, then subscribes mb to the changes of
// schema.table (pubsub.TopicTable). Subscribing while the Listener is
// stopped works: changes flow once it runs.
func (l *Listener) Subscribe(mb *pubsub.Mailbox, schema, table string) error {
	if schema == "" || table == "" {
		return fmt.Errorf("%w: %q.%q", ErrInvalidTable, schema, table)
	}
	l.EnsureStarted()
	return l.ps.Subscribe(mb, pubsub.TopicTable(schema, table))
}

// Unsubscribe removes mb from the changes of schema.table.
func (l *Listener) Unsubscribe(mb *pubsub.Mailbox, schema, table string) error {
	if schema == "" || table == "" {
		return fmt.Errorf("%w: %q.%q", ErrInvalidTable, schema, table)
	}
	return l.ps.Unsubscribe(mb, pubsub.TopicTable(schema, table))
}

// SubscribeAll calls EnsureStarted, then subscribes mb to every table's
// changes (pubsub.TopicAll).
func (l *Listener) SubscribeAll(mb *pubsub.Mailbox) error {
	l.EnsureStarted()
	return l.ps.Subscribe(mb, pubsub.TopicAll())
}

// UnsubscribeAll removes mb from pubsub.TopicAll.
func (l *Listener) UnsubscribeAll(mb *pubsub.Mailbox) error {
	return l.ps.Unsubscribe(mb, pubsub.TopicAll())
}
