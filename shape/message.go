package shape

import (
	"strconv"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// MessageKind tells what a [Message] means.
type MessageKind uint8

const (
	// Insert: the row is now in the shape (a snapshot row, a new row, or
	// an UPDATE that made a row match: move-in). Row is the whole row.
	Insert MessageKind = iota + 1
	// Update: a row of the shape changed and still matches. Row is the new
	// row; a column the transaction did not change and the WAL did not
	// carry (a TOASTed value) is pubsub.UnchangedTOAST: keep what you have.
	Update
	// Delete: the row left the shape (deleted, truncated, or an UPDATE
	// made it stop matching: move-out). Old is what the change source gave
	// of the old row (the key columns at least), when it gave one.
	Delete
	// UpToDate: every row of the snapshot before it has been delivered;
	// what follows are changes.
	UpToDate
	// Reset: forget every row of this shape; a fresh snapshot (Insert
	// messages, then UpToDate) follows. Sent after the change source lost
	// changes (a Resync) and when the subscriber fell behind by more than
	// Config.Buffer messages.
	Reset
	// Commit: the transaction of LSN committed, and every message of it
	// for this subscriber came before. A subscriber receives one after
	// each transaction it received a message of: apply a transaction's
	// messages together and show the result at its Commit, so a reader
	// never sees half of one. WAL mode only: NOTIFY mode has no
	// transactions and sends none.
	Commit
	// Snapshot: every row of a snapshot at once, in Rows, instead of one
	// Insert per row; UpToDate follows. Only a subscription made with
	// [Manager.SubscribeBatch] receives it.
	Snapshot
)

// String returns "insert", "update", "delete", "up-to-date", "reset",
// "commit", "snapshot" or "MessageKind(N)".
func (k MessageKind) String() string {
	switch k {
	case Insert:
		return "insert"
	case Update:
		return "update"
	case Delete:
		return "delete"
	case UpToDate:
		return "up-to-date"
	case Reset:
		return "reset"
	case Commit:
		return "commit"
	case Snapshot:
		return "snapshot"
	}
	return "MessageKind(" + strconv.Itoa(int(k)) + ")"
}

// Message is one step of a shape's stream.
type Message struct {
	Kind MessageKind
	// xid is the change's transaction id, for a late subscriber's
	// snapshot to skip what it saw (next to Kind: no padding).
	xid uint32
	// Key identifies the row (see Shape.Key); empty for UpToDate, Reset
	// and Commit.
	Key string
	// Row is the row projected to the shape's columns (Insert, Update).
	// Rows are shared by every subscriber and immutable.
	Row *pubsub.Row
	// Old is the old row projected to the shape's columns, as far as the
	// change source gave it (Update, Delete); nil when it gave none.
	Old *pubsub.Row
	// Rows holds the snapshot's rows (Snapshot), shared by every
	// subscriber and immutable.
	Rows *Rows
	// LSN and Seq are the change's commit position and its place in the
	// transaction, as in pubsub.Event: unique and increasing along the
	// stream in WAL mode. Snapshot rows have LSN 0 and Seq 1, 2, ...;
	// NOTIFY mode changes have LSN 0 and Seq 0. A Commit has its
	// transaction's LSN and the Seq of the source's end mark.
	LSN pubsub.LSN
	Seq uint64
}
