// Package shapehttp serves Electric's HTTP shape API (v1), the protocol
// of the official TypeScript client @electric-sql/client (1.5), from an
// [http.Handler] backed by the live shapes of package shape: a browser or
// a Node.js program subscribes to `orders WHERE status = 'open'` with
// ShapeStream or Shape and keeps its rows equal to the database, with no
// service besides your Go program.
//
//	h, err := shapehttp.New(manager, shapehttp.Options{Tables: []string{"demo.orders"}})
//	if err != nil { ... }
//	defer h.Close()
//	mux.Handle("/v1/shape", h)
//
// # Protocol
//
// A client asks GET /v1/shape?table=…&where=…&params[1]=…&columns=…&offset=-1
// and receives the shape's rows as insert messages with the shape's handle
// (electric-handle) and an offset (electric-offset). It then asks from
// that offset with the handle until an answer says up-to-date, and from
// then on long-polls (live=true; a request waits up to
// Options.LongPollTimeout for a change) or, with live_sse=true, reads a
// server-sent event stream. Values are PostgreSQL's text forms; the
// electric-schema header gives each column's type so the client parses
// them. docs/http.md lists every parameter, header and answer.
//
// # The log
//
// Each shape served keeps its current rows (to answer offset -1) and a
// log of its recent changes (to answer resumed offsets), bounded by
// Options.LogBytes and Options.LogAge. A client whose offset is older than
// the log, whose handle the server does not know (it restarted, the shape
// was idle past Options.IdleTimeout, or was reset after the change source
// lost changes) is answered 409 with must-refetch and a handle to start
// over with: a client never skips changes silently. In WAL mode an
// offset is the transaction's commit LSN and the change's place in it.
//
// Offset -1 is answered from the rows frozen at a position of the log,
// in chunks of about Options.ChunkBytes that every client starting
// meanwhile shares (so a shared cache may keep them), then the log from
// that position. A response ends only between transactions: in WAL mode
// at the transaction's end, which package shape marks with a Commit
// message; in NOTIFY mode, which has no transactions, after 20 ms without
// a change (a burst is held 20 ms at most).
//
// # Who may see what
//
// Only the tables in Options.Tables are served. Options.Authorize sees
// every request and the parsed shape; it may refuse it or narrow it (add
// a tenant condition), and a narrowed shape is answered Cache-Control
// private. The WHERE clause is parsed by package shape and never reaches
// SQL as text. Limits on shapes, concurrent requests and the WHERE
// clause's size are answered with 429 or 400 and a JSON message the client
// reports in its FetchError.
//
// # Caching
//
// Answers carry Electric's Cache-Control and ETag headers: snapshots
// (offset -1) may be kept by a shared cache for an hour, catch-up answers
// for a minute, live answers for five seconds with a cursor that changes
// every long-poll interval, so a CDN in front serves many clients with one
// request to the handler.
//
// # Concurrency
//
// A Handler is safe for concurrent use. It starts one goroutine per shape
// in use (reading the shape's subscription into its log) and one that
// drops idle shapes; Close stops them and waits for them.
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package shapehttp
