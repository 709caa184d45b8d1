package where_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// pinnedSettings are the output settings the WAL source pins.
const pinnedSettings = `SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3;
SET bytea_output = hex; SET TimeZone = 'UTC'; SET client_encoding = UTF8`

// oracleTable is the table the semantics tests evaluate on: one column
// per supported type, with the collations the Column descriptions give.
const oracleTable = `CREATE TYPE mood AS ENUM ('zeta', 'alpha', 'mid');
CREATE TABLE t (
	id int PRIMARY KEY,
	i2 int2, i4 int4, i8 int8, n numeric, f4 float4, f8 float8,
	tx text COLLATE "C", v varchar(20), c char(5) COLLATE "C", b bool, u uuid,
	d date, ts timestamp, tz timestamptz, e mood,
	ai int4[], atx text[] COLLATE "C", an numeric[], af float8[], ae mood[], au uuid[], ad date[], ac char(3)[]
)`

// enumLabels are mood's labels in sort order (not alphabetical).
var enumLabels = []string{"zeta", "alpha", "mid"}

// oracleColumns describes t as a caller resolves it.
func oracleColumns() []where.Column {
	return []where.Column{
		{Name: "id", OID: 23}, {Name: "i2", OID: 21}, {Name: "i4", OID: 23}, {Name: "i8", OID: 20},
		{Name: "n", OID: 1700}, {Name: "f4", OID: 700}, {Name: "f8", OID: 701},
		{Name: "tx", OID: 25, Collation: "C"}, {Name: "v", OID: 1043}, {Name: "c", OID: 1042, Collation: "C"},
		{Name: "b", OID: 16}, {Name: "u", OID: 2950}, {Name: "d", OID: 1082}, {Name: "ts", OID: 1114},
		{Name: "tz", OID: 1184}, {Name: "e", OID: 25, EnumLabels: enumLabels},
		{Name: "ai", OID: 1007}, {Name: "atx", OID: 1009, Collation: "C"}, {Name: "an", OID: 1231},
		{Name: "af", OID: 1022}, {Name: "ae", OID: 1009, EnumLabels: enumLabels}, {Name: "au", OID: 2951},
		{Name: "ad", OID: 1182}, {Name: "ac", OID: 1014, Collation: "C"},
	}
}

