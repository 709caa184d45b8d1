// Package pubsub is phoenixkitdb's in-process publish/subscribe: an
// EventBus-backed router that fans table changes out to mailboxes.
//
// # Topics
//
// PhoenixKit's topic names are kept: [TopicTable] ("phoenix_kit_db:schema.table")
// carries one table's changes and [TopicAll] ("phoenix_kit_db:all") carries
// every table's. A mailbox may hold any number of topics; it receives one
// copy of a change per topic it holds.
//
// # Mailboxes
//
// A [Mailbox] is a subscriber's identity and inbox, the Go counterpart of
// an Elixir process mailbox: a channel with a small buffer and, behind it,
// a queue that grows by chunks while the consumer is behind and shrinks
// back as it catches up, so an idle mailbox costs little memory. While
// that queue holds events, a goroutine of the mailbox hands them to the
// channel in order; it ends when the queue is empty or the mailbox is
// closed. Close a mailbox you stop reading: a goroutine
// waiting for room in its channel would otherwise wait for ever.
// Publishing never waits for a subscriber. When a mailbox is full (its
// capacity counts the queue), new events are dropped, counted by
// [Mailbox.Dropped], and replaced by one [Resync] event that the consumer
// reads in order: after every event it did receive and before any later
// one.
//
// A mailbox made with [WithAck] is the exception for publishers that can
// wait (the WAL change source): they hold back instead of dropping until
// its consumer acknowledges what it processed ([Mailbox.Ack]), and they
// confirm their source's position only up to what every such mailbox
// acknowledged, so a process that dies receives the rest again.
//
// # Resync
//
// A Resync means "changes may have been missed: reload what you show".
// Besides overflows, the Listener sends one to every subscribed mailbox
// each time it (re-)establishes LISTEN, because PostgreSQL drops
// notifications sent while nobody listens. The robust consumer pattern:
//
//	subscribe (the mailbox), then load the state, then loop:
//	    TableChanged -> apply the change (or reload that row)
//	    Resync       -> reload the state
//
// # Concurrency
//
// Every method of [PubSub] and [Mailbox] is safe for concurrent use, and
// none can be made to block or deadlock by a subscriber: a mailbox may be
// read, unsubscribed or closed from any goroutine, including its reader.
// Deliveries are serialised, so all mailboxes observe one publication order.
//
// # EventBus
//
// github.com/asaskevich/EventBus is the topic router of record: every
// topic with a subscriber has exactly one handler registered with the bus,
// and the handler a topic routes to is what EventBus answers when the
// PubSub publishes a route query on that topic. The PubSub asks once per
// change of the topic set (a topic's first subscriber arrives or its last
// one leaves) and keeps the answers in a routing table, which every
// publication then reads under the same lock. EventBus is not called per
// publication: its Publish copies the handler slice and calls the handler
// through reflect, which costs more than a whole fan-out to one mailbox
// without it. So EventBus decides which topics exist and where they route;
// the table only remembers its answer, and is refreshed whenever the
// answer can change.
//
// Its traps are avoided by construction: exactly one handler per topic
// (its Unsubscribe matches handlers by code pointer), one typed argument
// (it panics on a type mismatch), handlers that never call back into the
// bus and never block (it holds its lock while they run).
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package pubsub
