// Package replication is the WAL change source: a supervised Source that
// streams a publication's changes from a logical replication slot
// (pgoutput, protocol version 1) and publishes them to a pubsub.PubSub
// with the Listener's topics, so mailboxes do not care which source runs.
//
// # Guarantees
//
// Every committed change of a published table reaches every subscribed
// mailbox in commit order; within a process exactly once, across broken
// connections, a terminated walsender and server restarts: the slot keeps
// the position while the Source is away, the Source confirms a
// transaction only after all of it was handed to the PubSub, and it skips
// what it handed over before (a transaction replayed whole after a
// restart, or the first part of one a broken connection cut off). Across
// process restarts delivery is at least once: a new process resumes from
// the slot's last confirmed position and may receive again what the
// previous one handed over after it. Every event carries LSN (its
// transaction's commit position) and Seq (its position in the
// transaction, from 1); (LSN, Seq) is unique, increasing, and the same
// when a change comes again: the key to de-duplicate by. The only Resync
// events are a mailbox's own overflow, the first connection of the
// process (pubsub.ReasonStart), a lost slot (pubsub.ReasonSlot: dropped,
// invalidated by max_slot_wal_keep_size, or missing on a promoted standby
// without a failover slot; the Source recreates it and logs an ERROR), a
// server whose history is not the one streamed from
// (pubsub.ReasonServer: another cluster behind the address, a
// point-in-time recovery or restore, a standby promoted before it
// replayed what was delivered; the Source compares IDENTIFY_SYSTEM's
// system identifier and timeline on every connection, starts afresh and
// logs an ERROR), and, with Config.Temporary, every reconnect
// (pubsub.ReasonReconnect).
//
// # Failover
//
// From PostgreSQL 17, Config.FailoverSlot makes the slot a failover slot,
// which a physical standby keeps a synchronised copy of: after the
// standby's promotion the Source resumes there with no Resync, and every
// change committed and replicated before the promotion is delivered
// exactly once. It needs synchronized_standby_slots on the primary and
// sync_replication_slots, hot_standby_feedback, primary_slot_name and a
// dbname in primary_conninfo on the standby (docs/replication.md,
// "Failover"). Before 17, or without it, the promoted standby has no
// slot: an ERROR naming the server's timeline, and a Resync
// (pubsub.ReasonSlot).
//
// # Events
//
// Events carry the Listener's fields (Schema, Table, Operation, RowID)
// plus LSN, Seq, CommitTime, New (the row after INSERT and UPDATE) and Old
// (the replica identity columns before UPDATE and DELETE; every column
// with REPLICA IDENTITY FULL), as *pubsub.Row: each column's state and its
// text exactly as the server printed it, and its type with the built-in
// type its values decode as (ColumnType.DecodeOID: a domain's base, text
// for an enum, arrays of those resolved likewise). An unchanged TOASTed
// value has the state pubsub.UnchangedTOAST and no text. TRUNCATE arrives
// as one event per table with Operation "TRUNCATE" and the statement's
// Cascade and RestartIdentity options.
//
// RowID is the replica identity key: the primary key or the REPLICA
// IDENTITY USING INDEX columns. A key of one column is its text; a key of
// several is a JSON array of their texts in table column order (`"` and
// `\` escaped with a backslash, control characters as \n, \r, \t, \b, \f
// or \u00XX, every other byte as it is), so distinct keys give distinct
// ids. Tables without a key in the replication stream (REPLICA IDENTITY
// FULL or NOTHING, no primary key) follow PhoenixKit's trigger: the
// "uuid" column if the table has one, else "id", else empty.
//
// # Session settings
//
// pgoutput prints values with the walsender session's settings, which
// role and database defaults can change. The replication connection pins
// DateStyle 'ISO, YMD', IntervalStyle postgres, extra_float_digits 3,
// bytea_output hex, client_encoding UTF8 and TimeZone UTC in its startup
// packet, over any default and the connection string's own values.
//
// # Logical messages
//
// With Config.Messages, what a transaction emits with
// pg_logical_emit_message(true, prefix, content) arrives in order with its
// changes as an event of Kind pubsub.Message on pubsub.TopicMessage(prefix)
// (Source.SubscribeMessages), never on TopicAll or a table topic.
// Non-transactional messages are not delivered.
//
// # Memory
//
// Events are handed to the PubSub in chunks of 512 as they are decoded;
// nothing buffers a whole transaction. A mailbox that cannot keep up
// overflows and gets a Resync, as with the Listener.
//
// # Operation
//
// One reader per slot: a second Source on the same slot waits (Connected
// false, one INFO line naming the holder's PID) and retries, backing off
// from 200 ms to 2 s, so it takes over within about 2 s of the first one
// stopping. Between
// transactions the Source confirms the server's WAL position from
// keepalives, so writes to tables outside the publication do not make the
// slot retain WAL; Stats.LagBytes shows what it retains, and a WARN past
// Config.LagWarnBytes. A connection silent for Config.Timeout (a keepalive
// is requested after a third of it) is replaced unless a look at its
// walsender on a side connection finds it at work, replaying a large
// transaction (Stats.BusyWaits), or cannot finish with the server
// answering (see Config.Timeout). Slot creation, which waits for open
// transactions, has its own bound (Config.SlotCreateTimeout) and WARNs
// every few seconds naming the backends it waits for.
//
// A connection's first status update goes out about a second after its
// first hand-off, then every Config.StatusInterval, when the server asks,
// and on an idle keepalive that would confirm more (at most once a
// second): a process that dies soon after a restart replays about a
// second of changes.
//
// # Acknowledged delivery
//
// Mailboxes made with pubsub.WithAck are never overflowed: while one is
// full the Source hands over nothing and reads nothing (the slot keeps
// the WAL; Stats.WaitingForAck; a WARN names the mailboxes after a
// second, at most every 10 s), and it confirms the slot only up to the
// end of the last transaction every ack mailbox acknowledged with
// pubsub.Mailbox.Ack. A process killed with unacknowledged events
// receives them again in its next run, with the same (LSN, Seq). Plain
// mailboxes keep their behaviour.
//
// Config.ConfirmLimit lets a consumer that stores the events elsewhere
// hold the confirmed position back to what it stored, so that the slot
// keeps the rest for the next reader.
//
// Setup errors (wal_level not logical, a role without REPLICATION, a
// missing publication) are logged at ERROR with a hint and retried with
// backoff, since they can be fixed while the Source runs.
//
// # Publications and slots
//
// [EnsurePublication] (and [EnsurePublicationWith], with
// [PublishInsertsOnly], [SetReplicaIdentityFull] or
// [WithPublicationLockTimeout]) creates the publication and adds tables to
// it, refusing a table without a replica identity whose UPDATE and DELETE
// publishing would break ([ErrNoReplicaIdentity]);
// [RemoveFromPublication] and [ListPublishedTables] go with it. They take
// a pgsql.Querier, run in a transaction of their own under the same
// advisory lock as package trigger's installers, and bound their lock
// waits. [DropSlot] drops the slot a Source leaves behind (a slot retains
// WAL while nothing reads it).
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package replication
