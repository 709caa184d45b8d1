package replication

import (
	"bytes"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgtype"
)

// relation is a table as the server last described it on this connection,
// with a decoder chosen once per column, so that a row costs no type
// lookup.
type relation struct {
	schema, table string
	cols          []column
	uuidCol       int // index of the "uuid" column, -1 if none
	idCol         int // index of the "id" column, -1 if none
}

type column struct {
	name string
	oid  uint32
	key  bool // part of the replica identity
	dec  decoder
	typ  *pgtype.Type // for decCodec
}

// decoder is how a column's text value becomes a Go value.
type decoder uint8

const (
	// decString keeps the text: text, varchar, bpchar, name (pgx's
	// TextCodec gives the same string), uuid (its canonical text, where
	// pgx would give [16]byte), and types pgx does not know.
	decString decoder = iota
	decInt2           // int16, as pgx
	decInt4           // int32, as pgx
	decInt8           // int64, as pgx
	decBool           // bool, as pgx
	decCodec          // pgx's codec for the type, text if it fails
)

func newRelation(m *pglogrepl.RelationMessage, types *pgtype.Map) *relation {
	r := &relation{schema: m.Namespace, table: m.RelationName, uuidCol: -1, idCol: -1}
	r.cols = make([]column, len(m.Columns))
	for i, c := range m.Columns {
		col := column{name: c.Name, oid: c.DataType, key: c.Flags&1 != 0}
		col.dec, col.typ = decoderFor(types, c.DataType)
		r.cols[i] = col
		switch c.Name {
		case "uuid":
			r.uuidCol = i
		case "id":
			r.idCol = i
		}
	}
	return r
}

// decoderFor picks the decoder of a type.
func decoderFor(types *pgtype.Map, oid uint32) (decoder, *pgtype.Type) {
	switch oid {
	case pgtype.UUIDOID:
		return decString, nil
	case pgtype.Int2OID:
		return decInt2, nil
	case pgtype.Int4OID:
		return decInt4, nil
	case pgtype.Int8OID:
		return decInt8, nil
	case pgtype.BoolOID:
		return decBool, nil
	}
	t, ok := types.TypeForOID(oid)
	if !ok {
		return decString, nil
	}
	if _, ok := t.Codec.(pgtype.TextCodec); ok {
		return decString, nil
	}
	return decCodec, t
}

// rowIDCol is the column the trigger's rule takes the row id from: "uuid"
// when the table has one, else "id", else -1.
func (r *relation) rowIDCol() int {
	if r.uuidCol >= 0 {
		return r.uuidCol
	}
	return r.idCol
}

// row decodes a tuple into column name -> value and returns the row id
// (the trigger's rule, as text) with it. Unchanged TOASTed values ('u')
// are left out: the server did not send them. keyOnly keeps the replica
// identity columns of an old key tuple, whose other columns the server
// sends as nulls that mean "not sent".
//
// Every text value of the row, and the row id's text, is copied into one
// string, of which each value is a substring: one allocation for the
// row's text instead of one per value.
func (ss *session) row(rel *relation, cols []tupleCol, keyOnly bool) (map[string]any, string) {
	cols = cols[:min(len(cols), len(rel.cols))]
	idCol := rel.rowIDCol()
	inRow := func(i int) bool { return !keyOnly || rel.cols[i].key }
	asText := func(i int) bool {
		return cols[i].kind == 't' && (i == idCol || inRow(i) && rel.cols[i].dec == decString)
	}
	n, size := 0, 0
	for i := range cols {
		if inRow(i) && cols[i].kind != 'u' {
			n++
		}
		if asText(i) {
			size += len(cols[i].data)
		}
	}
	var text string
	if size > 0 {
		var b strings.Builder
		b.Grow(size)
		for i := range cols {
			if asText(i) {
				b.Write(cols[i].data)
			}
		}
		text = b.String()
	}
	m := make(map[string]any, n)
	id, off := "", 0
	for i := range cols {
		c, col := &cols[i], &rel.cols[i]
		var s string
		if asText(i) {
			s = text[off : off+len(c.data)]
			off += len(c.data)
			if i == idCol {
				id = s
			}
		}
		if !inRow(i) {
			continue
		}
		switch c.kind {
		case 'n':
			m[col.name] = nil
		case 't':
			if col.dec == decString {
				m[col.name] = s
			} else {
				m[col.name] = ss.value(col, c.data)
			}
		case 'b':
			m[col.name] = bytes.Clone(c.data)
		}
	}
	return m, id
}

// value decodes a text value of a column whose decoder is not decString,
// as pgx would into any; a value the decoder does not take stays text.
func (ss *session) value(col *column, data []byte) any {
	switch col.dec {
	case decInt2:
		if n, ok := parseInt(data); ok && n == int64(int16(n)) {
			return int16(n)
		}
	case decInt4:
		if n, ok := parseInt(data); ok && n == int64(int32(n)) {
			return int32(n)
		}
	case decInt8:
		if n, ok := parseInt(data); ok {
			return n
		}
	case decBool:
		if len(data) == 1 && (data[0] == 't' || data[0] == 'f') {
			return data[0] == 't'
		}
	}
	return ss.slowValue(col.oid, col.typ, data)
}

// slowValue decodes through pgx's codec of the type, found by oid when
// typ is nil.
func (ss *session) slowValue(oid uint32, typ *pgtype.Type, data []byte) any {
	if typ == nil {
		var ok bool
		if typ, ok = ss.types.TypeForOID(oid); !ok {
			return string(data)
		}
	}
	if v, err := typ.Codec.DecodeValue(ss.types, oid, pgtype.TextFormatCode, data); err == nil {
		return v
	}
	return string(data)
}

// parseInt reads PostgreSQL's output of an integer: an optional minus and
// 1 to 18 decimal digits (so it cannot overflow). Anything else, such as
// the 19 digits of a large int8, is left to pgx.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
