package pubsub_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// arrayFuzzTypes are the element types FuzzParseArray tries: text, int4
// and box (whose arrays use ';').
var arrayFuzzTypes = [...]struct{ array, elem uint32 }{{1009, 25}, {1007, 23}, {1020, 603}}

// FuzzParseArray: the array parser never panics, and what it accepts
// prints back (as array_out would) to text it parses to the same array.
func FuzzParseArray(f *testing.F) {
	for _, s := range []string{`{}`, `{1,2,3}`, `{{1,2},{3,4}}`, `[0:2]={7,8,9}`, `[-5:-4][3:4]={{1,NULL},{NULL,4}}`,
		`{"a b","",NULL,"NULL","quote\"","back\\slash"}`, `{(1,1),(0,0);(3,3),(2,2)}`, `{ a , b }`, `{a\,b}`, `{{{{{{1}}}}}}`} {
		for i := range arrayFuzzTypes {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, s string, which uint8) {
		typ := arrayFuzzTypes[int(which)%len(arrayFuzzTypes)]
		v, err := pubsub.DecodeText(typ.array, s)
		if err != nil {
			return
		}
		a := v.(pubsub.Array)
		n := 1
		for _, d := range a.Dims {
			n *= d.Len
		}
		if len(a.Dims) == 0 {
			n = 0
		}
		if n != len(a.Elems) || len(a.Dims) > 6 {
			t.Fatalf("%q: dims %v for %d elements", s, a.Dims, len(a.Elems))
		}
		out := formatArray(a, pubsub.ArrayDelimiter(typ.elem))
		again, err := pubsub.DecodeText(typ.array, out)
		if err != nil {
			t.Fatalf("%q parsed, printed as %q, which does not parse: %v", s, out, err)
		}
		if !sameValue(a, again) {
			t.Fatalf("%q parsed to %#v, printed as %q, parsed to %#v", s, a, out, again)
		}
	})
}

// formatArray prints a as array_out does.
func formatArray(a pubsub.Array, delim byte) string {
	var b strings.Builder
	custom := false
	for _, d := range a.Dims {
		custom = custom || d.Lower != 1
	}
	if custom {
		for _, d := range a.Dims {
			b.WriteString("[" + strconv.Itoa(d.Lower) + ":" + strconv.Itoa(d.Lower+d.Len-1) + "]")
		}
		b.WriteByte('=')
	}
	if len(a.Dims) == 0 {
		return "{}"
	}
	pos := 0
	var level func(d int)
	level = func(d int) {
		b.WriteByte('{')
		for i := 0; i < a.Dims[d].Len; i++ {
			if i > 0 {
				b.WriteByte(delim)
			}
			if d+1 < len(a.Dims) {
				level(d + 1)
				continue
			}
			switch e := a.Elems[pos].(type) {
			case nil:
				b.WriteString("NULL")
			case int32:
				b.WriteString(strconv.Itoa(int(e)))
			case string:
				if e == "" || strings.EqualFold(e, "NULL") || strings.ContainsAny(e, "\"\\{} \t\n\r\v\f"+string(delim)) {
					b.WriteString(`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(e) + `"`)
				} else {
					b.WriteString(e)
				}
			}
			pos++
		}
		b.WriteByte('}')
	}
	level(0)
	return b.String()
}

// dateTimeFuzzTypes are date, timestamp and timestamptz.
var dateTimeFuzzTypes = [...]struct {
	oid  uint32
	name string
}{{1082, "date"}, {1114, "timestamp"}, {1184, "timestamptz"}}

// FuzzParseTimestamp: the date/timestamp parser never panics, and what it
// accepts prints back in PostgreSQL's ISO form to the same instant and
// offset.
func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2024-02-29", "0044-03-15 BC", "5874897-12-31", "infinity", "-infinity",
		"2024-02-29 13:34:56.5", "0001-01-01 00:00:00 BC", "294276-12-31 23:59:59.999999", "2024-02-29 13:34:56.5+00",
		"1900-01-01 00:00:00+05:53:28", "2024-07-01 12:00:00-03:30", "0044-03-15 12:00:00+00 BC", "2023-02-29"} {
		for i := range dateTimeFuzzTypes {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, s string, which uint8) {
		typ := dateTimeFuzzTypes[int(which)%len(dateTimeFuzzTypes)]
		v, err := pubsub.DecodeText(typ.oid, s)
		if err != nil {
			return
		}
		switch x := v.(type) {
		case pubsub.Infinity:
			if x.String() != s {
				t.Fatalf("%q: %v", s, x)
			}
		case time.Time:
			out := formatPG(x, typ.name)
			again, err := pubsub.DecodeText(typ.oid, out)
			if err != nil {
				t.Fatalf("%q parsed to %v, printed as %q, which does not parse: %v", s, x, out, err)
			}
			if !sameValue(x, again) {
				t.Fatalf("%q parsed to %v, printed as %q, parsed to %v", s, x, out, again)
			}
		default:
			t.Fatalf("%q: %T", s, v)
		}
	})
}

// BenchmarkRowValue is Value's cost per column for common types.
func BenchmarkRowValue(b *testing.B) {
	for _, c := range []struct {
		name string
		oid  uint32
		text string
	}{
		{"int8", 20, "9223372036854775807"},
		{"uuid", 2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{"text", 25, "Ada Lovelace wrote the first program"},
		{"timestamptz", 1184, "2024-02-29 13:34:56.123456+00"},
		{"numeric", 1700, "1234567890.123456789"},
	} {
		layout, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "v", OID: c.oid}})
		if err != nil {
			b.Fatal(err)
		}
		r, err := pubsub.NewRow(layout, []pubsub.Cell{{State: pubsub.Present, Text: []byte(c.text)}})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Value("v"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
