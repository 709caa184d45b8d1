package shapehttp_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/rowkey"
	"github.com/phoenixkit/phoenixkitdb/shapehttp"
)

// typedSchema is a table of many types, and one with a key of two
// columns, for TestSnapshotValuesMatchPostgres.
const typedSchema = `
CREATE TABLE typed (id bigint PRIMARY KEY, t text, i4 int4, i8 int8, num numeric, f8 float8, f4 real, b bool,
	d date, ts timestamp, tstz timestamptz, iv interval, by bytea, u uuid, j json, jb jsonb, ta text[], ia int4[],
	c3 char(3), ch "char", ip inet, pt point, nr numrange);
CREATE TABLE pairs (a text, b int4, v text, PRIMARY KEY (a, b));
ALTER PUBLICATION phoenixkitdb ADD TABLE typed, pairs;
`

// typedCols are typed's columns but id, each with a generator of
// PostgreSQL input text.
var typedCols = []struct {
	name, typ string
	gen       func(*rand.Rand) string
}{
	{"t", "text", genText},
	{"i4", "int4", pick("0", "-2147483648", "2147483647", "42")},
	{"i8", "int8", pick("-9223372036854775808", "9223372036854775807", "7")},
	{"num", "numeric", pick("123.4500", "-0.000001", "NaN", "1e-20", "0", "99999999999999999999.99")},
	{"f8", "float8", pick("0.30000000000000004", "1e300", "-Infinity", "NaN", "-0", "4.9e-324", "0.1")},
	{"f4", "real", pick("3.4028235e38", "1.17549435e-38", "0.1", "-2.5")},
	{"b", "bool", pick("t", "f")},
	{"d", "date", pick("2024-02-29", "0044-03-15 BC", "infinity", "1999-12-31")},
	{"ts", "timestamp", pick("2024-02-29 13:14:15.123456", "infinity", "2000-01-01 00:00:00")},
	{"tstz", "timestamptz", pick("2024-02-29 13:14:15.5+05:30", "-infinity", "1970-01-01 00:00:00+00")},
	{"iv", "interval", pick("1 year 2 mons -3 days 04:05:06.789", "-1 day", "00:00:00")},
	{"by", "bytea", pick(`\x`, `\x00ff5c0a09`, `\x5c4e`)},
	{"u", "uuid", func(r *rand.Rand) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), r.Uint64()>>16) }},
	{"j", "json", pick(`{"k": "back\\slash \"q\" \u00e9\ttab", "n": [1, 2.50, null]}`, `"a\\nb"`, `[]`, `  {"sp" :  1 }  `)},
	{"jb", "jsonb", pick(`{"k": "back\\slash \"q\" \u00e9\ttab", "n": [1, 2.50, null]}`, `"a\\nb"`, `{"b": 1, "a": [true]}`)},
	{"ta", "text[]", genTextArray},
	{"ia", "int4[]", pick("{}", "{1,NULL,3}", "{{1,2},{3,4}}", "[0:1]={5,6}")},
	{"c3", "char(3)", pick("abc", "a\tb", `\\N`)},
	{"ch", `"char"`, pick("x", `\`, "\"")},
	{"ip", "inet", pick("192.168.0.1/24", "::1", "10.0.0.1")},
	{"pt", "point", pick("(1.5,-2)", "(0,0)")},
	{"nr", "numrange", pick("[1.5,2)", "empty", "(,3]")},
}

// pick returns a generator of one of vs.
func pick(vs ...string) func(*rand.Rand) string {
	return func(r *rand.Rand) string { return vs[r.IntN(len(vs))] }
}

// textPieces make texts with what COPY and JSON escape, and what looks
// like their escapes.
var textPieces = []string{"", "a", "tab\there", "line\nbreak", "cr\r", `back\slash`, `\N`, "NULL", `quote"d`, "'single'",
	"é 日本 🎉", "\x01\x1f", "\u2028", ",", "{", "}", " spaced "}

func genText(r *rand.Rand) string {
	var sb strings.Builder
	for range r.IntN(4) {
		sb.WriteString(textPieces[r.IntN(len(textPieces))])
	}
	return sb.String()
}

// genTextArray returns a text[] literal with NULLs, empty strings and
// what array syntax quotes.
func genTextArray(r *rand.Rand) string {
	n := r.IntN(4)
	elems := make([]string, n)
	for i := range elems {
		if r.IntN(5) == 0 {
			elems[i] = "NULL"
			continue
		}
		t := genText(r)
		t = strings.ReplaceAll(t, `\`, `\\`)
		elems[i] = `"` + strings.ReplaceAll(t, `"`, `\"`) + `"`
	}
	return "{" + strings.Join(elems, ",") + "}"
}

// TestSnapshotValuesMatchPostgres: over generated rows of many types (NULLs,
// arrays, json with backslashes, text with tabs and newlines), every value
// of the HTTP snapshot is what PostgreSQL's output function prints
// (format('%s', col), under the settings the shape package pins: col::text
// differs for bool and inet), and every key is the key columns' texts: for the
// first client (the snapshot as the shape package took it), for a client
// of the live shape after changes (the snapshot frozen again from the rows
// by key), and for the client that followed the changes.
func TestSnapshotValuesMatchPostgres(t *testing.T) {
	e := setup(t, shapehttp.Options{Tables: []string{"typed", "pairs"}, LogBytes: 1, LongPollTimeout: time.Second})
	e.exec(typedSchema)
	rng := rand.New(rand.NewPCG(24, 1))
	names := []string{"id"}
	casts := []string{"$1::text::bigint"}
	for i, c := range typedCols {
		names = append(names, c.name)
		casts = append(casts, "$"+strconv.Itoa(i+2)+"::text::"+c.typ)
	}
	insert := "INSERT INTO typed (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(casts, ", ") + ")"
	for id := 1; id <= 300; id++ {
		args := []any{strconv.Itoa(id)}
		for _, c := range typedCols {
			var v *string
			if rng.IntN(8) != 0 {
				s := c.gen(rng)
				v = &s
			}
			args = append(args, v)
		}
		e.exec(insert, args...)
	}
	for i := range 50 {
		e.exec(`INSERT INTO pairs VALUES ($1, $2, $3)`, genText(rng)+strconv.Itoa(i/7), i%7, genText(rng))
	}

	ctx := context.Background()
	cols := names
	q := url.Values{"table": {"typed"}}
	first := newGoClient(t, e.shapeURL(), q)
	first.converge(ctx, typedOracle(t, e, "typed", []string{"id"}, cols), 20*time.Second)
	pq := url.Values{"table": {"pairs"}}
	pairs := newGoClient(t, e.shapeURL(), pq)
	pairs.converge(ctx, typedOracle(t, e, "pairs", []string{"a", "b"}, []string{"a", "b", "v"}), 20*time.Second)

	// Changes: the log needs the rows by key (made from the snapshot now);
	// it keeps no entry (LogBytes 1), so a new client gets a snapshot
	// frozen again from them.
	e.exec(`UPDATE typed SET t = t || E'\t\\x\n', f8 = -f8 WHERE id % 3 = 0`)
	e.exec(`UPDATE typed SET ta = NULL, j = '{"x": "\\\\"}' WHERE id % 5 = 0`)
	e.exec(`DELETE FROM typed WHERE id % 11 = 0`)
	want := typedOracle(t, e, "typed", []string{"id"}, cols)
	first.strict = false // its offset may fall out of the one-entry log: a refetch then
	first.converge(ctx, want, 20*time.Second)
	again := newGoClient(t, e.shapeURL(), q)
	again.converge(ctx, want, 20*time.Second)
}

// typedOracle returns PostgreSQL's rows of table: each column's text as
// its output function prints it, under the shape package's session settings, keyed as the shape keys
// them (rowkey.Format of the key columns' texts).
func typedOracle(t *testing.T, e *env, table string, key, cols []string) map[string]row {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := e.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT set_config('DateStyle', 'ISO, YMD', true), set_config('IntervalStyle', 'postgres', true),
		set_config('extra_float_digits', '3', true), set_config('bytea_output', 'hex', true), set_config('TimeZone', 'UTC', true)`); err != nil {
		t.Fatal(err)
	}
	sel := make([]string, 0, len(key)+len(cols))
	for _, c := range append(append([]string(nil), key...), cols...) {
		// format's %s prints with the type's output function, as COPY
		// does; ::text is another function for some types (bool's true,
		// inet's mask, char(n) without its padding).
		q := pgx.Identifier{c}.Sanitize()
		sel = append(sel, "CASE WHEN "+q+" IS NULL THEN NULL ELSE format('%s', "+q+") END")
	}
	rs, err := tx.Query(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]row{}
	for rs.Next() {
		vals := make([]*string, len(sel))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		texts := make([]string, len(key))
		for i := range key {
			texts[i] = *vals[i]
		}
		r := row{}
		for i, c := range cols {
			r[c] = vals[len(key)+i]
		}
		out[rowkey.Format(texts)] = r
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
