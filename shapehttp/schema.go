package shapehttp

import (
	"strconv"
	"strings"
)

// schemaHeader returns the electric-schema header of a shape: per column
// its type name (an array's element type with dims), its place in the
// primary key and whether it is NOT NULL. The client picks its value
// parser by type name (int2, int4, float4, float8 become numbers, int8 a
// BigInt, bool a boolean, json and jsonb parsed values, the rest strings).
func schemaHeader(cols []column) string {
	b := []byte{'{'}
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c.name)
		b = append(b, `:{"type":`...)
		t, dims := c.typeName, 0
		if strings.HasPrefix(t, "_") {
			t, dims = t[1:], 1
		}
		b = appendString(b, t)
		if dims > 0 {
			b = append(b, `,"dims":1`...)
		}
		if c.pkIndex >= 0 {
			b = append(b, `,"pk_index":`...)
			b = strconv.AppendInt(b, int64(c.pkIndex), 10)
		}
		if c.notNull {
			b = append(b, `,"not_null":true`...)
		}
		b = append(b, '}')
	}
	return string(append(b, '}'))
}
