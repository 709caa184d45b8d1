package replication

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// The hot pgoutput messages (Begin, Commit, Insert, Update, Delete) are
// parsed here rather than by pglogrepl.Parse, which allocates a message,
// a tuple, a slice and one column struct plus a copy of the bytes per
// column for every row: over half the allocations of a decoded row. This
// parser allocates nothing: a tuple's columns are kept in slices reused
// from row to row, and their bytes alias the message buffer, valid until
// the next message is received. The rarer messages (Relation, Truncate,
// Type, Origin) still go through pglogrepl. TestParseMatchesPglogrepl and
// FuzzParseRow compare the two.

// tupleCol is one column of a TupleData: its kind ('n' null, 'u'
// unchanged TOASTed value, 't' text, 'b' binary) and, for 't' and 'b',
// its bytes, which alias the message.
type tupleCol struct {
	kind byte
	data []byte
}

// rowMsg is a parsed Insert, Update or Delete message. One is reused for
// every row of a session; its column slices keep their capacity.
type rowMsg struct {
	op      pubsub.Operation // Insert, Update or Delete
	relID   uint32
	hasNew  bool
	oldKind byte // 0 (no old tuple), 'K' (key columns) or 'O' (whole row)
	newCols []tupleCol
	oldCols []tupleCol
}

// pgEpochMicros is 2000-01-01 UTC, PostgreSQL's epoch, in microseconds
// since the Unix epoch.
const pgEpochMicros = 946684800 * 1000000

// malformed returns errMalformed with the message's type and size.
func malformed(typ byte, size int) error {
	return fmt.Errorf("%w (type %q, %d bytes)", errMalformed, typ, size)
}

// parseBegin reads a Begin message (type byte included): the
// transaction's final (commit) LSN, its xid and commit time.
func parseBegin(data []byte) (finalLSN pubsub.LSN, xid uint32, commitTime time.Time, err error) {
	// Byte1('B') Int64 final LSN, Int64 commit time, Int32 xid.
	if len(data) < 21 {
		return 0, 0, time.Time{}, malformed(firstByte(data), len(data))
	}
	finalLSN = pubsub.LSN(binary.BigEndian.Uint64(data[1:]))
	us := int64(binary.BigEndian.Uint64(data[9:]))
	xid = binary.BigEndian.Uint32(data[17:])
	return finalLSN, xid, time.Unix(0, (pgEpochMicros+us)*1000), nil
}

// parseCommit reads a Commit message (type byte included): the commit LSN
// and the transaction's end LSN.
func parseCommit(data []byte) (commitLSN, endLSN pubsub.LSN, err error) {
	// Byte1('C') Int8 flags, Int64 commit LSN, Int64 end LSN, Int64 commit time.
	if len(data) < 26 {
		return 0, 0, malformed(firstByte(data), len(data))
	}
	return pubsub.LSN(binary.BigEndian.Uint64(data[2:])), pubsub.LSN(binary.BigEndian.Uint64(data[10:])), nil
}

// parse reads an Insert ('I'), Update ('U') or Delete ('D') message, type
// byte included. It accepts exactly the layout the protocol defines: an
// optional old tuple ('K' or 'O') for Update, a required one for Delete, a
// new tuple ('N') for Insert and Update, and nothing after.
func (m *rowMsg) parse(data []byte) error {
	if err := m.parseBody(data); err != nil {
		return malformed(firstByte(data), len(data))
	}
	return nil
}

func (m *rowMsg) parseBody(data []byte) error {
	if len(data) < 6 {
		return errMalformed
	}
	typ := data[0]
	m.relID = binary.BigEndian.Uint32(data[1:])
	m.hasNew, m.oldKind = false, 0
	m.newCols, m.oldCols = m.newCols[:0], m.oldCols[:0]
	rest := data[5:]
	var err error
	switch typ {
	case 'I':
		m.op = pubsub.Insert
	case 'U':
		m.op = pubsub.Update
	case 'D':
		m.op = pubsub.Delete
	default:
		return errMalformed
	}
	if typ != 'I' && len(rest) > 0 && (rest[0] == 'K' || rest[0] == 'O') {
		m.oldKind = rest[0]
		if m.oldCols, rest, err = parseTuple(rest[1:], m.oldCols); err != nil {
			return err
		}
	}
	switch typ {
	case 'D':
		if m.oldKind == 0 {
			return errMalformed
		}
	default:
		if len(rest) == 0 || rest[0] != 'N' {
			return errMalformed
		}
		m.hasNew = true
		if m.newCols, rest, err = parseTuple(rest[1:], m.newCols); err != nil {
			return err
		}
	}
	if len(rest) != 0 {
		return errMalformed
	}
	return nil
}

// parseTuple reads a TupleData into cols (reused) and returns what
// follows it. Every length is checked against the bytes left before it is
// used, so a corrupt count or length is an error, never a large
// allocation: the slice grows one column at a time, at most one per
// byte of the message.
func parseTuple(b []byte, cols []tupleCol) ([]tupleCol, []byte, error) {
	if len(b) < 2 {
		return cols, nil, errMalformed
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n > len(b) { // every column takes at least its kind byte
		return cols, nil, errMalformed
	}
	for range n {
		if len(b) < 1 {
			return cols, nil, errMalformed
		}
		c := tupleCol{kind: b[0]}
		b = b[1:]
		switch c.kind {
		case 'n', 'u':
		case 't', 'b':
			if len(b) < 4 {
				return cols, nil, errMalformed
			}
			l := uint64(binary.BigEndian.Uint32(b))
			b = b[4:]
			if l > uint64(len(b)) {
				return cols, nil, errMalformed
			}
			c.data, b = b[:l:l], b[l:]
		default:
			return cols, nil, errMalformed
		}
		cols = append(cols, c)
	}
	return cols, b, nil
}
