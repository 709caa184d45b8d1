// Package shape keeps live queries ("shapes") equal to the database: a
// subscriber names a table, an optional WHERE clause with parameters and
// a column list, and receives the matching rows, then exactly the changes
// that keep its copy equal to `SELECT columns FROM table WHERE clause`.
//
//	m, _ := shape.New(shape.Config{Pool: pool, Changes: db.PubSub()})
//	// run m under the host's supervisor (it is a suture.Service), then:
//	sub, err := m.Subscribe(ctx, shape.Definition{Table: "orders",
//		Where: "status = $1", Params: []string{"open"}})
//	for msg := range sub.C() { ... } // Insert..., UpToDate, then changes
//
// # Definitions
//
// The WHERE clause is parsed by the package's own parser and rendered
// again from its syntax tree, parameters bound: the caller's text never
// reaches SQL, so a definition from an HTTP client cannot inject SQL.
// A construct the parser does not support, an unknown column or a
// parameter that does not parse as its column's type is refused at
// Subscribe with an error wrapping [ErrDefinition] that names the
// construct and its byte position. In WAL mode a table outside the
// publication is refused with [ErrNotPublished].
//
// Rows are identified by a key: in WAL mode the replica identity key (the
// primary key, or the REPLICA IDENTITY USING INDEX columns), as the WAL
// source forms Event.RowID; in NOTIFY mode the "uuid" column, else "id",
// as PhoenixKit's trigger sends it. The key columns are always part of
// the shape.
//
// # Consistency (WAL mode)
//
// A new shape subscribes to its table's changes first, then reads its
// rows in a REPEATABLE READ READ ONLY transaction that takes the table's
// ACCESS SHARE lock (TRUNCATE is not MVCC-safe: it waits for one in
// progress) and records pg_current_snapshot() and
// pg_current_wal_insert_lsn(). A change of a
// transaction that snapshot saw is skipped; every later one is applied.
// So the shape equals the SELECT at every commit it has applied, with no
// gap and no duplicate; a subscriber learns where each commit is from
// the [Commit] message after the transaction's messages to it. An UPDATE that makes a row match arrives as
// Insert (move-in), one that makes it stop matching as Delete (move-out);
// the shape keeps the set of its keys (not its rows), which is what
// move-out needs with the default replica identity. A change whose WAL
// row lacks a column the predicate reads (an unchanged TOASTed value) is
// evaluated on the row fetched by key, which may be newer than the
// change; the changes after it bring the shape back to the commit order.
//
// One assumption: a transaction the WAL source delivered has ended on
// the server (left its process array) before a snapshot taken after the
// delivery; that holds unless the walsender is a synchronous standby
// (synchronous_standby_names naming it), where a commit waits for it.
//
// A crash takes back nothing a shape holds. With synchronous_commit off a
// commit is visible before its WAL is flushed, and a crash erases it
// (and gives its xid again). So snapshot rows, and rows fetched by key,
// are handed out only once the server has flushed its WAL up to the
// insert position read after them; when it has not yet, the Manager
// flushes it with a transaction of its own that emits an empty logical
// decoding message with the prefix "phoenixkitdb.flush" (the WAL source
// drops those; other WAL readers see them). Rows flushed already when the
// snapshot is taken reach [Manager.SubscribeBatch] subscribers while the
// query still reads them.
//
// Sources that lose changes send a pubsub Resync: every shape then takes
// a fresh snapshot and its subscribers receive Reset, the new rows and
// UpToDate. So does every shape when Serve starts again after it ended.
//
// # NOTIFY mode
//
// With Config.Notify the changes carry ids only. The router fetches the
// changed rows by key, one query per table per batch, and derives insert,
// update, delete, move-in and move-out from the shape's key set and the
// fetched row. The guarantee is weaker: a fetch reads the row as it is
// when the router gets to it, so a subscriber may see a later state of a
// row before the notifications in between arrive (and then an Update that
// changes nothing), and a late subscriber may get an Insert for a row its
// snapshot already had or a Delete for one it had not (treat Insert as
// upsert, Delete of an unknown key as a no-op). Once changes stop and the
// notifications are processed, every shape equals the SELECT. A Resync
// (the Listener reconnected, a mailbox overflowed) re-snapshots every
// shape with Reset.
//
// # Sharing, grace and limits
//
// Subscribers of the same normalised definition share one shape: one
// routing entry and one key set. A subscriber that joins a live shape (or
// one that fell more than Config.Buffer messages behind, which gets Reset
// first) reads the current rows with a snapshot of its own and then the
// shape's changes that snapshot did not see. A shape without subscribers
// is kept for Config.Grace, then dropped; Config.MaxShapes bounds the
// shapes held ([ErrTooManyShapes] past it, after dropping the oldest idle
// shape if there is one).
//
// # Routing
//
// Each table with shapes has a routing index (package
// shape/internal/where): an inserted row reaches only the shapes whose
// predicate it may match. Updates and deletes also look the old key up
// in the key set of each shape of the table, which is what finds a
// move-out when the old row carries only its key.
//
// # Concurrency
//
// Serve's goroutine owns every shape; Subscribe and Close talk to it.
// All exported methods are safe for concurrent use. A slow subscriber
// never holds up the router or the other subscribers.
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package shape
