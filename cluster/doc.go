// Package cluster fans one database's changes out to many app instances
// through a NATS JetStream stream, so that exactly one instance reads
// PostgreSQL (one LISTEN backend, or one walsender) however many run.
//
// It lives in a module of its own (github.com/phoenixkit/phoenixkitdb/cluster):
// users who do not cluster download no NATS code.
//
// # Use
//
// Build the DB module as usual, wrap it, and register the wrapper in the
// Registry instead of the DB (its Key is "db" too):
//
//	db, _ := phoenixkitdb.New(phoenixkitdb.Config{ConnString: url})
//	cl, _ := cluster.New(cluster.Config{URL: natsURL}, db)
//	_ = reg.Register(cl)
//	_ = reg.Enable("db")
//
// Code that subscribes through db.Changes() does not change: New makes
// Changes return the module's [Follower], whose Running, Ready and
// WaitReady describe the stream path that feeds the instance's mailboxes.
// db.Listener() and db.Replication() return the DB's own sources, which
// never run in cluster mode.
//
// # How it works
//
// The module's Children are the DB's PubSub, an elector and a Follower.
// The elector campaigns for a lease (a key in the JetStream key-value
// bucket Stream+"_LEADER", swapped by revision); the leader runs a change
// source built from the DB's Config, publishing into a private PubSub,
// and relays every event it produces to the stream: a transaction's
// consecutive changes to one table in one message (a batch, up to 1,024
// changes and 64 KiB; Config.SingleChangeMessages makes it one message
// per change) on <Subject>.<schema>.<table> (tokens escaped: letters,
// digits, '-' and '_' stay, any other byte is '~' and two hex digits),
// Resyncs on <Subject>._resync, so they stay in order with the changes.
// The relay batches only what it already holds: a lone change is not
// delayed. The Follower on every instance (the leader's too) reads the
// stream with an ordered consumer into the DB's PubSub.
//
// # Guarantees
//
// Takeover: within LeaseTTL (1 s) plus a refresh interval after a leader
// crashes or loses NATS, at once after it stops cleanly (it relays what
// its source handed over while its lease surely holds, 3/5 of LeaseTTL
// from its last refresh at most, then releases the lease). A lost leader
// never publishes after that point: its NATS client keeps no reconnect
// buffer, so nothing it tried to publish while cut off reaches the stream
// after the next leader's changes. A leader process stalled past its lease
// cannot either: each term's number is the lease revision that began it,
// and the relay publishes the first message of every run expecting the
// stream's last sequence as its term knows it, so JetStream refuses a
// stale leader's publish once a newer term stored anything.
//
// NOTIFY source: the new leader's LISTEN sends one Resync (reason
// "listen") through the stream, in order; followers get it and nothing
// is lost silently.
//
// WAL source: message ids are slot, commit LSN and the Seq of the
// message's last change, so a new leader replaying from the slot's
// confirmed position publishes nothing twice (within the stream's
// Duplicates window) when it cuts a transaction into the same messages,
// and loses nothing when it cuts it otherwise: followers then skip the
// changes they handed over (by commit LSN and Seq). The leader's source confirms a transaction to the slot only
// once JetStream acknowledged every one of its events (through the
// source's replication.Config.ConfirmLimit), so a leader that crashes or
// loses NATS with changes still in its relay leaves them in the slot, and
// the next leader publishes them: nothing lost, nothing twice.
//
// Resume: a follower that loses NATS resumes after the last stream
// sequence it handed over, without Resync; when messages it had not read
// aged out (MaxAge) it sends a Resync (ReasonGap) as soon as it sees
// it: when it reconnects, at its look at the stream every 5 s, or with
// the next message. A stream deleted
// and created again (its creation time changed, or its sequences went
// backwards) sends a Resync (ReasonStreamReset), and the follower reads
// the new stream from its start; the leader creates a missing stream
// again with the configured settings.
//
// Backpressure: a follower hands each message to the PubSub, which never
// blocks on a mailbox; a slow mailbox overflows into a Resync as locally.
//
// # Message body
//
// Each message's body is binary, format 3 (see encoder.encodeBatch and
// docs/cluster.md, which describes it byte by byte): a format byte, the
// event's kind, the transaction's fields (table, commit LSN, Xid, commit
// time) once, then each change's fields as length-prefixed strings and
// varints. A change carries its rows whole: the column list (names, type
// OIDs, written once per message) and each column's state and text.
// Bodies of formats 2 and 1 and the JSON of earlier releases are still
// read. Every instance of a database must run a release that reads what
// its leader writes: upgrade them together.
//
// # Values
//
// A follower's Event.New and Event.Old are the same [pubsub.Row] the
// leader's source built: the same column names, type OIDs, states and
// texts, so typed values decode alike on every instance. CommitTime
// arrives in UTC. Rows of bodies written by earlier releases carry the
// JSON values' text with unknown types (OID 0).
//
// Logical messages (pubsub.Message) travel on <Subject>._message.<prefix>.
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package cluster
