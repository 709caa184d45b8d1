// Package listener is the live-update engine: a suture service that holds
// one dedicated PostgreSQL connection, LISTENs on PhoenixKit's channel
// ("phoenix_kit_db_changes"), parses each notification and publishes it to
// a [pubsub.PubSub] on the table's topic and on the all-tables topic.
//
// # Lifecycle
//
// [New] validates the configuration and fails early; it does not connect.
// [Listener.Serve] (called by a suture supervisor) connects, runs LISTEN,
// sends every subscribed mailbox one Resync, then reads notifications until
// its context ends or the connection fails. On failure it reconnects with
// exponential backoff and jitter between MinBackoff and MaxBackoff; the
// first attempt after a connection that had been healthy is immediate.
// The connection string is parsed again at every attempt, so certificate
// files it names are read afresh (a rotated CA bundle needs no restart).
//
// # Readiness
//
// [Listener.WaitReady] returns once changes flow: LISTEN is established
// and a notification sent by another session came back through it.
// [Listener.Stats] reports the [State] (stopped, connecting, listening,
// ready) and the last connection error. Failures that only a person can
// fix (a wrong password, a database that does not exist) are logged at
// ERROR after three attempts, and retried.
//
// # Nothing lost silently
//
// PostgreSQL drops notifications sent while a session is not listening.
// Each time LISTEN is (re-)established, including the first time, every
// mailbox subscribed to the PubSub receives one Resync event ("changes may
// have been missed: reload"), in order after whatever the previous
// connection delivered. A consumer that loads its state after subscribing
// and reloads on every Resync never shows stale data for longer than a
// reconnect.
//
// # Dead connections
//
// A connection that stops answering without closing (a frozen network
// path, a dead peer) is found by probing: after half a ProbeInterval
// without traffic the Listener sends a notification to itself on a
// private channel and must receive it within ProbeInterval. The probe
// checks the whole delivery path, not just the socket, and never reaches
// subscribers. Any traffic read proves the connection alive, so a probe
// queued behind a big transaction's notifications never kills a busy
// connection, and time spent waiting on slow subscribers does not count.
// TCP keepalive is enabled as a second line of defence.
//
// # Throughput
//
// One goroutine reads the socket and parses, without an allocation per
// notification; another publishes. Events that arrive while a
// publication runs are published together as one batch, so a burst costs
// one EventBus publication per topic per batch rather than per event.
// Batches are published in bounded chunks, so a Subscribe, Unsubscribe or
// Close waits for a few milliseconds at most. With a single mailbox
// subscribed, the reading goroutine publishes itself whenever the other
// one is idle: the fan-out then costs less than the hand-off.
//
// # Poolers
//
// LISTEN needs a session of its own: give the Listener a direct connection
// or one through a session-mode pooler. Transaction pooling (PgBouncer's
// pool_mode=transaction) breaks LISTEN: other sessions' notifications are
// dropped while the Listener's own still come back. A probe sent from a
// separate, short connection right after LISTEN and on a quiet connection
// catches that: the Listener logs an ERROR naming the likely cause,
// reconnects with backoff, and subscribers get a Resync each time. The
// session also sets idle_session_timeout, statement_timeout and
// idle_in_transaction_session_timeout to 0, so server-side timeouts meant
// for ordinary clients never end it.
//
// # Logging
//
// Log lines never contain the connection password: errors are logged as
// they are, and none quotes the connection string. Invalid payloads are
// counted in Stats.Invalid and logged at most once per second.
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package listener
