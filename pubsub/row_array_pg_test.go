package pubsub_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestRowArrayTypesMatchCatalog checks the built-in array table against
// pg_type: every array type whose output is array_out, with its element
// type and the delimiter between elements.
func TestRowArrayTypesMatchCatalog(t *testing.T) {
	o := setupOracle(t)
	rows := o.rows(`SELECT a.oid AS arr, e.oid AS elem, e.typdelim::text AS delim
		FROM pg_type a JOIN pg_type e ON e.oid = a.typelem
		WHERE a.typoutput = 'array_out'::regproc AND a.oid < 10000 AND e.typtype <> 'c'`)
	if len(rows) < 70 {
		t.Fatalf("%d array types", len(rows))
	}
	seen := map[uint32]bool{}
	for _, r := range rows {
		arr, elem := value(t, r, "arr").(uint32), value(t, r, "elem").(uint32)
		seen[arr] = true
		if got := pubsub.ArrayElement(arr); got != elem {
			t.Errorf("array type %d: element %d, pg_type says %d", arr, got, elem)
		}
		if got := string(pubsub.ArrayDelimiter(elem)); got != text(t, r, "delim") {
			t.Errorf("element type %d: delimiter %q, pg_type says %q", elem, got, text(t, r, "delim"))
		}
	}
	for oid := uint32(0); oid < 10000; oid++ {
		if pubsub.ArrayElement(oid) != 0 && !seen[oid] {
			t.Errorf("type %d is no built-in array type", oid)
		}
	}
}

