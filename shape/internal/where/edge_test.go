package where_test

import (
	"strconv"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// TestEdgeClausesMatchPostgres compares Eval with the server on clauses
// the random generator does not write: NULL constants in every position,
// constant conditions, empty arrays, escapes, multi-dimensional arrays.
func TestEdgeClausesMatchPostgres(t *testing.T) {
	conn := connect(t)
	exec(t, conn, oracleTable)
	id := 0
	for _, i4 := range []string{"NULL", "'7'", "'-1'"} {
		for _, tx := range []string{"NULL", "'a%b'", "'open'", `'a\b'`, "''"} {
			for _, ai := range []string{"NULL", "'{}'", "'{7,NULL}'", "'{{1,2},{3,7}}'"} {
				id++
				exec(t, conn, "INSERT INTO t (id, i4, tx, ai, c, f8, n, b) VALUES ("+strconv.Itoa(id)+", "+i4+", "+tx+", "+ai+
					", "+tx+", "+[]string{"'NaN'", "'-0'", "NULL"}[id%3]+", "+[]string{"'-0.000'", "'NaN'", "NULL", "'1e-30'"}[id%4]+", "+[]string{"NULL", "true", "false"}[id%3]+")")
			}
		}
	}
	rows := loadRows(t, conn)
	counts := map[where.Tri]int{}
	for _, c := range []struct {
		clause string
		params []string
	}{
		{"TRUE", nil}, {"FALSE", nil}, {"NULL", nil}, {"NOT NULL", nil}, {"NULL IS NULL", nil},
		{"i4 = NULL", nil}, {"i4 <> NULL OR TRUE", nil}, {"i4 IN (NULL)", nil}, {"i4 NOT IN (7, NULL)", nil},
		{"i4 IN (7, NULL)", nil}, {"i4 BETWEEN NULL AND 10", nil}, {"i4 NOT BETWEEN NULL AND 0", nil},
		{"tx LIKE NULL", nil}, {"tx LIKE 'a' ESCAPE NULL", nil}, {"NULL = ANY(ai)", nil}, {"ai @> NULL", nil},
		{"ai @> '{}'", nil}, {"ai @> '{NULL}'", nil}, {"ai @> '{{7}}'", nil}, {"7 = ANY(ai)", nil}, {"3 = ANY(ai)", nil},
		{"i4 = ANY(NULL)", nil}, {"i4 = ANY('{}')", nil}, {"i4 = ANY('{7,NULL}')", nil}, {"i4 = ANY($1)", []string{"{NULL}"}},
		{"tx LIKE '%'", nil}, {"tx LIKE ''", nil}, {`tx LIKE 'a\\b'`, nil}, {`tx LIKE 'a\b' ESCAPE ''`, nil},
		{`tx LIKE 'a\%b'`, nil}, {"tx LIKE 'a#%b' ESCAPE '#'", nil}, {"tx LIKE '_%_'", nil}, {"tx ILIKE 'OPEN'", nil},
		{"c LIKE 'open'", nil}, {"c LIKE 'open%'", nil}, {"c = 'open   '", nil}, {"c < 'b'", nil},
		{"f8 = 'NaN'", nil}, {"f8 > 'Infinity'", nil}, {"f8 = 0", nil}, {"f8 = '-0'", nil}, {"f8 IN ('NaN', 0)", nil},
		{"n = 0", nil}, {"n = 'NaN'", nil}, {"n > 'Infinity'", nil}, {"n > 1e-31", nil}, {"n = 0.000000000000000000000000000001", nil},
		{"b", nil}, {"NOT b", nil}, {"b IS UNKNOWN", nil}, {"b IS NOT FALSE", nil}, {"(i4 = 7) IS NULL", nil},
		{"(i4 = 7 AND b) IS NOT TRUE", nil}, {"NOT (i4 = 7 OR tx = 'open')", nil}, {"i4 = 7.0", nil}, {"i4 < 7.5", nil},
		{"i4 = 99999999999999999999", nil}, {"i4 > -99999999999999999999", nil},
	} {
		e, err := where.Parse(c.clause)
		if err != nil {
			t.Fatalf("%q: %v", c.clause, err)
		}
		p, err := where.Bind(e, oracleColumns(), c.params)
		if err != nil {
			t.Fatalf("%q: %v", c.clause, err)
		}
		compareWithServer(t, conn, p, c.clause, c.params, rows, counts)
	}
	t.Logf("PostgreSQL answered %v", counts)
}
