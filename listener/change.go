package listener

import (
	"bytes"

	"github.com/phoenixkit/phoenixkitdb/internal/strblock"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// The session parses change payloads straight from the read buffer. Doing
// it through ParsePayload would first copy each payload into a string of
// its own, one allocation of the whole payload per notification; here the
// schema and table strings are shared by every event of a table (a burst
// usually comes from one table) and row ids are copied into blocks shared
// by consecutive events (rowIDs), one allocation per block instead of one
// per event.

// maxTableNames bounds the tables a session remembers: past it the
// memory starts afresh, so a stream of ever-new table names (only a
// misbehaving writer sends one) cannot grow it without bound.
const maxTableNames = 1024

// tableName is a table reference "schema.table" and its two parts, which
// share ref's memory.
type tableName struct{ ref, schema, table string }

// tableNames interns the schema and table strings of the tables a session
// has seen. It is not safe for concurrent use: the session's reader owns it.
type tableNames struct {
	last  tableName // the previous look-up's answer: bursts repeat a table
	byRef map[string]tableName
}

// lookup returns the schema and table of ref, split on its first "." like
// ParsePayload does, and reports false when ref is not schema.table. It
// allocates only for a table it has not seen yet.
func (n *tableNames) lookup(ref []byte) (schema, table string, ok bool) {
	// The comparison and the map index with string(ref) do not allocate.
	if n.last.ref != "" && string(ref) == n.last.ref {
		return n.last.schema, n.last.table, true
	}
	if t, hit := n.byRef[string(ref)]; hit {
		n.last = t
		return t.schema, t.table, true
	}
	dot := bytes.IndexByte(ref, '.')
	if dot <= 0 || dot == len(ref)-1 {
		return "", "", false
	}
	r := string(ref)
	t := tableName{ref: r, schema: r[:dot], table: r[dot+1:]}
	if n.byRef == nil || len(n.byRef) >= maxTableNames {
		n.byRef = make(map[string]tableName)
	}
	n.byRef[r] = t
	n.last = t
	return t.schema, t.table, true
}

// parseChange is ParsePayload for a payload that aliases the read buffer:
// same grammar, same events and same errors, but the event shares its
// schema and table strings with the other events of its table (through
// names) and a copy of its row id (through ids), so it stays valid once
// the buffer is reused. It writes the event to dst, in place (events are
// too big to be returned in registers), and leaves dst alone on error.
func parseChange(dst *pubsub.Event, payload []byte, names *tableNames, ids *strblock.Block) error {
	colon := bytes.IndexByte(payload, ':')
	if colon < 0 {
		return invalid("no ':' separator")
	}
	ref, rest := payload[:colon], payload[colon+1:]
	colon = bytes.IndexByte(rest, ':')
	if colon < 0 {
		return invalid("missing row id separator")
	}
	opText, rowID := rest[:colon], rest[colon+1:]
	schema, table, ok := names.lookup(ref)
	if !ok {
		return invalid("table reference is not schema.table")
	}
	op, ok := operationOf(opText)
	if !ok {
		return invalid("unknown operation")
	}
	*dst = pubsub.Event{
		Kind:      pubsub.TableChanged,
		Schema:    schema,
		Table:     table,
		Operation: op,
		RowID:     ids.Copy(rowID),
	}
	return nil
}

// operationOf is operation for bytes: the switch on string(b) does not
// allocate, and the answer is one of operation's constants.
func operationOf(b []byte) (pubsub.Operation, bool) {
	switch string(b) {
	case "INSERT":
		return pubsub.Insert, true
	case "UPDATE":
		return pubsub.Update, true
	case "DELETE":
		return pubsub.Delete, true
	case "TRUNCATE":
		return pubsub.Truncate, true
	}
	return "", false
}
