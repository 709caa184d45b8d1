package oracle

import (
	"strconv"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Kind tells what a [Change] is.
type Kind uint8

// The kinds of test_decoding lines.
const (
	Begin Kind = iota + 1
	Commit
	Insert
	Update
	Delete
	Truncate
	Message
	Prepare          // PREPARE TRANSACTION (two-phase slots only)
	CommitPrepared   // COMMIT PREPARED (two-phase slots only)
	RollbackPrepared // ROLLBACK PREPARED (two-phase slots only)
)

var kindNames = [...]string{"", "BEGIN", "COMMIT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "MESSAGE",
	"PREPARE TRANSACTION", "COMMIT PREPARED", "ROLLBACK PREPARED"}

// String returns the kind as test_decoding spells it ("INSERT", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Relation is a table's schema and name, unquoted.
type Relation struct{ Schema, Table string }

// String returns schema.table, unquoted.
func (r Relation) String() string { return r.Schema + "." + r.Table }

// Column is one column of a tuple as test_decoding printed it.
type Column struct {
	// Name is the column's name, unquoted.
	Name string
	// Type is the column's type as format_type prints it without a
	// type modifier ("integer", "character varying", "text[]", "mood").
	Type string
	// State is pubsub.Null, pubsub.UnchangedTOAST or pubsub.Present.
	State pubsub.ColumnState
	// Text is a present value as the type's output function printed it:
	// test_decoding's quoting undone ('' to ', B'101' to 101, true to t).
	Text string
}

// Change is one line of test_decoding output.
type Change struct {
	Kind Kind
	// Xid is the transaction id of BEGIN, COMMIT and the two-phase lines
	// when the slot was read with include-xids; HasXid says so.
	Xid    uint32
	HasXid bool
	// GID is the global transaction id of the two-phase lines.
	GID string

	// Rel is the table of an INSERT, UPDATE or DELETE.
	Rel Relation
	// New is the row after an INSERT or UPDATE. Old is the old key of an
	// UPDATE (when the server logged one) or the key of a DELETE: the
	// replica identity's columns, every column with REPLICA IDENTITY
	// FULL, NULL columns left out (test_decoding skips them). HasOld says
	// whether there is an old key (an empty one is possible).
	New, Old []Column
	HasOld   bool
	// NoTupleData is set when test_decoding printed "(no-tuple-data)":
	// a DELETE from a table without replica identity, say.
	NoTupleData bool

	// Truncated lists the tables of a TRUNCATE, in order.
	Truncated []Relation
	// Cascade and RestartSeqs are TRUNCATE's options.
	Cascade, RestartSeqs bool

	// Transactional, Prefix and Content are a logical message's, and
	// Size the content's length in the database's encoding (Content is in
	// the session's).
	Transactional bool
	Prefix        string
	Content       []byte
	Size          int
}
