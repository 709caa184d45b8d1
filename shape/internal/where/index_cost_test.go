package where_test

import (
	"strconv"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// TestIndexCandidates checks the index's cost model by counting the
// candidates Match yields: a change reaches only the shapes filed under
// its values (past its bounds, inside its ranges, under any disjunct of
// an OR) and the unindexed ones, never the disjoint rest.
func TestIndexCandidates(t *testing.T) {
	cols := []where.Column{{Name: "tenant_id", OID: 20}, {Name: "total", OID: 1700}, {Name: "status", OID: 25, Collation: "C"},
		{Name: "tags", OID: 1009, Collation: "C"}}
	layout, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "tenant_id", OID: 20}, {Name: "total", OID: 1700},
		{Name: "status", OID: 25}, {Name: "tags", OID: 1009}})
	if err != nil {
		t.Fatal(err)
	}
	row := func(tenant, total, status, tags string) *pubsub.Row {
		r, err := pubsub.NewRow(layout, []pubsub.Cell{{State: pubsub.Present, Text: []byte(tenant)}, {State: pubsub.Present, Text: []byte(total)},
			{State: pubsub.Present, Text: []byte(status)}, {State: pubsub.Present, Text: []byte(tags)}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	add := func(ix *where.Index, id int, clause string, params ...string) {
		e, err := where.Parse(clause)
		if err != nil {
			t.Fatal(err)
		}
		p, err := where.Bind(e, cols, params)
		if err != nil {
			t.Fatal(err)
		}
		ix.Add(uint64(id), p)
	}
	count := func(ix *where.Index, r *pubsub.Row) int {
		n := 0
		ix.Match(r, func(uint64) { n++ })
		return n
	}
	const n = 10_000
	// Shape i holds total BETWEEN i AND i + 2.
	between := func(i int) (string, []string) {
		return "total BETWEEN $1 AND $2", []string{strconv.Itoa(i), strconv.Itoa(i + 2)}
	}
	cases := []struct {
		name   string
		clause func(i int) (string, []string)
		row    *pubsub.Row
		want   int
		slack  int // shapes filed under a shared value before a rarer one wins
	}{
		{"equality", func(i int) (string, []string) { return "tenant_id = $1", []string{strconv.Itoa(i)} }, row("42", "1", "open", "{}"), 1, 0},
		{"equality, no match", func(i int) (string, []string) { return "tenant_id = $1", []string{strconv.Itoa(i)} }, row("-5", "1", "open", "{}"), 0, 0},
		{"IN", func(i int) (string, []string) {
			return "tenant_id IN ($1, $2) AND status = 'open'", []string{strconv.Itoa(i), strconv.Itoa(i + n)}
		}, row(strconv.Itoa(n+7), "1", "open", "{}"), 1, 3},
		{"lower bound", func(i int) (string, []string) { return "total > $1", []string{strconv.Itoa(i)} }, row("1", "5.5", "open", "{}"), 6, 0},
		{"lower bound, strict at equality", func(i int) (string, []string) { return "total > $1", []string{strconv.Itoa(i)} }, row("1", "5", "open", "{}"), 5, 0},
		{"upper bound", func(i int) (string, []string) { return "total <= $1", []string{strconv.Itoa(i)} }, row("1", "9990", "open", "{}"), 10, 0},
		{"element", func(i int) (string, []string) { return "tags @> $1", []string{"{t" + strconv.Itoa(i) + "}"} }, row("1", "1", "open", "{t3,t3,t9,x}"), 2, 0},
		{"= ANY", func(i int) (string, []string) { return "$1 = ANY(tags)", []string{"t" + strconv.Itoa(i)} }, row("1", "1", "open", "{t3}"), 1, 0},
		{"BETWEEN, inside two ranges", between, row("1", "5.5", "open", "{}"), 2, 0},
		{"BETWEEN, at both ends", between, row("1", "6", "open", "{}"), 3, 0},
		{"BETWEEN, above every range", between, row("1", "99999", "open", "{}"), 0, 0},
		{"BETWEEN, below every range", between, row("1", "-3", "open", "{}"), 0, 0},
		{"OR", func(i int) (string, []string) {
			return "tenant_id = $1 OR tags @> $2", []string{strconv.Itoa(i), "{t" + strconv.Itoa(i) + "}"}
		}, row("42", "1", "open", "{t3,t42}"), 2, 0},
		{"OR, no match", func(i int) (string, []string) {
			return "tenant_id = $1 OR tags @> $2", []string{strconv.Itoa(i), "{t" + strconv.Itoa(i) + "}"}
		}, row("-1", "1", "open", "{x}"), 0, 0},
		{"OR of ANDs", func(i int) (string, []string) {
			return "(tenant_id = $1 AND status = 'open') OR (total BETWEEN $2 AND $2 AND status LIKE 'o%')", []string{strconv.Itoa(i), strconv.Itoa(2 * i)}
		}, row("7", "14", "open", "{}"), 1, 0},
	}
	for _, c := range cases {
		ix := where.NewIndex()
		for i := range n {
			q, ps := c.clause(i)
			add(ix, i, q, ps...)
		}
		got := count(ix, c.row)
		if got < c.want || got > c.want+c.slack {
			t.Errorf("%s: %d candidates of %d shapes, want %d", c.name, got, n, c.want)
		}
		// Unindexable shapes are candidates for every change.
		add(ix, n, "status LIKE 'x%'")
		add(ix, n+1, "tenant_id = 1 OR status LIKE 'x%'")
		if again := count(ix, c.row); again != got+2 {
			t.Errorf("%s with two unindexed shapes: %d candidates, want %d", c.name, again, got+2)
		}
	}
}
