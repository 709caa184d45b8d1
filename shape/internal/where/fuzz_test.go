package where_test

import (
	"errors"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// FuzzParse checks that Parse never panics, fails only with an *Error of
// a known kind at a position inside the text, and that a parsed clause
// renders to text that parses to the same rendering (the round trip the
// SQL form relies on). Accepted clauses are also bound and evaluated on
// an all-NULL row, which must not panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"tx = 'open'", "i4 = $1 AND tx <> 'x'", "NOT (b) OR i8 IN (1, 2, -3)", "n BETWEEN 1.5 AND 1e3",
		"tx NOT LIKE 'a!%%' ESCAPE '!'", "tx ILIKE $2", "i4 IS NOT NULL AND (b IS TRUE) IS NOT FALSE",
		"ai @> $1", "$1 = ANY(atx)", "i4 = ANY('{1,2}')", `"Mixed Case" = 1`, "f8 > 'NaN'",
		"lower(tx) = 'a'", "i4::text = '1'", "a = 1; b", "x -- c", "'unterminated", "((((i4 = 1))))",
	} {
		f.Add(s)
	}
	cols := oracleColumns()
	layout, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "i4", OID: 23}})
	if err != nil {
		f.Fatal(err)
	}
	nullRow, err := pubsub.NewRow(layout, []pubsub.Cell{{State: pubsub.Null}})
	if err != nil {
		f.Fatal(err)
	}
	params := []string{"1", "{1}", "x", "1.5"}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := where.Parse(src)
		if err != nil {
			var we *where.Error
			if !errors.As(err, &we) || !(errors.Is(err, where.ErrSyntax) || errors.Is(err, where.ErrUnsupported)) {
				t.Fatalf("Parse(%q): %v is not a syntax or unsupported *Error", src, err)
			}
			if we.Pos < 0 || we.Pos > len(src) {
				t.Fatalf("Parse(%q): position %d outside the text", src, we.Pos)
			}
			return
		}
		text := e.String()
		e2, err := where.Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) rendered %q, which does not parse: %v", src, text, err)
		}
		if again := e2.String(); again != text {
			t.Fatalf("round trip of %q: %q then %q", src, text, again)
		}
		p, err := where.Bind(e, cols, params)
		if err != nil {
			if !errors.As(err, new(*where.Error)) {
				t.Fatalf("Bind(%q): %v is not an *Error", src, err)
			}
			return
		}
		_, _ = p.Eval(nullRow)
		sql, _ := p.SQL(func(s string) string { return `"` + s + `"` }, 1)
		if _, err := where.Parse(sql); err != nil && !errors.Is(err, where.ErrSyntax) {
			t.Fatalf("SQL %q of %q does not parse: %v", sql, src, err)
		}
		// The normal text, parameters substituted, binds to itself.
		norm := p.Normal()
		if e3, err := where.Parse(norm); err != nil {
			t.Fatalf("Normal %q of %q does not parse: %v", norm, src, err)
		} else if p3, err := where.Bind(e3, cols, nil); err == nil && p3.Normal() != norm {
			t.Fatalf("Normal of %q: %q, then %q", src, norm, p3.Normal())
		}
	})
}

// FuzzEval evaluates a fixed set of predicates on rows of fuzzed texts:
// it must not panic, and Eval and Holds must agree.
func FuzzEval(f *testing.F) {
	for _, s := range [][2]string{{"1", "open"}, {"-0", "a%b"}, {"NaN", ""}, {"{1,NULL}", `{"a\"b"}`}, {"2024-02-29", "é"}} {
		f.Add(s[0], s[1])
	}
	cols := []where.Column{{Name: "a", OID: 1700}, {Name: "b", OID: 25, Collation: "C"}, {Name: "ai", OID: 1007}, {Name: "d", OID: 1184}}
	var preds []*where.Pred
	for _, c := range []string{"a > 1.5 AND b LIKE 'a%'", "b ILIKE '%B_' OR a = 'NaN'", "ai @> '{1}'", "7 = ANY(ai)", "d < '2024-01-01 00:00:00+00'", "b BETWEEN 'a' AND 'b'"} {
		e, err := where.Parse(c)
		if err != nil {
			f.Fatal(err)
		}
		p, err := where.Bind(e, cols, nil)
		if err != nil {
			f.Fatal(err)
		}
		preds = append(preds, p)
	}
	layout, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "a", OID: 1700}, {Name: "b", OID: 25}, {Name: "ai", OID: 1007}, {Name: "d", OID: 1184}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, x, y string) {
		r, err := pubsub.NewRow(layout, []pubsub.Cell{{State: pubsub.Present, Text: []byte(x)}, {State: pubsub.Present, Text: []byte(y)},
			{State: pubsub.Present, Text: []byte(x)}, {State: pubsub.Present, Text: []byte(x)}})
		if err != nil {
			return
		}
		for _, p := range preds {
			tr, err := p.Eval(r)
			holds, herr := p.Holds(r)
			if (err == nil) != (herr == nil) || err == nil && holds != (tr == where.True) {
				t.Fatalf("%s on %q %q: Eval %v %v, Holds %v %v", p.Normal(), x, y, tr, err, holds, herr)
			}
		}
	})
}
