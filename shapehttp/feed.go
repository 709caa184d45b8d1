package shapehttp

import (
	"context"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// definition is a shape as the handler asks for it.
type definition = shape.Definition

// Definition is shape.Definition, the shape an [Options.Authorize] hook
// sees and may narrow.
type Definition = shape.Definition

// column is one column of a shape, in the shape's order.
type column struct {
	name     string
	typeName string // pg_type.typname: int4, text, _int4 for an array
	pkIndex  int    // position in the primary key, -1 outside it
	notNull  bool
}

// changeKind tells what a change does.
type changeKind uint8

const (
	kindInsert   changeKind = iota + 1 // a row enters the shape
	kindUpdate                         // a row of the shape changes and stays
	kindDelete                         // a row leaves the shape
	kindUpToDate                       // everything before is applied: a consistent point
	kindReset                          // the shape was taken again: forget every row
	kindCommit                         // the transaction of lsn ended (WAL mode)
	kindSnapshot                       // every snapshot row at once, in rows (before its up-to-date)
)

// change is one message of a shape's feed.
type change struct {
	kind     changeKind
	key      string
	row, old *pubsub.Row
	rows     *shape.Rows // kindSnapshot
	lsn      pubsub.LSN
	seq      uint64
}

// feed is one live shape: its columns, then its messages in order: the
// snapshot rows as inserts, an up-to-date, then the changes, a
// transaction's changes sharing an LSN in WAL mode (a reset starts over
// with a new snapshot and up-to-date). The snapshot rows may come as one
// kindSnapshot instead of inserts. The shape package's Subscription is
// the one implementation; see manager.go.
type feed interface {
	columns() []column
	// next returns the next message. It waits for one at most wait (a
	// negative wait: until ctx ends) and reports false when none came. An
	// error means the feed is over.
	next(ctx context.Context, wait time.Duration) (c change, ok bool, err error)
	close()
}

// opener starts a feed for def. It blocks until the shape's snapshot is
// taken; its errors are the shape package's (a bad WHERE clause, an
// unknown column, too many shapes).
type opener func(ctx context.Context, def definition) (feed, error)
