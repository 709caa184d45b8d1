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

// EnsureStarted makes a missed start visible: when the Listener is not
// running, it arranges to log a warning (subscribers would wait for
// changes forever) unless Serve starts within Config.StartGrace. At a
// normal start-up, where subscriptions come before the supervisor starts
// the service, nothing is logged. It logs at most once per 10 s however
// often it is called, never blocks, and is cheap when the Listener runs.
// At most one pending check (a timer) exists at a time; Serve cancels it.
func (l *Listener) EnsureStarted() { l.started.Ensure() }

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
