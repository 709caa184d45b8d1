package where

import (
	"fmt"
	"strings"
)

// Column describes a column a clause may name.
type Column struct {
	// Name is the column's name as PostgreSQL has it (case kept).
	Name string
	// OID is the built-in type whose rules apply, as pubsub.ColumnType's
	// DecodeOID: a domain's base type; text (25) or text[] (1009) for an
	// enum or an array of one, with EnumLabels set.
	OID uint32
	// Collation is the column's collation name; "" means the column's
	// default, unknown to the package. Ordering comparisons (< <= > >=
	// BETWEEN) and ILIKE on text are matched exactly only for "C" and
	// "POSIX" (byte order, ASCII case folding) and refused otherwise;
	// equality, IN and LIKE hold for every deterministic collation.
	Collation string
	// Nondeterministic is set for a nondeterministic collation: every text
	// comparison on the column is refused.
	Nondeterministic bool
	// EnumLabels are an enum's labels in their sort order
	// (pg_enum.enumsortorder); set for an enum column (and an array of
	// one), nil otherwise.
	EnumLabels []string
}

// kind is how the package compares a column's values.
type kind uint8

const (
	kInvalid kind = iota
	kInt
	kNumeric
	kFloat4
	kFloat8
	kText
	kBpchar
	kBool
	kUUID
	kDate
	kTimestamp
	kTimestamptz
	kEnum
)

var kindNames = [...]string{"invalid", "integer", "numeric", "real", "double precision", "text",
	"character", "boolean", "uuid", "date", "timestamp", "timestamp with time zone", "enum"}

func (k kind) String() string { return kindNames[k] }

// Type OIDs the package knows (pg_type.oid, stable across versions).
const (
	oidBool        = 16
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidFloat4      = 700
	oidFloat8      = 701
	oidBpchar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidNumeric     = 1700
	oidUUID        = 2950
)

// scalarOIDs maps a scalar type to its kind; arrayOIDs an array type to
// its element's kind and the element OID.
var scalarOIDs = map[uint32]kind{
	oidBool: kBool, oidInt2: kInt, oidInt4: kInt, oidInt8: kInt, oidText: kText, oidVarchar: kText,
	oidBpchar: kBpchar, oidFloat4: kFloat4, oidFloat8: kFloat8, oidNumeric: kNumeric, oidUUID: kUUID,
	oidDate: kDate, oidTimestamp: kTimestamp, oidTimestamptz: kTimestamptz,
}

var arrayOIDs = map[uint32]uint32{
	1000: oidBool, 1005: oidInt2, 1007: oidInt4, 1016: oidInt8, 1009: oidText, 1015: oidVarchar,
	1014: oidBpchar, 1021: oidFloat4, 1022: oidFloat8, 1231: oidNumeric, 2951: oidUUID,
	1182: oidDate, 1115: oidTimestamp, 1185: oidTimestamptz,
}

// colType is a column's type as the package compares it.
type colType struct {
	kind    kind
	oid     uint32 // the scalar (element) OID
	array   bool
	arrOID  uint32 // the array OID when array
	cOrder  bool   // text ordering and ILIKE are exact (C/POSIX)
	nondet  bool
	labels  []string
	ordinal map[string]int64
}

// typeOf resolves a Column's type; false for a type the package does not
// support.
func typeOf(c Column) (colType, bool) {
	t := colType{oid: c.OID}
	if elem, ok := arrayOIDs[c.OID]; ok {
		t.array, t.arrOID, t.oid = true, c.OID, elem
	}
	k, ok := scalarOIDs[t.oid]
	if !ok {
		return t, false
	}
	t.kind = k
	if c.EnumLabels != nil {
		if k != kText {
			return t, false
		}
		t.kind = kEnum
		t.labels = c.EnumLabels
		t.ordinal = make(map[string]int64, len(c.EnumLabels))
		for i, l := range c.EnumLabels {
			t.ordinal[l] = int64(i)
		}
	}
	t.cOrder = c.Collation == "C" || c.Collation == "POSIX"
	t.nondet = c.Nondeterministic
	return t, true
}

// name names the type in errors.
func (t colType) name() string {
	n := t.kind.String()
	switch t.oid {
	case oidInt2:
		n = "smallint"
	case oidInt8:
		n = "bigint"
	case oidVarchar:
		n = "character varying"
	}
	if t.array {
		n += "[]"
	}
	return n
}

// elem returns the type of the elements of an array type.
func (t colType) elem() colType {
	t.array = false
	return t
}

// arrayOf returns the array type of a scalar type.
func (t colType) arrayOf() (colType, error) {
	for a, e := range arrayOIDs {
		if e == t.oid {
			t.array, t.arrOID = true, a
			return t, nil
		}
	}
	return t, fmt.Errorf("no array type for %s", t.name())
}

// isTextual reports whether the kind compares as text.
func (k kind) isTextual() bool { return k == kText || k == kBpchar }

// trimPad drops bpchar's insignificant trailing spaces.
func trimPad(s string) string { return strings.TrimRight(s, " ") }