// pool holds, per column, values as SQL texts: for rows (cast by the
// INSERT) and for parameters and literals of clauses.
var pool = map[string][]string{
	"i2": {"0", "1", "-1", "32767", "-32768", "7", "42"},
	"i4": {"0", "1", "-1", "2147483647", "-2147483648", "7", "42"},
	"i8": {"0", "1", "-1", "9223372036854775807", "-9223372036854775808", "7", "42"},
	"n": {"0", "-0", "1", "1.0", "1.5", "-1.5", "1e-30", "0.000000000000000000000000000001", "NaN", "Infinity", "-Infinity",
		"1234567890123456789012345678901234567890", "1234567890123456789012345678901234567890.5", "-1234567890123456789012345678901234567890", "42", "7.00"},
	"f4":  {"0", "-0", "1", "0.1", "1.5", "NaN", "Infinity", "-Infinity", "1e-30", "3.4028235e38", "42", "-7.25"},
	"f8":  {"0", "-0", "1", "0.1", "0.30000000000000004", "1.5", "NaN", "Infinity", "-Infinity", "1e-30", "1e308", "42", "-7.25"},
	"tx":  {"open", "Open", "OPEN", "", "a%b", "a_b", `a\b`, "it's", "é", "É", "école", "zz", "abc  ", "ß", "closed", "o"},
	"v":   {"open", "Open", "", "a%b", "a_b", `a\b`, "é", "abc  ", "closed"},
	"c":   {"open", "Open", "", "ab", "ab  ", "a_b", "é", "zz"},
	"b":   {"true", "false"},
	"u":   {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12"},
	"d":   {"2024-02-29", "1970-01-01", "1969-12-31", "infinity", "-infinity", "0044-03-15 BC", "2000-01-01"},
	"ts":  {"2024-02-29 13:34:56.5", "1970-01-01 00:00:00", "1969-12-31 23:59:59.999999", "infinity", "-infinity", "2000-01-01 00:00:00", "0044-03-15 12:00:00 BC"},
	"tz":  {"2024-02-29 13:34:56.5+00", "2024-02-29 14:34:56.5+01", "1970-01-01 00:00:00+00", "infinity", "-infinity", "2000-01-01 05:30:00+05:30", "1999-12-31 23:59:59Z"},
	"e":   {"zeta", "alpha", "mid"},
	"ai":  {"{}", "{1,2,3}", "{42}", "{7,NULL}", "{{1,2},{3,4}}", "{-1,0}"},
	"atx": {"{}", `{open,closed}`, `{"a b",it's}`, `{Open}`, `{NULL,open}`, `{é,"a\\b"}`},
	"an":  {"{}", "{1.0,NaN}", "{1.5,-0}", "{Infinity}", "{1e-30,42}"},
	"af":  {"{}", "{NaN,1}", "{-0,Infinity}", "{0.1}", "{1.5,NULL}"},
	"ae":  {"{}", "{zeta,mid}", "{alpha}", "{NULL}"},
	"au":  {"{}", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "{00000000-0000-0000-0000-000000000000,NULL}"},
	"ad":  {"{}", "{2024-02-29,infinity}", "{1970-01-01}"},
	"ac":  {"{}", `{"ab ",x}`, `{ab}`, `{"a  "}`},
}

// params adds spellings a caller may pass for parameters (PostgreSQL's
// input functions accept them).
var paramVariants = map[string][]string{
	"i2": {" 7 ", "+7"}, "i4": {" 42", "+1"}, "i8": {"-0", " 7"},
	"n":  {"1e3", " 1.50 ", "nan", "-inf", "+1.5", ".5"},
	"f4": {"nan", "-inf", " 1.5 ", "1e-30"}, "f8": {"nan", "+Infinity", "1E2"},
	"b": {"t", "yes", "off", "0", " TRUE "}, "u": {"{a0eebc999c0b4ef8bb6d6bb9bd380a11}", "a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11"},
	"d": {"+infinity"}, "ts": {"2024-02-29T13:34:56.5"}, "tz": {"2024-02-29T13:34:56.5Z", "2024-02-29 09:34:56.5-04"},
}

var scalarCols = []string{"i2", "i4", "i8", "n", "f4", "f8", "tx", "v", "c", "b", "u", "d", "ts", "tz", "e"}
var arrayCols = map[string]string{"ai": "i4", "atx": "tx", "an": "n", "af": "f8", "ae": "e", "au": "u", "ad": "d", "ac": "c"}
var numericCols = map[string]bool{"i2": true, "i4": true, "i8": true, "n": true, "f4": true, "f8": true}
var likePatterns = []string{"op%", "%en", "_pen", "O%", `a\%b`, "a!%b", "%", "", "a_b", `%\\%`, "é%", "É%", "%s", "ab%", "ab  ", "a%", "%b%", "ÉCOLE", "o__n"}

// gen builds random clauses and their parameters.
type gen struct {
	r      *rand.Rand
	params []string
}

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

// value returns a constant for column col: a parameter, a string literal
// or, for numeric columns, a numeric literal.
func (g *gen) value(col string) string {
	vals := pool[col]
	if vs, ok := paramVariants[col]; ok && g.r.IntN(3) == 0 {
		vals = vs
	}
	v := g.pick(vals)
	switch n := g.r.IntN(10); {
	case n < 5:
		g.params = append(g.params, v)
		return "$" + strconv.Itoa(len(g.params))
	case n < 8 || !numericCols[col]:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	if _, err := strconv.ParseFloat(v, 64); err != nil || strings.ContainsAny(v, " +") || strings.ContainsAny(v, "nN") {
		return "42"
	}
	return v
}

func (g *gen) cond(depth int) string {
	if depth > 0 && g.r.IntN(3) == 0 {
		switch g.r.IntN(4) {
		case 0:
			return "(" + g.cond(depth-1) + " AND " + g.cond(depth-1) + ")"
		case 1:
			return "(" + g.cond(depth-1) + " OR " + g.cond(depth-1) + ")"
		case 2:
			return "NOT " + g.cond(depth-1)
		default:
			return "(" + g.cond(depth-1) + ") IS " + g.pick([]string{"", "NOT "}) + g.pick([]string{"TRUE", "FALSE", "UNKNOWN", "NULL"})
		}
	}
	if g.r.IntN(5) == 0 {
		var arr string
		for a := range arrayCols {
			arr = a
			if g.r.IntN(3) == 0 {
				break
			}
		}
		return g.arrayCond(arr)
	}
	col := g.pick(scalarCols)
	ops := []string{"=", "<>", "!=", "<", "<=", ">", ">="}
	text := col == "tx" || col == "v" || col == "c"
	switch k := g.r.IntN(12); {
	case k < 4:
		op := g.pick(ops)
		if col == "v" {
			op = g.pick([]string{"=", "<>"})
		}
		if g.r.IntN(4) == 0 {
			return g.value(col) + " " + op + " " + col
		}
		return col + " " + op + " " + g.value(col)
	case k < 5:
		n := 1 + g.r.IntN(4)
		var vs []string
		lit := numericCols[col] && g.r.IntN(2) == 0
		for range n {
			v := g.value(col)
			if g.r.IntN(8) == 0 {
				v = "NULL"
			}
			if lit {
				v = g.pick([]string{"0", "1", "-1", "42", "1.5", "7"})
			} else if numericCols[col] && v != "NULL" && !strings.HasPrefix(v, "$") && !strings.HasPrefix(v, "'") {
				v = "'" + v + "'"
			}
			vs = append(vs, v)
		}
		return col + g.pick([]string{" ", " NOT "}) + "IN (" + strings.Join(vs, ", ") + ")"
	case k < 6 && col != "v":
		return col + g.pick([]string{" ", " NOT "}) + "BETWEEN " + g.value(col) + " AND " + g.value(col)
	case k < 7:
		return col + " IS " + g.pick([]string{"", "NOT "}) + "NULL"
	case k < 10 && text:
		op := "LIKE"
		if col != "v" && g.r.IntN(2) == 0 {
			op = "ILIKE"
		}
		pat := g.pick(likePatterns)
		esc := ""
		if strings.Contains(pat, "!") {
			esc = " ESCAPE '!'"
		} else if g.r.IntN(6) == 0 {
			esc = " ESCAPE ''"
		}
		patSQL := "'" + strings.ReplaceAll(pat, "'", "''") + "'"
		if g.r.IntN(2) == 0 {
			g.params = append(g.params, pat)
			patSQL = "$" + strconv.Itoa(len(g.params))
		}
		return col + g.pick([]string{" ", " NOT "}) + op + " " + patSQL + esc
	case k < 10 && col == "b":
		if g.r.IntN(2) == 0 {
			return "b"
		}
		return "b IS " + g.pick([]string{"", "NOT "}) + g.pick([]string{"TRUE", "FALSE", "UNKNOWN"})
	case k < 11 && col != "v" && col != "c":
		// col = ANY(array)
		var vs []string
		for range g.r.IntN(4) {
			vs = append(vs, g.pick(pool[col]))
		}
		if col == "tx" {
			for i := range vs {
				vs[i] = `"` + strings.ReplaceAll(strings.ReplaceAll(vs[i], `\`, `\\`), `"`, `\"`) + `"`
			}
		}
		arr := "{" + strings.Join(vs, ",") + "}"
		g.params = append(g.params, arr)
		return col + " = ANY($" + strconv.Itoa(len(g.params)) + ")"
	}
	return col + " = " + g.value(col)
}

func (g *gen) arrayCond(arr string) string {
	elem := arrayCols[arr]
	if g.r.IntN(2) == 0 {
		v := g.value(elem)
		if strings.HasPrefix(v, "'") || strings.HasPrefix(v, "$") || elem != "n" && elem != "f8" {
			if !strings.HasPrefix(v, "'") && !strings.HasPrefix(v, "$") {
				v = "'" + v + "'"
			}
		}
		if elem == "i4" && !strings.HasPrefix(v, "'") && !strings.HasPrefix(v, "$") {
			v = "7"
		}
		return v + " = ANY(" + arr + ")"
	}
	a := g.pick(pool[arr])
	if g.r.IntN(2) == 0 {
		g.params = append(g.params, a)
		return arr + " @> $" + strconv.Itoa(len(g.params))
	}
	return arr + " @> '" + strings.ReplaceAll(a, "'", "''") + "'"
}

// TestEvalMatchesPostgres evaluates thousands of random (row, clause)
// pairs with Pred.Eval and with PostgreSQL (SELECT of the rendered SQL on
// the same rows) and requires the same true/false/NULL.
func TestEvalMatchesPostgres(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("WHERE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (WHERE_SEED reproduces)", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	conn := connect(t)
	exec(t, conn, oracleTable)

	// Rows: every column a random pool value or NULL.
	const nRows = 150
	for id := 1; id <= nRows; id++ {
		names, vals := []string{"id"}, []string{strconv.Itoa(id)}
		for _, c := range append(append([]string{}, scalarCols...), "ai", "atx", "an", "af", "ae", "au", "ad", "ac") {
			names = append(names, c)
			if r.IntN(6) == 0 {
				vals = append(vals, "NULL")
				continue
			}
			v := pool[c][r.IntN(len(pool[c]))]
			vals = append(vals, "'"+strings.ReplaceAll(v, "'", "''")+"'")
		}
		exec(t, conn, "INSERT INTO t ("+strings.Join(names, ",")+") VALUES ("+strings.Join(vals, ",")+")")
	}
	rows := loadRows(t, conn)

	cols := oracleColumns()
	const nPreds = 400
	pairs, refused := 0, 0
	counts := map[where.Tri]int{}
	for k := 0; k < nPreds; k++ {
		g := &gen{r: r}
		clause := g.cond(3)
		e, err := where.Parse(clause)
		if err != nil {
			t.Fatalf("Parse(%q): %v", clause, err)
		}
		p, err := where.Bind(e, cols, g.params)
		if err != nil {
			// Only parameter texts the package reads more strictly
			// than the server are refused; the server must refuse
			// the rest too.
			refused++
			t.Logf("refused %q %q: %v", clause, g.params, err)
			continue
		}
		pairs += compareWithServer(t, conn, p, clause, g.params, rows, counts)
		if t.Failed() {
			break
		}
	}
	t.Logf("%d pairs, %d clauses refused; PostgreSQL answered %v", pairs, refused, counts)
	if refused > nPreds/10 {
		t.Errorf("%d of %d clauses refused", refused, nPreds)
	}
	if counts[where.True] < pairs/20 || counts[where.False] < pairs/20 || counts[where.Null] < pairs/50 {
		t.Errorf("poor mix of results: %v", counts)
	}
}

// compareWithServer evaluates p on rows (the rows of t, by id) with Eval
// and with the server, failing the test where they differ; it returns the
// number of rows compared and counts the server's answers.
func compareWithServer(t *testing.T, conn *pgx.Conn, p *where.Pred, clause string, params []string, rows []*pubsub.Row, counts map[where.Tri]int) int {
	t.Helper()
	sql, args := p.SQL(func(s string) string { return pgx.Identifier{s}.Sanitize() }, 1)
	q := "SELECT id, (" + sql + ") FROM t ORDER BY id"
	res, err := conn.Query(t.Context(), q, args...)
	if err != nil {
		t.Fatalf("%s %q: %v", q, args, err)
	}
	defer res.Close()
	i := 0
	for res.Next() {
		var id int
		var want *bool
		if err := res.Scan(&id, &want); err != nil {
			t.Fatal(err)
		}
		got, err := p.Eval(rows[i])
		if err != nil {
			t.Fatalf("row %d: Eval(%q): %v", id, clause, err)
		}
		w := where.Null
		if want != nil {
			w = where.False
			if *want {
				w = where.True
			}
		}
		counts[w]++
		if got != w {
			t.Errorf("clause %q params %q\nSQL %s args %q\nrow %s\nEval %v, PostgreSQL %v", clause, params, sql, args, rowText(rows[i]), got, w)
		}
		i++
	}
	if res.Err() != nil || i != len(rows) {
		t.Fatalf("%s: %v (%d rows)", q, res.Err(), i)
	}
	return i
}

func connect(t *testing.T) *pgx.Conn {
	t.Helper()
	url := pgtest.NewDB(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	exec(t, conn, pinnedSettings)
	return conn
}

func exec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.PgConn().Exec(t.Context(), sql).ReadAll(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// loadRows reads t as the WAL source would hand its rows on: every value
// as its output function's text, enums resolved to text.
func loadRows(t *testing.T, conn *pgx.Conn) []*pubsub.Row {
	t.Helper()
	res, err := conn.PgConn().Exec(t.Context(), "SELECT * FROM t ORDER BY id").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rr := res[0]
	byName := map[string]uint32{}
	for _, c := range oracleColumns() {
		byName[c.Name] = c.OID
	}
	ct := make([]pubsub.ColumnType, len(rr.FieldDescriptions))
	for i, fd := range rr.FieldDescriptions {
		ct[i] = pubsub.ColumnType{Name: fd.Name, OID: fd.DataTypeOID, DecodeOID: byName[fd.Name]}
	}
	layout, err := pubsub.NewRowLayout(ct)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*pubsub.Row, len(rr.Rows))
	for i, vals := range rr.Rows {
		cells := make([]pubsub.Cell, len(vals))
		for j, v := range vals {
			if v == nil {
				cells[j] = pubsub.Cell{State: pubsub.Null}
			} else {
				cells[j] = pubsub.Cell{State: pubsub.Present, Text: v}
			}
		}
		if out[i], err = pubsub.NewRow(layout, cells); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func rowText(r *pubsub.Row) string {
	var b strings.Builder
	for i := range r.Len() {
		st, txt := r.At(i)
		name := r.Layout().Column(i).Name
		if st == pubsub.Present {
			fmt.Fprintf(&b, "%s=%q ", name, txt)
		} else {
			fmt.Fprintf(&b, "%s=%v ", name, st)
		}
	}
	return b.String()
}
