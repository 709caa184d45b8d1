package cluster

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Flags of a format 1 change: which optional fields follow.
const (
	flagCommitTime byte = 1 << iota
	flagNew
	flagOld
	flagsKnown = flagCommitTime | flagNew | flagOld
)

// changeV1 parses a format 1 change after its format byte: a flags byte,
// schema, table, operation and row id (strings), the commit LSN (uvarint),
// then, if the flags say so, the commit time (Unix seconds as a varint,
// nanoseconds as a uvarint) and the new and old rows (each a string
// holding a JSON object, see jsonRow).
func (d *decoder) changeV1(b []byte) (pubsub.Event, error) {
	if len(b) == 0 {
		return pubsub.Event{}, fmt.Errorf("%w: truncated", errBadMessage)
	}
	flags := b[0]
	if flags&^flagsKnown != 0 {
		return pubsub.Event{}, fmt.Errorf("%w: unknown flags %#x", errBadMessage, flags)
	}
	r := reader{b: b[1:]}
	ev := pubsub.Event{Kind: pubsub.TableChanged}
	ev.Schema = intern(&d.schema, r.bytes())
	ev.Table = intern(&d.table, r.bytes())
	ev.Operation = pubsub.Operation(intern(&d.op, r.bytes()))
	ev.RowID = string(r.bytes())
	ev.LSN = pubsub.LSN(r.uvarint())
	if flags&flagCommitTime != 0 {
		ev.CommitTime = r.time()
	}
	if flags&flagNew != 0 {
		ev.New = d.jsonRowAt(&r)
	}
	if flags&flagOld != 0 {
		ev.Old = d.jsonRowAt(&r)
	}
	if err := r.end(); err != nil {
		return pubsub.Event{}, err
	}
	if ev.Schema == "" || ev.Table == "" {
		return pubsub.Event{}, fmt.Errorf("%w: change without schema or table", errBadMessage)
	}
	return ev, nil
}

// jsonRowAt reads a format 1 row: a string holding a JSON object.
func (d *decoder) jsonRowAt(r *reader) *pubsub.Row {
	b := r.bytes()
	if r.err != nil {
		return nil
	}
	row, err := d.jsonRow(b)
	if err != nil {
		r.failWith(err)
	}
	return row
}

// jsonRow turns the JSON object of an earlier release's row into a Row:
// its columns in name order (the order json.Marshal wrote them), each of
// type OID 0 (unknown), with as text a number's literal, a string's
// value, t or f for a boolean (as PostgreSQL prints them), an object's or
// array's JSON text; null is Null.
func (d *decoder) jsonRow(b []byte) (*pubsub.Row, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: row values: not a JSON object", errBadMessage)
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	var key []byte
	key = binary.AppendUvarint(key, uint64(len(names)))
	for _, k := range names {
		key = appendString(key, k)
		key = append(key, 0, 0) // OID and DecodeOID unknown
	}
	var r reader
	l := d.layout(&r, key)
	if r.err != nil {
		return nil, r.err
	}
	cells := make([]pubsub.Cell, len(names))
	for i, k := range names {
		v := bytes.TrimSpace(m[k])
		c := &cells[i]
		c.State = pubsub.Present
		switch v[0] {
		case 'n':
			c.State = pubsub.Null
		case 't':
			c.Text = []byte("t")
		case 'f':
			c.Text = []byte("f")
		case '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("%w: row values: %w", errBadMessage, err)
			}
			c.Text = []byte(s)
		default: // a number's literal (json.Number's text), an object or an array
			c.Text = v
		}
	}
	row, err := pubsub.NewRow(l, cells)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadMessage, err)
	}
	return row, nil
}
