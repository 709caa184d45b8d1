package shapehttp

import "strings"

// builtinTypes are the pg_type.typname of the built-in types by OID, the
// names the client's value parsers are keyed by.
var builtinTypes = map[uint32]string{
	16: "bool", 17: "bytea", 18: "char", 19: "name", 20: "int8", 21: "int2", 23: "int4", 25: "text", 26: "oid",
	114: "json", 700: "float4", 701: "float8", 1042: "bpchar", 1043: "varchar", 1082: "date", 1083: "time",
	1114: "timestamp", 1184: "timestamptz", 1186: "interval", 1266: "timetz", 1700: "numeric", 2950: "uuid",
	3802: "jsonb", 869: "inet", 650: "cidr", 829: "macaddr",
	1000: "_bool", 1001: "_bytea", 1005: "_int2", 1007: "_int4", 1009: "_text", 1014: "_bpchar", 1015: "_varchar",
	1016: "_int8", 1021: "_float4", 1022: "_float8", 1115: "_timestamp", 1182: "_date", 1183: "_time",
	1185: "_timestamptz", 1187: "_interval", 1231: "_numeric", 2951: "_uuid", 199: "_json", 3807: "_jsonb",
}

// typeName returns the type name the schema header gives a column: the
// built-in name of its decoding type (a domain's base type), else the
// name format_type printed, without a type modifier, "[]" turned into the
// leading underscore of an array type.
func typeName(decodeOID, oid uint32, formatted string) string {
	if n, ok := builtinTypes[decodeOID]; ok && decodeOID != 25 {
		return n
	}
	if n, ok := builtinTypes[oid]; ok {
		return n
	}
	t := formatted
	array := strings.HasSuffix(t, "[]")
	t = strings.TrimSuffix(t, "[]")
	if i := strings.IndexByte(t, '('); i >= 0 {
		t = t[:i]
	}
	t = strings.Trim(t, `"`)
	if array {
		return "_" + t
	}
	return t
}
