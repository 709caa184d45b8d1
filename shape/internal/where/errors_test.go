package where_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// TestRefused checks that each unsupported construct, unknown column,
// mismatched type and bad parameter is refused with the right sentinel,
// the construct's name and its byte position.
func TestRefused(t *testing.T) {
	cols := append(oracleColumns(),
		where.Column{Name: "Mixed Case", OID: 23},
		where.Column{Name: "nd", OID: 25, Collation: "und-ci", Nondeterministic: true},
		where.Column{Name: "en", OID: 25, Collation: "en_US"},
		where.Column{Name: "js", OID: 3802})
	cases := []struct {
		clause    string
		params    []string
		kind      error
		construct string // a substring of Error.Construct
		pos       int
	}{
		// Syntax.
		{"", nil, where.ErrSyntax, "end of clause", 0},
		{"i4 =", nil, where.ErrSyntax, "end of clause", 4},
		{"i4 = 1 i8 = 2", nil, where.ErrSyntax, "I8", 7},
		{"(i4 = 1", nil, where.ErrSyntax, "end of clause", 7},
		{"i4 = 1 = 2", nil, where.ErrSyntax, "operator =", 7},
		{"tx = 'open", nil, where.ErrSyntax, "string", 5},
		{`"unterminated = 1`, nil, where.ErrSyntax, "quoted identifier", 0},
		{"i4 = $0", nil, where.ErrSyntax, "$0", 5},
		{"i4 = 12abc", nil, where.ErrSyntax, "number", 5},
		{"i4 IS MAYBE", nil, where.ErrSyntax, "MAYBE", 6},
		{"and = 1", nil, where.ErrSyntax, "AND", 0},
		// Unsupported constructs.
		{"lower(tx) = 'a'", nil, where.ErrUnsupported, "function call lower", 0},
		{"i4::text = '1'", nil, where.ErrUnsupported, "type cast", 2},
		{"i4 = 1; DROP TABLE t", nil, where.ErrUnsupported, "semicolon", 6},
		{"i4 = 1 -- comment", nil, where.ErrUnsupported, "comment", 7},
		{"i4 = /* c */ 1", nil, where.ErrUnsupported, "comment", 5},
		{"i4 + 1 = 2", nil, where.ErrUnsupported, "operator +", 3},
		{"i4 = 1 * 2", nil, where.ErrUnsupported, "operator *", 7},
		{"tx || 'a' = 'b'", nil, where.ErrUnsupported, "operator ||", 3},
		{"tx ~ 'a'", nil, where.ErrUnsupported, "operator ~", 3},
		{"tx = E'a'", nil, where.ErrUnsupported, "prefixed string", 5},
		{"tx = $$a$$", nil, where.ErrUnsupported, "dollar-quoted", 5},
		{"i4 IN (SELECT 1)", nil, where.ErrUnsupported, "subquery", 7},
		{"EXISTS (SELECT 1)", nil, where.ErrUnsupported, "EXISTS", 0},
		{"CASE WHEN b THEN 1 END = 1", nil, where.ErrUnsupported, "CASE", 0},
		{"tx COLLATE \"C\" < 'a'", nil, where.ErrUnsupported, "COLLATE", 3},
		{"tx SIMILAR TO 'a'", nil, where.ErrUnsupported, "SIMILAR TO", 3},
		{"i4 IS DISTINCT FROM 1", nil, where.ErrUnsupported, "IS DISTINCT FROM", 6},
		{"i4 < ALL($1)", []string{"{1}"}, where.ErrUnsupported, "ALL", 5},
		{"i4 < ANY($1)", []string{"{1}"}, where.ErrUnsupported, "< ANY", 3},
		{"ai @> ARRAY[1]", nil, where.ErrUnsupported, "brackets", 11},
		{"ai[1] = 1", nil, where.ErrUnsupported, "brackets", 2},
		{"t.i4 = 1", nil, where.ErrUnsupported, "qualified name", 1},
		{"i4 BETWEEN SYMMETRIC 1 AND 2", nil, where.ErrUnsupported, "SYMMETRIC", 11},
		{"d = date '2024-01-01'", nil, where.ErrUnsupported, "typed literal", 4},
		{"-i4 = 1", nil, where.ErrUnsupported, "unary -", 0},
		{"(i4, i8) = (1, 2)", nil, where.ErrUnsupported, "row constructor", 3},
		{"d < CURRENT_DATE", nil, where.ErrUnsupported, "CURRENT_DATE", 4},
		{"i4 = i8", nil, where.ErrUnsupported, "column \"i8\"", 5},
		{"1 = 1", nil, where.ErrUnsupported, "number 1", 0},
		{"js = '{}'", nil, where.ErrUnsupported, "column \"js\"", 0},
		{"ai = '{1}'", nil, where.ErrUnsupported, "array column", 0},
		// Unknown columns (quoted names keep their case).
		{"nope = 1", nil, where.ErrUnknownColumn, `column "nope"`, 0},
		{"i4 = 1 AND \"I4\" = 2", nil, where.ErrUnknownColumn, `column "I4"`, 11},
		{"\"Mixed Case\" = 1 AND Mixed = 2", nil, where.ErrUnknownColumn, `column "mixed"`, 21},
		// Type mismatches and what cannot be matched exactly.
		{"tx = 5", nil, where.ErrType, "number 5", 5},
		{"b = 1", nil, where.ErrType, "number 1", 4},
		{"i4 = TRUE", nil, where.ErrType, "true", 5},
		{"i4 = 'x'", nil, where.ErrType, "string 'x'", 5},
		{"i2 = '40000'", nil, where.ErrType, "string '40000'", 5},
		{"u = 'not-a-uuid'", nil, where.ErrType, "string", 4},
		{"e = 'happy'", nil, where.ErrType, "string 'happy'", 4},
		{"i4", nil, where.ErrType, `column "i4"`, 0},
		{"'x'", nil, where.ErrType, "string 'x'", 0},
		{"(i4 = 1) = TRUE", nil, where.ErrType, "operator =", 1},
		{"i4 LIKE '1%'", nil, where.ErrType, "LIKE on column \"i4\"", 0},
		{"v < 'b'", nil, where.ErrType, `operator < on column "v"`, 0},
		{"en BETWEEN 'a' AND 'b'", nil, where.ErrType, `BETWEEN on column "en"`, 0},
		{"v ILIKE 'a%'", nil, where.ErrType, `ILIKE on column "v"`, 0},
		{"nd = 'a'", nil, where.ErrType, `column "nd"`, 0},
		{"tx LIKE 'ab\\'", nil, where.ErrType, "string", 8},
		{"tx LIKE 'a' ESCAPE 'ab'", nil, where.ErrType, "string", 8},
		{"i4 @> '{1}'", nil, where.ErrType, `column "i4"`, 0},
		{"1 = ANY(i4)", nil, where.ErrType, `column "i4"`, 8},
		{"ts = '2024-01-01 00:00:00+02'", nil, where.ErrType, "string", 5},
		{"tz = '2024-01-01 00:00:00'", nil, where.ErrType, "string", 5},
		{"d = '01/02/2024'", nil, where.ErrType, "string", 4},
		// Parameters.
		{"i4 = $2", []string{"1"}, where.ErrParam, "parameter $2", 5},
		{"i4 = $1", []string{"1.5"}, where.ErrParam, "parameter $1", 5},
		{"i2 = $1", []string{"40000"}, where.ErrParam, "parameter $1", 5},
		{"f8 = $1", []string{"1e400"}, where.ErrParam, "parameter $1", 5},
		{"n = $1", []string{"abc"}, where.ErrParam, "parameter $1", 4},
		{"b = $1", []string{"maybe"}, where.ErrParam, "parameter $1", 4},
		{"ai @> $1", []string{"{1,x}"}, where.ErrParam, "parameter $1", 6},
		{"ai @> $1", []string{"1,2"}, where.ErrParam, "parameter $1", 6},
		{"i4 = ANY($1)", []string{"{1,"}, where.ErrParam, "parameter $1", 9},
		{"d = $1", []string{"2024-02-30"}, where.ErrParam, "parameter $1", 4},
		{"tz = $1", []string{"2024-02-01 00:00:00"}, where.ErrParam, "parameter $1", 5},
	}
	for _, c := range cases {
		e, err := where.Parse(c.clause)
		if err == nil {
			_, err = where.Bind(e, cols, c.params)
		}
		var we *where.Error
		switch {
		case err == nil:
			t.Errorf("%q: accepted", c.clause)
		case !errors.Is(err, c.kind) || !errors.As(err, &we):
			t.Errorf("%q: %v, want %v", c.clause, err, c.kind)
		case !strings.Contains(we.Construct, c.construct) || we.Pos != c.pos:
			t.Errorf("%q: construct %q at %d, want %q at %d (%v)", c.clause, we.Construct, we.Pos, c.construct, c.pos, err)
		case !strings.Contains(err.Error(), we.Construct) || we.Msg == "":
			t.Errorf("%q: message %q does not name the construct", c.clause, err)
		}
	}
}