// TestRowValueArrays checks arrays of many element types against the
// server: dimensions and lower bounds against array_dims, each element
// (row-major) against unnest's text of it decoded by the element table.
func TestRowValueArrays(t *testing.T) {
	o := setupOracle(t)
	o.exec(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy ☺')`)
	values := []string{
		`'{{1,2},{3,4}}'::int4[]`, `'[0:2]={7,8,9}'::int4[]`, `'{}'::int4[]`, `'[-5:-4][3:4]={{1,NULL},{NULL,4}}'::int4[]`,
		`'{{{1,2,3},{4,5,6}},{{7,8,9},{10,11,12}}}'::int8[]`, `array_fill(7::int2, ARRAY[1,2,1,2,1,2])`,
		`ARRAY['a b', '', NULL, 'NULL', 'null', 'quote"', 'back\slash', '{}', '😀 emoji', ',;', ' lead', 'trail ', E'tab\there', E'new\nline']::text[]`,
		`ARRAY[gen_random_uuid(), NULL, '00000000-0000-0000-0000-000000000000']::uuid[]`,
		`ARRAY[box '((0,0),(1,1))', box '((2,2),(3,3))', NULL]::box[]`,
		`'{NaN,Infinity,-Infinity,-0,4.9e-324,0.1}'::float8[]`, `'{NaN,-0,1.4e-45}'::float4[]`,
		`'{NaN,Infinity,-Infinity,1234567890123456789012345678901234567890.5,NULL}'::numeric[]`,
		`'{infinity,-infinity,"0044-03-15 12:00:00+00 BC","2024-02-29 13:34:56.5+00",NULL}'::timestamptz[]`,
		`'{"0044-03-15 BC",infinity,2024-02-29}'::date[]`, `'{"2024-02-29 13:34:56.5","0001-01-01 00:00:00 BC"}'::timestamp[]`,
		`ARRAY['null'::jsonb, '{"id":12345678901234567890}', '[1,"a,b"]', NULL]`, `ARRAY['{"a" :  1}'::json]`,
		`ARRAY['\x'::bytea, '\x00ff', NULL]`, `'{t,f,NULL}'::bool[]`, `ARRAY['a'::"char", 'b', NULL]`,
		`ARRAY[point '(1,2)', NULL]`, `ARRAY[int4range(1,5), 'empty', NULL]`, `ARRAY['1 day 02:03:04'::interval]`,
		`ARRAY['sad', 'happy ☺', NULL]::mood[]`, `'{1,4294967295}'::oid[]`, `'{0,18446744073709551615}'::xid8[]`,
		`ARRAY['192.168.0.1/24'::inet]`, `ARRAY['$1.50'::money]`,
		`ARRAY[B'101', NULL]`, `ARRAY['a fat cat'::tsvector]`, `ARRAY['<a>x</a>'::xml]`, `'{{"{",NULL},{"}","\\"}}'::varchar[]`,
	}
	// Random text arrays of special characters, two dimensions.
	for i := range 40 {
		values = append(values, fmt.Sprintf(`(SELECT array_agg(ARRAY[x, CASE WHEN random() < 0.2 THEN NULL ELSE x || ' ' END]) FROM (
			SELECT string_agg(substr(E'ab,;{}"\\ \tNUL😀é', (random()*15)::int + 1, 1), '') AS x
			FROM generate_series(1, %d) g, generate_series(0, (random()*6)::int) k GROUP BY g) s)`, i%7+1))
	}
	// One column per value so that each keeps its own type.
	for i, v := range values {
		rows := o.rows(fmt.Sprintf(`SELECT v, array_dims(v) AS dims, (SELECT typelem FROM pg_type WHERE oid = pg_typeof(v)) AS elem,
			ARRAY(SELECT CASE WHEN e IS NOT NULL THEN format('%%s', e) END FROM unnest(v) e) AS elems FROM (SELECT %s) s(v)`, v))
		r := rows[0]
		got, ok := value(t, r, "v").(pubsub.Array)
		if !ok {
			t.Errorf("%d %s: Value is %T", i, v, value(t, r, "v"))
			continue
		}
		s := text(t, r, "v")
		dims := ""
		for _, d := range got.Dims {
			dims += fmt.Sprintf("[%d:%d]", d.Lower, d.Lower+d.Len-1)
		}
		if want, _ := r.Text("dims"); dims != want {
			t.Errorf("%s = %q: dims %s, array_dims %s", v, s, dims, want)
		}
		elem := value(t, r, "elem").(uint32)
		want := value(t, r, "elems").(pubsub.Array) // text[]: each element's text, NULL as nil
		if len(want.Elems) != len(got.Elems) {
			t.Errorf("%s = %q: %d elements, unnest gives %d", v, s, len(got.Elems), len(want.Elems))
			continue
		}
		for j, w := range want.Elems {
			if w == nil {
				if got.Elems[j] != nil {
					t.Errorf("%s = %q: element %d is %#v, not NULL", v, s, j, got.Elems[j])
				}
				continue
			}
			decoded, err := pubsub.DecodeText(decodeElem(o, elem), w.(string))
			if err != nil {
				t.Errorf("%s: element %q: %v", v, w, err)
			}
			if !sameValue(got.Elems[j], decoded) {
				t.Errorf("%s = %q: element %d is %#v, unnest's %q decodes to %#v", v, s, j, got.Elems[j], w, decoded)
			}
		}
	}
}

// decodeElem resolves an element type as the WAL source does (enum to
// text).
func decodeElem(o *oracle, elem uint32) uint32 { return o.decodeOID(elem) }

// TestRowValueGoType is the value table: the Go type of each column type,
// whatever the value.
func TestRowValueGoType(t *testing.T) {
	o := setupOracle(t)
	o.exec(`CREATE TYPE mood AS ENUM ('sad', 'happy');
		CREATE DOMAIN posint AS int4 CHECK (VALUE > 0); CREATE DOMAIN email AS text; CREATE DOMAIN money2 AS numeric(12,2);
		CREATE TYPE pair AS (a int, b text)`)
	var (
		str   = reflect.TypeFor[string]()
		array = reflect.TypeFor[pubsub.Array]()
		tm    = reflect.TypeFor[time.Time]()
		inf   = reflect.TypeFor[pubsub.Infinity]()
	)
	cases := []struct {
		expr string
		want reflect.Type
	}{
		{`true`, reflect.TypeFor[bool]()}, {`1::int2`, reflect.TypeFor[int16]()}, {`1::int4`, reflect.TypeFor[int32]()},
		{`1::int8`, reflect.TypeFor[int64]()}, {`1::oid`, reflect.TypeFor[uint32]()}, {`'1'::xid`, reflect.TypeFor[uint32]()},
		{`'1'::cid`, reflect.TypeFor[uint32]()}, {`'1'::xid8`, reflect.TypeFor[uint64]()},
		{`1.5::float4`, reflect.TypeFor[float32]()}, {`'NaN'::float4`, reflect.TypeFor[float32]()},
		{`1.5::float8`, reflect.TypeFor[float64]()}, {`'-Infinity'::float8`, reflect.TypeFor[float64]()},
		{`1.5::numeric`, reflect.TypeFor[pubsub.Numeric]()}, {`'NaN'::numeric`, reflect.TypeFor[pubsub.Numeric]()},
		{`'\x01'::bytea`, reflect.TypeFor[[]byte]()}, {`'\x'::bytea`, reflect.TypeFor[[]byte]()},
		{`'null'::jsonb`, reflect.TypeFor[json.RawMessage]()}, {`'{"a":1}'::json`, reflect.TypeFor[json.RawMessage]()}, {`'12345678901234567890'::jsonb`, reflect.TypeFor[json.RawMessage]()},
		{`'2024-02-29'::date`, tm}, {`'infinity'::date`, inf}, {`'2024-02-29 01:02:03'::timestamp`, tm},
		{`'-infinity'::timestamp`, inf}, {`now()`, tm}, {`'infinity'::timestamptz`, inf},
		{`'x'::text`, str}, {`'x'::varchar`, str}, {`'x'::char(3)`, str}, {`'x'::name`, str}, {`'x'::"char"`, str},
		{`gen_random_uuid()`, str}, {`'<a/>'::xml`, str}, {`'sad'::mood`, str}, {`1.5::money`, str},
		{`'01:02'::time`, str}, {`'01:02+03'::timetz`, str}, {`'1 day'::interval`, str}, {`B'101'`, str},
		{`B'101'::varbit`, str}, {`int4range(1,2)`, str}, {`tstzrange(now(), null)`, str}, {`'::1'::inet`, str},
		{`'10.0.0.0/8'::cidr`, str}, {`'08:00:2b:01:02:03'::macaddr`, str}, {`'a b'::tsvector`, str},
		{`point(1,2)`, str}, {`box(point(1,2),point(3,4))`, str}, {`circle(point(1,2),3)`, str},
		{`ROW(1,'x')::pair`, str}, {`'0/16B3748'::pg_lsn`, str}, {`'pg_class'::regclass`, str},
		{`7::posint`, reflect.TypeFor[int32]()}, {`'a@b'::email`, str}, {`1.5::money2`, reflect.TypeFor[pubsub.Numeric]()},
		{`'{1}'::int4[]`, array}, {`'{}'::text[]`, array}, {`ARRAY[gen_random_uuid()]`, array}, {`ARRAY['sad'::mood]`, array},
		{`ARRAY[box(point(1,2),point(3,4))]`, array}, {`ARRAY[ROW(1,'x')::pair]`, str},
	}
	for _, c := range cases {
		r := o.rows(`SELECT ` + c.expr + ` AS v, NULL::` + "int4" + ` AS n`)[0]
		v, err := r.Value("v")
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got := reflect.TypeOf(v); got != c.want {
			t.Errorf("%s (%q): Value is %v, want %v", c.expr, text(t, r, "v"), got, c.want)
		}
		if c.want == str && v != text(t, r, "v") {
			t.Errorf("%s: Value %q, text %q", c.expr, v, text(t, r, "v"))
		}
	}
	// NULL is nil whatever the type.
	for _, c := range cases {
		r := o.rows(`SELECT NULL::` + strings.TrimSpace(typeOf(o, c.expr)) + ` AS v`)[0]
		if v, err := r.Value("v"); v != nil || err != nil {
			t.Errorf("NULL of %s: %#v, %v", c.expr, v, err)
		}
	}
	// The elements of a uuid[] are canonical strings.
	r := o.rows(`SELECT ARRAY['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid] AS v`)[0]
	if a := value(t, r, "v").(pubsub.Array); a.Elems[0] != "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" {
		t.Errorf("uuid[] element %#v", a.Elems[0])
	}
}

// typeOf returns the SQL name of expr's type.
func typeOf(o *oracle, expr string) string {
	return text(o.t, o.rows(`SELECT format_type(pg_typeof(` + expr + `), NULL) AS t`)[0], "t")
}
