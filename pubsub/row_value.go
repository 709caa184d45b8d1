package pubsub

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Errors of the typed row accessors; match them with errors.Is.
var (
	// ErrNoValue is wrapped by [Row.Value] for a column the row does not
	// hold: not in its layout, [Absent] or [UnchangedTOAST]. (A NULL column
	// has a value: nil.)
	ErrNoValue = errors.New("pubsub: no value")
	// ErrValue is wrapped by [Row.Value] when a column's text does not
	// parse as its type says; the error names the column and the type.
	ErrValue = errors.New("pubsub: cannot decode value")
	// ErrScan is wrapped by [Row.Scan] when dst is not a pointer to a
	// struct, a field has no column, or a column does not fit its field;
	// the error names the column, its type and the field.
	ErrScan = errors.New("pubsub: cannot scan row")
)

// valueKind is how [Row.Value] decodes one scalar type.
type valueKind uint8

const (
	kindString valueKind = iota // the text itself: every type not listed below
	kindBool
	kindInt16
	kindInt32
	kindInt64
	kindUint32
	kindUint64
	kindFloat32
	kindFloat64
	kindNumeric
	kindBytea
	kindJSON
	kindDate
	kindTimestamp
	kindTimestamptz
)

// Built-in type OIDs of the value table (pg_type.oid, stable across
// PostgreSQL versions).
const (
	oidBool        = 16
	oidBytea       = 17
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidOID         = 26
	oidXID         = 28
	oidCID         = 29
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidDate        = 1082
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidNumeric     = 1700
	oidJSONB       = 3802
	oidXID8        = 5069
)

// scalarKind is the value table: how a value of built-in type oid decodes.
// Every type it does not list is its text (a string).
func scalarKind(oid uint32) valueKind {
	switch oid {
	case oidBool:
		return kindBool
	case oidInt2:
		return kindInt16
	case oidInt4:
		return kindInt32
	case oidInt8:
		return kindInt64
	case oidOID, oidXID, oidCID:
		return kindUint32
	case oidXID8:
		return kindUint64
	case oidFloat4:
		return kindFloat32
	case oidFloat8:
		return kindFloat64
	case oidNumeric:
		return kindNumeric
	case oidBytea:
		return kindBytea
	case oidJSON, oidJSONB:
		return kindJSON
	case oidDate:
		return kindDate
	case oidTimestamp:
		return kindTimestamp
	case oidTimestamptz:
		return kindTimestamptz
	}
	return kindString
}

// typeName names a type in errors: the table's own types by name, any
// other by OID.
func typeName(oid uint32) string {
	if elem := arrayElement(oid); elem != 0 {
		return typeName(elem) + "[]"
	}
	switch oid {
	case oidBool:
		return "bool"
	case oidBytea:
		return "bytea"
	case oidInt8:
		return "int8"
	case oidInt2:
		return "int2"
	case oidInt4:
		return "int4"
	case oidOID:
		return "oid"
	case oidXID:
		return "xid"
	case oidCID:
		return "cid"
	case oidJSON:
		return "json"
	case oidFloat4:
		return "float4"
	case oidFloat8:
		return "float8"
	case oidDate:
		return "date"
	case oidTimestamp:
		return "timestamp"
	case oidTimestamptz:
		return "timestamptz"
	case oidNumeric:
		return "numeric"
	case oidJSONB:
		return "jsonb"
	case oidXID8:
		return "xid8"
	}
	return "type oid " + strconv.FormatUint(uint64(oid), 10)
}

// Value returns column col decoded by its type ([ColumnType.DecodeOID]),
// nil for NULL. The Go type depends only on the column's type, never on
// the value (except nil for NULL), and no information is lost:
//
//	bool                           bool
//	int2, int4, int8               int16, int32, int64
//	oid, xid, cid                  uint32
//	xid8                           uint64
//	float4, float8                 float32, float64 (NaN, ±Inf and -0 kept)
//	numeric                        Numeric (the exact text: every digit, NaN, ±Infinity)
//	bytea                          []byte (from the hex format)
//	json, jsonb                    json.RawMessage (the exact text; jsonb 'null' is
//	                               RawMessage("null"), SQL NULL is nil)
//	date, timestamp, timestamptz   time.Time, or Infinity for ±infinity
//	arrays of any built-in type    Array (each element by this table, nil for NULL)
//	every other type               string: its text (text, varchar, bpchar, name,
//	                               "char", uuid, xml, enums, money, time, timetz,
//	                               interval, bit, ranges, inet, cidr, macaddr,
//	                               tsvector, geometric types, composites, ...)
//
// Dates and timestamps are in UTC, BC years as Go's astronomical years
// (1 BC is year 0); a timestamptz keeps the offset PostgreSQL printed (UTC
// under the WAL source's pinned TimeZone). Use [Row.Scan] for structured
// values of the types that decode as strings (pgtype.Interval, netip.Prefix,
// pgtype.Range, ...).
//
// Value decodes on every call (nothing is cached, nothing is decoded
// before it is asked for) and returns values the caller owns. It wraps
// [ErrNoValue] for a column that is not in the layout, [Absent] or
// [UnchangedTOAST], and [ErrValue], naming the column and its type, for a
// text that does not parse (which PostgreSQL's output under the settings
// the WAL source pins never produces); [Row.Text] still has the text.
func (r *Row) Value(col string) (any, error) {
	i := r.pos(col)
	if i < 0 {
		return nil, fmt.Errorf("%w: column %q is not in the row", ErrNoValue, col)
	}
	return r.valueAt(i)
}

