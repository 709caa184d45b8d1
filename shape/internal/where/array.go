package where

import (
	"fmt"
	"strings"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// arrayLayouts builds the one-column layout pubsub decodes an array text
// with: array_in's syntax is array_out's, which pubsub reads.
func arrayLayout(t colType) (*pubsub.RowLayout, error) {
	return pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "a", OID: t.arrOID}})
}

// parseArrayText parses an array text of type t into its elements (NULL
// elements included), in row-major order; dimensions do not matter to
// @> and ANY.
func parseArrayText(t colType, text string) ([]value, error) {
	l, err := arrayLayout(t)
	if err != nil {
		return nil, err
	}
	r, err := pubsub.NewRow(l, []pubsub.Cell{{State: pubsub.Present, Text: []byte(text)}})
	if err != nil {
		return nil, err
	}
	v, err := r.Value("a")
	if err != nil {
		return nil, fmt.Errorf("malformed array literal %q", text)
	}
	return arrayValues(t.elem(), v)
}

// arrayValues converts pubsub's decoded array to values of element type t.
func arrayValues(t colType, v any) ([]value, error) {
	a, ok := v.(pubsub.Array)
	if !ok {
		return nil, fmt.Errorf("not an array: %T", v)
	}
	out := make([]value, len(a.Elems))
	for i, e := range a.Elems {
		x, err := elemValue(t, e)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

// elemValue converts one element decoded by pubsub's value table.
func elemValue(t colType, e any) (value, error) {
	switch x := e.(type) {
	case nil:
		return value{null: true}, nil
	case int16:
		return value{i: int64(x), raw: fmt.Sprint(x)}, nil
	case int32:
		return value{i: int64(x), raw: fmt.Sprint(x)}, nil
	case int64:
		return value{i: x, raw: fmt.Sprint(x)}, nil
	case float32:
		return value{f: float64(x), raw: formatFloat(float64(x), 32)}, nil
	case float64:
		return value{f: x, raw: formatFloat(x, 64)}, nil
	case pubsub.Numeric:
		return parseScalar(t, x.String(), true)
	case bool:
		if x {
			return value{i: 1, raw: "true"}, nil
		}
		return value{raw: "false"}, nil
	case string:
		return parseScalar(t, x, true)
	case pubsub.Infinity:
		n := int64(posInfinity)
		if x == pubsub.NegInfinity {
			n = negInfinity
		}
		return value{i: n, raw: x.String()}, nil
	case time.Time:
		var n int64
		if t.kind == kDate {
			n = x.Unix() / 86400
			if x.Unix() < 0 && x.Unix()%86400 != 0 {
				n--
			}
		} else {
			n = pgMicros(x)
		}
		return value{i: n, raw: formatDateTime(t.kind, n)}, nil
	}
	return value{}, fmt.Errorf("unexpected element %T", e)
}

// renderArray writes elements as an array text array_in reads.
func renderArray(vals []value) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		if v.null {
			b.WriteString("NULL")
			continue
		}
		b.WriteByte('"')
		for j := 0; j < len(v.raw); j++ {
			if c := v.raw[j]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v.raw[j])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
