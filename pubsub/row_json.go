package pubsub

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/phoenixkit/phoenixkitdb/internal/jsontext"
)

// MarshalJSON writes the row as a JSON object of its [Present] and [Null]
// columns in table order (absent and unchanged-TOAST columns are left
// out), each value written from its text:
//
//	NULL                                          null
//	int2, int4, int8, oid, xid, cid, xid8        a JSON number
//	float4, float8, numeric (finite)             a JSON number, every digit kept
//	bool                                          true or false
//	json, jsonb                                   the JSON itself
//	everything else (NaN and ±Infinity too)       a JSON string of the text
//
// It never fails: a text that is not valid where it goes (which
// PostgreSQL's output never causes) is written as a string. Dates of
// every era, arrays and bytea are strings of their text. The nil row is
// null.
func (r *Row) MarshalJSON() ([]byte, error) {
	if r == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 2+len(r.text)+16*len(r.cells))
	b = append(b, '{')
	first := true
	for i := range r.cells {
		st := r.cells[i].state
		if st != Present && st != Null {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		c := &r.layout.cols[i]
		b = appendJSONString(b, c.Name)
		b = append(b, ':')
		if st == Null {
			b = append(b, "null"...)
			continue
		}
		b = appendJSONValue(b, c.DecodeOID, r.textAt(i))
	}
	return append(b, '}'), nil
}

// appendJSONValue appends the JSON of a present value of type oid.
func appendJSONValue(b []byte, oid uint32, text string) []byte {
	switch scalarKind(oid) {
	case kindInt16, kindInt32, kindInt64, kindUint32, kindUint64, kindFloat32, kindFloat64, kindNumeric:
		// A string for NaN and ±Infinity; the number as printed otherwise.
		if jsonNumber(text) {
			return append(b, text...)
		}
	case kindBool:
		switch text {
		case "t":
			return append(b, "true"...)
		case "f":
			return append(b, "false"...)
		}
	case kindJSON:
		if json.Valid([]byte(text)) {
			return append(b, text...)
		}
	}
	return appendJSONString(b, text)
}

// appendJSONString appends s as a JSON string (see jsontext.AppendString).
func appendJSONString(b []byte, s string) []byte { return jsontext.AppendString(b, s) }

// String formats the row for debugging: its non-absent columns in table
// order, as name=text with the text quoted, NULL, or <unchanged TOAST>.
// The format may change; use [Row.Text] or [Row.MarshalJSON] for data.
func (r *Row) String() string {
	if r == nil {
		return "Row(nil)"
	}
	var b strings.Builder
	b.WriteString("Row(")
	first := true
	for i := range r.cells {
		st := r.cells[i].state
		if st == Absent {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(r.layout.cols[i].Name)
		b.WriteByte('=')
		switch st {
		case Null:
			b.WriteString("NULL")
		case UnchangedTOAST:
			b.WriteString("<unchanged TOAST>")
		default:
			b.WriteString(strconv.Quote(r.textAt(i)))
		}
	}
	b.WriteByte(')')
	return b.String()
}
