package pubsub_test

import (
	"encoding/hex"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestRowValueIntegers compares int2/int4/int8 values with pgx's binary
// decoding of the same values, and oid, xid, cid, xid8 with the server's
// conversion to numeric.
func TestRowValueIntegers(t *testing.T) {
	o := setupOracle(t)
	cases := []struct {
		typ, values string
		binary      func(t *testing.T, table string) []any
	}{
		{"int2", `SELECT unnest('{-32768,32767,0,-1,1}'::int2[]) UNION ALL SELECT (random()*65535-32768)::int2 FROM generate_series(1,300)`, nil},
		{"int4", `SELECT unnest('{-2147483648,2147483647,0,-1}'::int4[]) UNION ALL SELECT (random()*4294967295-2147483648)::int4 FROM generate_series(1,300)`, nil},
		{"int8", `SELECT unnest('{-9223372036854775808,9223372036854775807,0,-1}'::int8[]) UNION ALL SELECT ((random()-0.5)*18e18)::int8 FROM generate_series(1,300)`, nil},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			table := o.sample(c.typ, c.values)
			rows := o.rows(`SELECT v FROM ` + table + ` ORDER BY n`)
			bin, err := o.conn.Query(t.Context(), `SELECT v FROM `+table+` ORDER BY n`)
			if err != nil {
				t.Fatal(err)
			}
			i := 0
			for bin.Next() {
				var want any
				switch c.typ {
				case "int2":
					var v int16
					err = bin.Scan(&v)
					want = v
				case "int4":
					var v int32
					err = bin.Scan(&v)
					want = v
				case "int8":
					var v int64
					err = bin.Scan(&v)
					want = v
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := value(t, rows[i], "v"); !sameValue(got, want) {
					t.Errorf("%s %q: Value %#v, pgx binary %#v", c.typ, text(t, rows[i], "v"), got, want)
				}
				i++
			}
			if bin.Err() != nil || i != len(rows) || i < 300 {
				t.Fatalf("%v: %d binary rows, %d text rows", bin.Err(), i, len(rows))
			}
		})
	}
	// The unsigned types: the server's conversion to numeric is the oracle.
	for _, c := range []struct{ typ, values string }{
		{"oid", `SELECT unnest('{0,1,4294967295,2147483648}'::oid[]) UNION ALL SELECT (random()*4294967295)::int8::text::oid FROM generate_series(1,100)`},
		{"xid", `SELECT unnest('{0,1,3,4294967295}'::xid[]) UNION ALL SELECT (random()*4294967295)::int8::text::xid FROM generate_series(1,100)`},
		{"cid", `SELECT unnest('{0,1,4294967295}'::cid[]) UNION ALL SELECT (random()*4294967295)::int8::text::cid FROM generate_series(1,100)`},
		{"xid8", `SELECT unnest('{0,1,18446744073709551615,9223372036854775808}'::xid8[]) UNION ALL SELECT (random()*18446744073709551615)::numeric(20,0)::text::xid8 FROM generate_series(1,100)`},
	} {
		t.Run(c.typ, func(t *testing.T) {
			table := o.sample(c.typ, c.values)
			for _, r := range o.rows(`SELECT v, v::text::numeric::text AS num FROM ` + table + ` ORDER BY n`) {
				got := value(t, r, "v")
				var s string
				switch g := got.(type) {
				case uint32:
					s = strconv.FormatUint(uint64(g), 10)
					if c.typ == "xid8" {
						t.Fatalf("xid8 as uint32")
					}
				case uint64:
					s = strconv.FormatUint(g, 10)
					if c.typ != "xid8" {
						t.Fatalf("%s as uint64", c.typ)
					}
				default:
					t.Fatalf("%s: Value is %T", c.typ, got)
				}
				if want := text(t, r, "num"); s != want {
					t.Errorf("%s: Value %s, server %s", c.typ, s, want)
				}
			}
		})
	}
}

