package replication

import (
	"errors"
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// ErrInvalidTable is returned by Subscribe and Unsubscribe for an empty
// schema or table name.
var ErrInvalidTable = errors.New("replication: invalid table")

// warnEvery bounds EnsureStarted's warnings.
const warnEvery = 10 * time.Second

// EnsureStarted makes a missed start visible: when the Source is not
// running, it arranges to log a warning unless Serve starts within
// Config.StartGrace. It logs at most once per 10 s, never blocks, and is
// cheap when the Source runs. Serve cancels the pending check.
func (s *Source) EnsureStarted() { s.startWatch.Ensure() }

// Subscribe calls EnsureStarted, then subscribes mb to the changes of
// schema.table (PubSub.SubscribeTable: the pair counts, so a schema
// containing '.' works). Subscribing while the Source is stopped works:
// changes flow once it runs.
func (s *Source) Subscribe(mb *pubsub.Mailbox, schema, table string) error {
	if schema == "" || table == "" {
		return fmt.Errorf("%w: %q.%q", ErrInvalidTable, schema, table)
	}
	s.EnsureStarted()
	return s.ps.SubscribeTable(mb, schema, table)
}

// Unsubscribe removes mb from the changes of schema.table.
func (s *Source) Unsubscribe(mb *pubsub.Mailbox, schema, table string) error {
	if schema == "" || table == "" {
		return fmt.Errorf("%w: %q.%q", ErrInvalidTable, schema, table)
	}
	return s.ps.UnsubscribeTable(mb, schema, table)
}

// SubscribeAll calls EnsureStarted, then subscribes mb to every table's
// changes (pubsub.TopicAll).
func (s *Source) SubscribeAll(mb *pubsub.Mailbox) error {
	s.EnsureStarted()
	return s.ps.Subscribe(mb, pubsub.TopicAll())
}

// UnsubscribeAll removes mb from pubsub.TopicAll.
func (s *Source) UnsubscribeAll(mb *pubsub.Mailbox) error {
	return s.ps.Unsubscribe(mb, pubsub.TopicAll())
}
