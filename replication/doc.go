// Package replication is the WAL change source: a supervised Source that
// streams a publication's changes from a logical replication slot
// (pgoutput, protocol version 1) and publishes them to a pubsub.PubSub
// with the Listener's topics, so mailboxes do not care which source runs.
//
// # Guarantees
//
// Every committed change of a published table reaches every subscribed
// mailbox once, in commit order, across broken connections, a terminated
// walsender and server restarts: the slot keeps the position while the
// Source is away, the Source confirms a transaction only after all of it
// was handed to the PubSub, and it skips what it handed over before (a
// transaction replayed whole after a restart, or the first part of one a
// broken connection cut off). The only Resync events are a mailbox's own
// overflow, the first connection of the process (pubsub.ReasonStart), a
// lost slot (pubsub.ReasonSlot: dropped, or invalidated by
// max_slot_wal_keep_size; the Source recreates it and logs an ERROR), and,
// with Config.Temporary, every reconnect (pubsub.ReasonReconnect).
//
// # Events
//
// Events carry the Listener's fields (Schema, Table, Operation, RowID)
// plus LSN (the commit position), CommitTime, New (the row after INSERT
// and UPDATE) and Old (the replica identity columns before UPDATE and
// DELETE; every column with REPLICA IDENTITY FULL). Values are what pgx
// decodes into any, except a uuid, which is its canonical string. An
// unchanged TOASTed value is absent from New. RowID follows the trigger's
// rule: the "uuid" column if the table has one, else "id", else empty; a
// DELETE carries only the replica identity, so its RowID is empty when the
// uuid column is not part of it (use REPLICA IDENTITY FULL then). TRUNCATE
// arrives as one event per table with Operation "TRUNCATE".
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
// false, one INFO line naming the holder's PID) and retries every 200 ms,
// so it takes over within moments of the first one stopping. Between
// transactions the Source confirms the server's WAL position from
// keepalives, so writes to tables outside the publication do not make the
// slot retain WAL; Stats.LagBytes shows what it retains, and a WARN past
// Config.LagWarnBytes. A connection silent for Config.Timeout (a keepalive
// is requested after a third of it) is replaced.
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
package replication
