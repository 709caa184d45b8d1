package oracle

import (
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
)

// gen draws values from a seeded source. latin1 keeps every character
// storable in a LATIN1 database.
type gen struct {
	r      *rand.Rand
	latin1 bool
}

// valueType is a column type of the workload and the generator of its
// input texts.
type valueType struct {
	// sql is the type as a column definition spells it.
	sql string
	// gen returns an input text for a value of the type.
	gen func(g *gen) string
}

// pick returns one of the fixed inputs or, with probability 1/3 when
// random is set, random().
func (g *gen) pick(fixed []string, random func() string) string {
	if random != nil && g.r.Intn(3) == 0 {
		return random()
	}
	return fixed[g.r.Intn(len(fixed))]
}

func (g *gen) oneOf(s ...string) string { return s[g.r.Intn(len(s))] }

// text returns up to n characters mixing the awkward ones: quotes,
// backslashes, braces, commas, spaces, newlines, non-ASCII and emoji.
func (g *gen) text(n int) string {
	pieces := []string{"a", "b", "Z", "0", "'", "''", `"`, `\`, `\\`, "{", "}", ",", " ", "\n", "\t", "NULL", "é", "ü", "ß", "ÿ", "£",
		"🎉", "日本", "e\u0301", "\u00a0"}
	if g.latin1 {
		pieces = pieces[:len(pieces)-4]
		pieces = append(pieces, "\u00a0")
	}
	var b strings.Builder
	for range g.r.Intn(n + 1) {
		b.WriteString(pieces[g.r.Intn(len(pieces))])
	}
	return b.String()
}

// word returns a random lower-case word of 1 to n letters.
func (g *gen) word(n int) string {
	b := make([]byte, 1+g.r.Intn(n))
	for i := range b {
		b[i] = byte('a' + g.r.Intn(26))
	}
	return string(b)
}

// noise returns n characters of incompressible text.
func (g *gen) noise(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.Intn(len(alphabet))]
	}
	return string(b)
}

// hexBytes returns bytea's hex input for n random bytes.
func (g *gen) hexBytes(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 2, 2+2*n)
	copy(b, `\x`)
	for range n {
		v := g.r.Intn(256)
		b = append(b, digits[v>>4], digits[v&15])
	}
	return string(b)
}

func (g *gen) digits(n int) string {
	b := make([]byte, n)
	b[0] = byte('1' + g.r.Intn(9))
	for i := 1; i < n; i++ {
		b[i] = byte('0' + g.r.Intn(10))
	}
	return string(b)
}

func (g *gen) float64() string {
	f := g.r.NormFloat64() * math.Pow(10, float64(g.r.Intn(40)-20))
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func (g *gen) float32() string {
	f := float32(g.r.NormFloat64() * math.Pow(10, float64(g.r.Intn(20)-10)))
	return strconv.FormatFloat(float64(f), 'g', -1, 32)
}

func (g *gen) date() string {
	bc := g.r.Intn(6) == 0
	y := 1 + g.r.Intn(9999)
	if bc {
		y = 1 + g.r.Intn(4712) // the oldest timestamp is in 4713 BC
	}
	s := fmt.Sprintf("%04d-%02d-%02d", y, 1+g.r.Intn(12), 1+g.r.Intn(28))
	if bc {
		s += " BC"
	}
	return s
}

func (g *gen) clock() string {
	s := fmt.Sprintf("%02d:%02d:%02d", g.r.Intn(24), g.r.Intn(60), g.r.Intn(60))
	if g.r.Intn(2) == 0 {
		s += "." + strconv.Itoa(g.r.Intn(1000000))
	}
	return s
}

func (g *gen) offset() string {
	return g.oneOf("+00", "+05:30", "-03", "+14", "-09:30", "+01:02:03")
}

func (g *gen) timestamp() string {
	d := g.date()
	bc := strings.HasSuffix(d, " BC")
	d = strings.TrimSuffix(d, " BC")
	s := d + " " + g.clock()
	if bc {
		s += " BC"
	}
	return s
}

func (g *gen) timestamptz() string {
	s := g.timestamp()
	if bc := strings.HasSuffix(s, " BC"); bc {
		return strings.TrimSuffix(s, " BC") + g.offset() + " BC"
	}
	return s + g.offset()
}

// jsonText returns a JSON document with the numbers and escapes that
// float64 and encoding/json lose.
func (g *gen) jsonText(jsonb bool) string {
	escapes := []string{`\u00e9`, `\ud83c\udf89`, `\"`, `\\`, `\n`, `\u0041`, `\/`}
	if g.latin1 && jsonb {
		// jsonb decodes escapes into the database encoding.
		escapes = []string{`\u00e9`, `\"`, `\\`, `\n`, `\u0041`, `\/`}
	}
	fixed := []string{
		`null`, `"str"`, `12345678901234567890`, `true`, `[]`, `{}`,
		`{"id":12345678901234567890,"f":0.1000000000000000055511151231257827,"n":null}`,
		`[1, 2.50, -0, 1e400, -1.0E-7, 100000000000000000000000000001]`,
		` { "spaces" : [ true , false ] , "dup":1, "dup":2 } `,
	}
	return g.pick(fixed, func() string {
		return fmt.Sprintf(`{"k%d":"%s%s","n":%s,"big":%s,"a":[%s,null]}`, g.r.Intn(100),
			escapes[g.r.Intn(len(escapes))], g.word(5), g.float64(), g.digits(1+g.r.Intn(25)), g.float64())
	})
}

// valueTypes are the columns of the value tables: every built-in type
// family, with the inputs that break naive decoders.
func valueTypes() []valueType {
	return []valueType{
		{"smallint", func(g *gen) string {
			return g.pick([]string{"-32768", "32767", "0"}, func() string { return strconv.Itoa(g.r.Intn(65536) - 32768) })
		}},
		{"integer", func(g *gen) string {
			return g.pick([]string{"-2147483648", "2147483647"}, func() string { return strconv.Itoa(int(g.r.Int31()) - 1<<30) })
		}},
		{"bigint", func(g *gen) string {
			return g.pick([]string{"-9223372036854775808", "9223372036854775807"}, func() string { return strconv.FormatInt(g.r.Int63()-1<<62, 10) })
		}},
		{"numeric", func(g *gen) string {
			return g.pick([]string{"NaN", "Infinity", "-Infinity", "0", "-0.000", "0.1000000000000000055511151231257827",
				"1234567890123456789012345678901234567890", "-0.000000000000000000000000000000000000001", "1e-30", "12.3400"},
				func() string { return g.digits(1+g.r.Intn(40)) + "." + g.digits(1+g.r.Intn(20)) })
		}},
		{"numeric(12,4)", func(g *gen) string {
			return g.pick([]string{"NaN", "12345678.12345", "-0.00005", "1"}, func() string { return g.digits(1+g.r.Intn(7)) + "." + g.digits(4) })
		}},
		{"real", func(g *gen) string {
			return g.pick([]string{"NaN", "Infinity", "-Infinity", "-0", "1.4e-45", "3.4028235e+38", "0.1", "1e-40"}, g.float32)
		}},
		{"double precision", func(g *gen) string {
			return g.pick([]string{"NaN", "Infinity", "-Infinity", "-0", "5e-324", "2.2250738585072014e-308",
				"1.7976931348623157e+308", "0.30000000000000004", "0.1", "1e100"}, g.float64)
		}},
		{"text", func(g *gen) string {
			return g.pick([]string{"", "NULL", "null", `\N`, "'", `\`}, func() string { return g.text(12) })
		}},
		{"character varying(30)", func(g *gen) string { return g.text(8) }},
		{"character(5)", func(g *gen) string { return g.oneOf("ab", "", "abcde", "é ", " x") }},
		{"name", func(g *gen) string { return g.word(20) }},
		{"bytea", func(g *gen) string {
			return g.pick([]string{`\x`, `\x00`, `\x5c27`}, func() string { return g.hexBytes(g.r.Intn(40)) })
		}},
		{"boolean", func(g *gen) string { return g.oneOf("t", "f", "yes", "off") }},
		{"date", func(g *gen) string {
			return g.pick([]string{"infinity", "-infinity", "0044-03-15 BC", "2024-02-29", "4713-01-01 BC", "5874897-12-31"}, g.date)
		}},
		{"time", func(g *gen) string { return g.pick([]string{"00:00:00", "24:00:00", "23:59:59.999999"}, g.clock) }},
		{"time with time zone", func(g *gen) string {
			return g.pick([]string{"12:34:56.789+05:30", "00:00:00-15:59", "24:00:00+00"}, func() string { return g.clock() + g.offset() })
		}},
		{"timestamp", func(g *gen) string {
			return g.pick([]string{"infinity", "-infinity", "0044-03-15 12:00:00 BC", "2024-02-29 13:34:56.5", "1999-12-31 23:59:59.999999",
				"294276-12-31 23:59:59.999999"}, g.timestamp)
		}},
		{"timestamp with time zone", func(g *gen) string {
			return g.pick([]string{"infinity", "-infinity", "2024-02-29 13:34:56.5+05:30", "0001-01-01 00:00:00+00 BC",
				"1900-01-01 00:00:00+01:02:03"}, g.timestamptz)
		}},
		{"interval", func(g *gen) string {
			return g.pick([]string{"1 year 2 mons 3 days 04:05:06.789", "-1 days +02:00:00", "P1Y2M3DT4H5M6.5S", "178000000 years",
				"1 mon -1 day", "00:00:00", "-00:00:00.000001", "@ 1 minute ago"},
				func() string {
					return fmt.Sprintf("%d years %d mons %d days %d:%02d:%02d.%d", g.r.Intn(200)-100, g.r.Intn(24)-12, g.r.Intn(60)-30,
						g.r.Intn(100), g.r.Intn(60), g.r.Intn(60), g.r.Intn(1000000))
				})
		}},
		{"json", func(g *gen) string { return g.jsonText(false) }},
		{"jsonb", func(g *gen) string { return g.jsonText(true) }},
		{"uuid", func(g *gen) string { return g.uuid() }},
		{"uuid[]", func(g *gen) string {
			return g.pick([]string{"{}", "{NULL}"}, func() string { return "{" + g.uuid() + ",NULL," + strings.ToUpper(g.uuid()) + "}" })
		}},
		{"integer[]", func(g *gen) string {
			return g.pick([]string{"{{1,2},{3,NULL}}", "[0:2]={7,8,9}", "[-3:-2][1:2]={{1,2},{3,4}}", "{}", "{NULL}",
				"{{{1},{2}},{{3},{4}}}"}, func() string { return fmt.Sprintf("{%d,%d}", g.r.Int31(), -g.r.Int31()) })
		}},
		{"text[]", func(g *gen) string {
			return g.pick([]string{`{"a\"b","c,d",NULL,"NULL",""," x "}`, `{{a,b},{c,d}}`, `[2:3]={é,"\\"}`, `{}`},
				func() string { return `{"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(g.text(6)) + `"}` })
		}},
		{"double precision[]", func(g *gen) string { return g.oneOf("{NaN,-0,5e-324,Infinity}", "{{1.5,-Infinity},{0.1,NULL}}") }},
		{"numeric[]", func(g *gen) string { return g.oneOf("{NaN,1.000,-Infinity}", "{12345678901234567890.5}") }},
		{"boolean[]", func(g *gen) string { return g.oneOf("{t,f,NULL}", "{}") }},
		{"bytea[]", func(g *gen) string { return g.oneOf(`{"\\x00ff",NULL,"\\x"}`, "{}") }},
		{"interval[]", func(g *gen) string { return g.oneOf(`{"1 day","-00:00:01",NULL}`, "{}") }},
		{"timestamp with time zone[]", func(g *gen) string { return g.oneOf(`{infinity,"2024-02-29 12:00:00+00",NULL}`, "{}") }},
		{"jsonb[]", func(g *gen) string { return g.oneOf(`{"{\"a\": 12345678901234567890}",null,"null"}`, "{}") }},
		{"mood", func(g *gen) string { return g.oneOf("sad", "ok", "happy", "it's", "with space") }},
		{"mood[]", func(g *gen) string { return g.oneOf(`{sad,"it's","with space",NULL}`, "{}") }},
		{"posint", func(g *gen) string { return strconv.Itoa(1 + g.r.Intn(1000000)) }},
		{"short_text", func(g *gen) string { return g.text(5) }},
		{"pair", func(g *gen) string {
			return g.pick([]string{`(1,"x y",NaN)`, `(,,)`, `(2,"q""uote",-0)`, `(3,"",1e-300)`},
				func() string { return fmt.Sprintf(`(%d,%s,%s)`, g.r.Int31(), g.word(6), g.float64()) })
		}},
		{"pair[]", func(g *gen) string { return g.oneOf(`{"(1,a,0)",NULL,"(,,)"}`, "{}") }},
		{"int4range", func(g *gen) string { return g.oneOf("[1,5)", "empty", "(,)", "[3,3]", "(1,2]", "[-10,)") }},
		{"numrange", func(g *gen) string {
			return g.oneOf("[1.5,2.25)", "(,)", "[0.1000000000000000055511151231257827,1)", "empty")
		}},
		{"tstzrange", func(g *gen) string {
			return g.oneOf(`[2024-01-01 00:00+00,infinity)`, `["2024-02-29 12:00:00+05:30","2024-03-01 00:00:00+00"]`, "empty")
		}},
		{"daterange", func(g *gen) string { return g.oneOf("[2024-01-01,2024-02-01)", "[2024-01-01,2024-01-01]", "(,)") }},
		{"tsrange", func(g *gen) string { return g.oneOf(`["2024-01-01 00:00","2024-01-02 00:00")`, "(,)") }},
		{"int4multirange", func(g *gen) string { return g.oneOf("{[1,3),[5,7)}", "{}", "{[1,3),[2,8)}") }},
		{"inet", func(g *gen) string {
			return g.oneOf("192.168.0.1/24", "::1", "2001:db8::1/64", "10.0.0.1", "::ffff:1.2.3.4")
		}},
		{"cidr", func(g *gen) string { return g.oneOf("10.0.0.0/8", "2001:db8::/32", "192.168.1") }},
		{"macaddr", func(g *gen) string { return g.oneOf("08:00:2b:01:02:03", "08-00-2B-01-02-03") }},
		{"macaddr8", func(g *gen) string { return g.oneOf("08:00:2b:01:02:03:04:05", "08002b010203") }},
		{"money", func(g *gen) string { return g.oneOf("12.34", "-0.01", "92233720368547758.07", "0") }},
		{"tsvector", func(g *gen) string { return g.oneOf("a fat cat:1A,2B sat", "'quoted word' 'it''s' é", "") }},
		{"tsquery", func(g *gen) string { return g.oneOf("fat & (rat | cat)", "!a <-> b", "'x y':*") }},
		{`"char"`, func(g *gen) string { return g.oneOf("a", "z", "'", `"`, `\`, " ") }},
		{"xml", func(g *gen) string {
			return g.oneOf(`<a b="1">x &amp; y</a>`, "<r/>", "text only", `<?xml version="1.0"?><r>é</r>`, "<a>'</a><b/>")
		}},
		{"bit(8)", func(g *gen) string { return g.oneOf("10101010", "00000000", "11111111") }},
		{"bit varying", func(g *gen) string { return g.oneOf("", "1", "101100") }},
		{"pg_lsn", func(g *gen) string { return g.oneOf("16/B374D848", "0/0", "FFFFFFFF/FFFFFFFF") }},
		{"oid", func(g *gen) string { return g.oneOf("0", "4294967295", "1259") }},
		{"point", func(g *gen) string {
			return g.oneOf("(1.5,-2)", "(0.1,0.30000000000000004)", "(NaN,Infinity)", "(-0,1e-320)")
		}},
		{"box", func(g *gen) string { return g.oneOf("(1,1),(0,0)", "(0.1,0.2),(-0.3,-0.4)") }},
		{"circle", func(g *gen) string { return g.oneOf("<(0,0),1.5>", "<(0.1,-0.2),1e-10>") }},
	}
}

func (g *gen) uuid() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(g.r.Intn(256))
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