// TestRowValueFloats compares float4/float8 values, bit for bit, with
// pgx's binary decoding: NaN, ±Infinity, -0, denormals and extremes.
func TestRowValueFloats(t *testing.T) {
	o := setupOracle(t)
	edges := `'{NaN,Infinity,-Infinity,-0,0,4.9e-324,2.2250738585072014e-308,2.225073858507201e-308,1.7976931348623157e308,-1.7976931348623157e308,0.1,0.30000000000000004,1e22,123456789012345678}'`
	for _, typ := range []string{"float4", "float8"} {
		t.Run(typ, func(t *testing.T) {
			values := `SELECT unnest(` + edges + `::float8[])::` + typ + `
				UNION ALL SELECT '1.4e-45'::float4::` + typ + ` UNION ALL SELECT '3.4028235e38'::float4::` + typ + `
				UNION ALL SELECT ((random()-0.5) * 10^(random()*60-30))::` + typ + ` FROM generate_series(1,300)
				UNION ALL SELECT (random() * 10^(random()*600-300))::` + typ + ` FROM generate_series(1,300) WHERE '` + typ + `' = 'float8'`
			if typ == "float4" {
				values = strings.ReplaceAll(values, "4.9e-324", "0") // not a float4
				values = strings.NewReplacer("2.2250738585072014e-308", "0", "2.225073858507201e-308", "0",
					"1.7976931348623157e308", "0", "-1.7976931348623157e308", "0").Replace(values)
			}
			table := o.sample(typ, values)
			rows := o.rows(`SELECT v FROM ` + table + ` ORDER BY n`)
			bin, err := o.conn.Query(t.Context(), `SELECT v FROM `+table+` ORDER BY n`)
			if err != nil {
				t.Fatal(err)
			}
			i := 0
			for bin.Next() {
				var want any
				if typ == "float4" {
					var f float32
					err = bin.Scan(&f)
					want = f
				} else {
					var f float64
					err = bin.Scan(&f)
					want = f
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := value(t, rows[i], "v"); !sameValue(got, want) {
					t.Errorf("%s %q: Value %#v, pgx binary %#v", typ, text(t, rows[i], "v"), got, want)
				}
				i++
			}
			if bin.Err() != nil || i != len(rows) || i < 300 {
				t.Fatalf("%v: %d binary rows, %d text rows", bin.Err(), i, len(rows))
			}
		})
	}
}

// TestRowValueNumeric keeps every digit: the text is kept as is, Rat
// equals pgx's binary decoding, Float64 equals the server's cast.
func TestRowValueNumeric(t *testing.T) {
	o := setupOracle(t)
	table := o.sample("numeric", `SELECT unnest('{NaN,Infinity,-Infinity,0,-0.000,1.50,
		1234567890123456789012345678901234567890,0.0000000000000000000000000000000000000001,
		-99999999999999999999.99999999999999999999,0.1000000000000000055511151231257827,12345678901234567890}'::numeric[])
		UNION ALL SELECT 1e-100::numeric UNION ALL SELECT 1e300::numeric
		UNION ALL SELECT ((random()-0.5) * 10^(random()*40))::numeric(60,20) FROM generate_series(1,300)
		UNION ALL SELECT round((random()*10^(random()*40))::numeric, (random()*10)::int) FROM generate_series(1,300)`)
	rows := o.rows(`SELECT v, v::float8::text AS f FROM ` + table + ` ORDER BY n`)
	bin, err := o.conn.Query(t.Context(), `SELECT v FROM `+table+` ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for bin.Next() {
		var want pgtype.Numeric
		if err := bin.Scan(&want); err != nil {
			t.Fatal(err)
		}
		r := rows[i]
		i++
		s := text(t, r, "v")
		n, ok := value(t, r, "v").(pubsub.Numeric)
		if !ok {
			t.Fatalf("numeric %q: Value is %T", s, value(t, r, "v"))
		}
		if n.String() != s {
			t.Errorf("numeric: String %q, server %q", n.String(), s)
		}
		if n.IsNaN() != want.NaN || n.IsInf(1) != (want.InfinityModifier == pgtype.Infinity) || n.IsInf(-1) != (want.InfinityModifier == pgtype.NegativeInfinity) {
			t.Errorf("numeric %q: IsNaN %v IsInf %v/%v, pgx %+v", s, n.IsNaN(), n.IsInf(1), n.IsInf(-1), want)
		}
		rat, finite := n.Rat()
		if finite != (!want.NaN && want.InfinityModifier == pgtype.Finite) {
			t.Errorf("numeric %q: Rat finite %v", s, finite)
		}
		if finite {
			w := new(big.Rat).SetInt(want.Int)
			scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(want.Exp))), nil)
			if want.Exp >= 0 {
				w.Mul(w, new(big.Rat).SetInt(scale))
			} else {
				w.Quo(w, new(big.Rat).SetInt(scale))
			}
			if rat.Cmp(w) != 0 {
				t.Errorf("numeric %q: Rat %v, pgx binary %v", s, rat, w)
			}
		}
		f, err := strconv.ParseFloat(text(t, r, "f"), 64)
		if err != nil && !strings.Contains(text(t, r, "f"), "Infinity") && text(t, r, "f") != "NaN" {
			t.Fatal(err)
		}
		if got := n.Float64(); !sameValue(got, f) {
			t.Errorf("numeric %q: Float64 %v, server's float8 %v", s, got, f)
		}
		js, _ := n.MarshalJSON()
		if finite && string(js) != s || !finite && string(js) != strconv.Quote(s) {
			t.Errorf("numeric %q: MarshalJSON %s", s, js)
		}
	}
	if bin.Err() != nil || i != len(rows) || i < 600 {
		t.Fatalf("%v: %d binary rows, %d text rows", bin.Err(), i, len(rows))
	}
}

func abs(n int32) int32 {
	if n < 0 {
		return -n
	}
	return n
}

// TestRowValueBoolByteaJSON checks bool, bytea (against pgx's binary
// decoding) and json/jsonb (the exact text; jsonb 'null' is not SQL NULL).
func TestRowValueBoolByteaJSON(t *testing.T) {
	o := setupOracle(t)
	for _, r := range o.rows(`SELECT true AS t, false AS f, NULL::bool AS n`) {
		if value(t, r, "t") != true || value(t, r, "f") != false || value(t, r, "n") != nil {
			t.Errorf("bool: %v", r.Map())
		}
	}

	table := o.sample("bytea", `SELECT unnest(ARRAY['\x'::bytea, '\x00ff'::bytea, convert_to('emoji 😀 \ "', 'UTF8')])
		UNION ALL SELECT decode(string_agg(lpad(to_hex((random()*255)::int), 2, '0'), ''), 'hex') FROM generate_series(1,200) g, generate_series(1, 1 + (g * 7) % 40) k GROUP BY g`)
	rows := o.rows(`SELECT v FROM ` + table + ` ORDER BY n`)
	bin, err := o.conn.Query(t.Context(), `SELECT v FROM `+table+` ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for bin.Next() {
		var want []byte
		if err := bin.Scan(&want); err != nil {
			t.Fatal(err)
		}
		got, ok := value(t, rows[i], "v").([]byte)
		if !ok || hex.EncodeToString(got) != hex.EncodeToString(want) || got == nil {
			t.Errorf("bytea %q: Value %#v, pgx binary %#v", text(t, rows[i], "v"), got, want)
		}
		i++
	}
	if bin.Err() != nil || i != len(rows) || i < 150 {
		t.Fatalf("%v: %d binary rows, %d text rows", bin.Err(), i, len(rows))
	}

	docs := []string{`null`, `{"id":12345678901234567890}`, `0.1000000000000000055511151231257827`,
		`"\u00e9 😀 \" \\"`, `[1, 2, {"a": null}]`, `{"a" :  1,"b":[true,false]}`, `1e400`, `""`, `{}`}
	for _, typ := range []string{"json", "jsonb"} {
		var q []string
		for _, d := range docs {
			q = append(q, "SELECT "+quoteLiteral(d)+"::"+typ)
		}
		table := o.sample(typ, strings.Join(q, " UNION ALL "))
		for _, r := range o.rows(`SELECT v FROM ` + table + ` ORDER BY n`) {
			s := text(t, r, "v")
			got, ok := value(t, r, "v").(json.RawMessage)
			if !ok || string(got) != s || !json.Valid(got) {
				t.Errorf("%s %q: Value %#v", typ, s, value(t, r, "v"))
			}
		}
	}
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// TestRowValueDateTime checks dates and timestamps against the server's
// epoch and the ISO text, BC years, years past 9999, ±infinity and
// offsets with minutes and seconds included.
func TestRowValueDateTime(t *testing.T) {
	o := setupOracle(t)
	cases := []struct{ typ, values string }{
		{"date", `SELECT unnest('{infinity,-infinity,4713-01-01 BC,5874897-12-31,0044-03-15 BC,0001-01-01 BC,0001-01-01,2000-02-29,1999-12-31,10000-01-01}'::date[])
			UNION ALL SELECT '2000-01-01'::date + ((random()-0.5)*4000000)::int FROM generate_series(1,300)`},
		{"timestamp", `SELECT unnest('{infinity,-infinity,4713-01-01 00:00:00 BC,294276-12-31 23:59:59.999999,0044-03-15 12:00:00 BC,0001-12-31 23:59:59.5 BC,1970-01-01 00:00:00.000001,2024-02-29 13:34:56.5,9999-12-31 23:59:59.999999,10000-01-01 00:00:00}'::timestamp[])
			UNION ALL SELECT '2000-01-01'::timestamp + (random()-0.5) * interval '3000000 days' FROM generate_series(1,300)`},
		{"timestamptz", `SELECT unnest('{infinity,-infinity,4713-01-01 00:00:00+00 BC,294276-12-31 23:59:59.999999+00,0044-03-15 12:00:00+00 BC,2024-02-29 13:34:56.5+01,1970-01-01 00:00:00.000001+00}'::timestamptz[])
			UNION ALL SELECT '2000-01-01'::timestamptz + (random()-0.5) * interval '3000000 days' FROM generate_series(1,300)`},
	}
	check := func(t *testing.T, typ string, rows []*pubsub.Row) {
		t.Helper()
		for _, r := range rows {
			s := text(t, r, "v")
			switch got := value(t, r, "v").(type) {
			case pubsub.Infinity:
				if got.String() != s {
					t.Errorf("%s %q: Value %v", typ, s, got)
				}
			case time.Time:
				if f := formatPG(got, typ); f != s {
					t.Errorf("%s %q: Value %v prints as %q", typ, s, got, f)
				}
				epoch, ok := new(big.Rat).SetString(text(t, r, "epoch"))
				if !ok {
					t.Fatalf("epoch %q", text(t, r, "epoch"))
				}
				// The server's seconds since 2000-01-01 (its own epoch: the
				// extract from 1970 rounds near the end of its range).
				mine := new(big.Rat).Add(new(big.Rat).SetInt64(got.Unix()-946684800), big.NewRat(int64(got.Nanosecond()), 1e9))
				if mine.Cmp(epoch) != 0 {
					t.Errorf("%s %q: Value %v is %s s from the epoch, server says %s", typ, s, got, mine.FloatString(6), epoch.FloatString(6))
				}
				if typ != "timestamptz" && got.Location() != time.UTC {
					t.Errorf("%s %q: location %v", typ, s, got.Location())
				}
			default:
				t.Errorf("%s %q: Value is %T", typ, s, got)
			}
		}
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			table := o.sample(c.typ, c.values)
			check(t, c.typ, o.rows(`SELECT v, CASE WHEN isfinite(v) THEN `+since2000(c.typ)+` END AS epoch FROM `+table+` ORDER BY n`))
		})
	}
	// Offsets other than UTC's, seconds included (local mean time before
	// time zones), as a session with another TimeZone prints them.
	t.Run("offsets", func(t *testing.T) {
		table := o.sample("tz", `SELECT unnest('{1900-01-01 00:00:00+00,2024-07-01 12:00:00.25+00,0100-01-01 00:00:00+00 BC,1850-06-01 00:00:00+00}'::timestamptz[])
			UNION ALL SELECT '2000-01-01'::timestamptz + (random()-0.5) * interval '300000 days' FROM generate_series(1,100)`)
		for _, zone := range []string{"Asia/Kolkata", "America/St_Johns", "Europe/Amsterdam", "Pacific/Chatham", "America/Sao_Paulo"} {
			o.exec("SET TimeZone = " + quoteLiteral(zone))
			check(t, "timestamptz", o.rows(`SELECT v, `+since2000("timestamptz")+` AS epoch FROM `+table+` ORDER BY n`))
		}
		o.exec("SET TimeZone = 'UTC'")
	})
}

// since2000 is the SQL for the seconds from 2000-01-01 00:00 UTC to v, as
// exact numeric text.
func since2000(typ string) string {
	switch typ {
	case "date":
		return `((v - '2000-01-01'::date)::numeric * 86400)::text`
	case "timestamp":
		return `extract(epoch FROM v - '2000-01-01 00:00:00'::timestamp)::text`
	}
	return `extract(epoch FROM v - '2000-01-01 00:00:00+00'::timestamptz)::text`
}