// TestBadParamsRefusedByServer checks that parameter texts Bind refuses
// for a type are refused by PostgreSQL's input function too, and that the
// accepted spellings of the oracle test's pools mean the same there.
func TestBadParamsRefusedByServer(t *testing.T) {
	conn := connect(t)
	for _, c := range []struct{ typ, text string }{
		{"int4", "1.5"}, {"int2", "40000"}, {"int8", "9223372036854775808"}, {"float8", "1e400"},
		{"float4", "1e39"}, {"float8", "1e-400"}, {"numeric", "abc"}, {"numeric", "1e"}, {"bool", "maybe"},
		{"uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"}, {"date", "2024-02-30"}, {"int4[]", "{1,x}"},
		{"int4[]", "1,2"}, {"int4[]", "{{1},2}"}, {"text[]", `{"a}`},
	} {
		e, _ := where.Parse("x = $1")
		typ := strings.TrimSuffix(c.typ, "[]")
		oid := map[string]uint32{"int4": 23, "int2": 21, "int8": 20, "float8": 701, "float4": 700, "numeric": 1700, "bool": 16, "uuid": 2950, "date": 1082, "text": 25}[typ]
		if strings.HasSuffix(c.typ, "[]") {
			e, _ = where.Parse("x = ANY($1)")
		}
		if _, err := where.Bind(e, []where.Column{{Name: "x", OID: oid, Collation: "C"}}, []string{c.text}); !errors.Is(err, where.ErrParam) {
			t.Errorf("%s %q: Bind gave %v", c.typ, c.text, err)
		}
		var s string
		if err := conn.QueryRow(t.Context(), "SELECT $1::text::"+c.typ+"::text", c.text).Scan(&s); err == nil {
			t.Errorf("%s %q: the server accepts it as %q", c.typ, c.text, s)
		}
	}
}