// valueAt is Value for the i-th column.
func (r *Row) valueAt(i int) (any, error) {
	c := &r.layout.cols[i]
	switch st := r.cells[i].state; st {
	case Present:
	case Null:
		return nil, nil
	default:
		return nil, fmt.Errorf("%w: column %q is %v; check Row.State", ErrNoValue, c.Name, st)
	}
	v, err := decodeValue(c.DecodeOID, r.textAt(i))
	if err != nil {
		return nil, valueError(c, err)
	}
	return v, nil
}

// valueError names the column and its type in a decoding error, with what
// to do about it.
func valueError(c *ColumnType, err error) error {
	return fmt.Errorf("%w: column %q (%s): %v; Row.Text has the value as PostgreSQL printed it",
		ErrValue, c.Name, typeName(c.DecodeOID), err)
}

// decodeValue decodes the text of a value of type oid by the value table.
func decodeValue(oid uint32, text string) (any, error) {
	if elem := arrayElement(oid); elem != 0 {
		a, err := parseArray(text, arrayDelimiter(elem), scalarKind(elem))
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	return decodeScalar(scalarKind(oid), text)
}

// decodeScalar decodes text as kind says.
func decodeScalar(kind valueKind, text string) (any, error) {
	switch kind {
	case kindBool:
		switch text {
		case "t":
			return true, nil
		case "f":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not t or f", text)
	case kindInt16:
		n, err := strconv.ParseInt(text, 10, 16)
		return int16(n), numErr(err, text)
	case kindInt32:
		n, err := strconv.ParseInt(text, 10, 32)
		return int32(n), numErr(err, text)
	case kindInt64:
		n, err := strconv.ParseInt(text, 10, 64)
		return n, numErr(err, text)
	case kindUint32:
		n, err := strconv.ParseUint(text, 10, 32)
		return uint32(n), numErr(err, text)
	case kindUint64:
		n, err := strconv.ParseUint(text, 10, 64)
		return n, numErr(err, text)
	case kindFloat32:
		f, err := parseFloat(text, 32)
		return float32(f), err
	case kindFloat64:
		return parseFloat(text, 64)
	case kindNumeric:
		if !validNumeric(text) {
			return nil, fmt.Errorf("%q is not a numeric", text)
		}
		return Numeric{text: text}, nil
	case kindBytea:
		return decodeBytea(text)
	case kindJSON:
		// Checked, so that the RawMessage marshals: PostgreSQL's json
		// is always valid, text from elsewhere may not be.
		if !json.Valid([]byte(text)) {
			return nil, fmt.Errorf("%q is not valid JSON", text)
		}
		return json.RawMessage(text), nil
	case kindDate, kindTimestamp, kindTimestamptz:
		return parseDateTime(kind, text)
	}
	return text, nil
}

// numErr describes a strconv error without repeating the function name.
func numErr(err error, text string) error {
	if err == nil {
		return nil
	}
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return fmt.Errorf("%q: %v", text, ne.Err)
	}
	return err
}

// parseFloat parses float4/float8 output: decimal or exponent forms, "NaN",
// "Infinity", "-Infinity" and "-0". strconv also accepts spellings
// PostgreSQL never prints ("inf", hex floats, underscores): those are
// refused so that a value has one text.
func parseFloat(text string, bits int) (float64, error) {
	switch text {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	if !jsonNumber(text) {
		return 0, fmt.Errorf("%q is not a float%d", text, bits/8)
	}
	f, err := strconv.ParseFloat(text, bits)
	if err != nil {
		return 0, numErr(err, text)
	}
	return f, nil
}

// jsonNumber reports whether s is a number in JSON's grammar, which is
// also the form of every finite integer and float PostgreSQL prints.
func jsonNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	start := i
	if n := digits(); n == 0 || n > 1 && s[start] == '0' {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// decodeBytea decodes bytea's hex output format, `\x` and two hex digits a
// byte.
func decodeBytea(text string) ([]byte, error) {
	hexText, ok := strings.CutPrefix(text, `\x`)
	if !ok {
		return nil, errors.New("not in bytea's hex format (the connection that produced the row must set bytea_output=hex, as the WAL source does)")
	}
	b, err := hex.DecodeString(hexText)
	if err != nil {
		return nil, fmt.Errorf("bad hex: %v", err)
	}
	return b, nil
}

// Map returns every [Null] and [Present] column by [Row.Value], keyed by
// name; absent and unchanged-TOAST columns are left out. A column whose
// Value fails (which PostgreSQL's output never causes) holds its text, a
// string, so that Map never loses a column. It returns a new map each
// call; nil for the nil row.
func (r *Row) Map() map[string]any {
	if r == nil {
		return nil
	}
	m := make(map[string]any, len(r.cells))
	for i := range r.cells {
		switch r.cells[i].state {
		case Null:
			m[r.layout.cols[i].Name] = nil
		case Present:
			v, err := r.valueAt(i)
			if err != nil {
				v = r.textAt(i)
			}
			m[r.layout.cols[i].Name] = v
		}
	}
	return m
}
