package where_test

import (
	"strconv"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// An entry filed under two bounds or ranges of one column (one per
// disjunct of an OR) leaves both when it is removed, whichever of them the
// index meets first: a removed shape is never a candidate again.
func TestIndexRemovesEveryDisjunctsBound(t *testing.T) {
	cols := []where.Column{{Name: "total", OID: 1700}}
	layout, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "total", OID: 1700}})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]*pubsub.Row{}
	for _, v := range []string{"0", "1", "1.5", "3", "5", "5.5", "7", "100"} {
		r, err := pubsub.NewRow(layout, []pubsub.Cell{{State: pubsub.Present, Text: []byte(v)}})
		if err != nil {
			t.Fatal(err)
		}
		rows[v] = r
	}
	for _, clause := range []string{
		"total BETWEEN 1 AND 2 OR total BETWEEN 5 AND 6",
		"total BETWEEN 5 AND 6 OR total BETWEEN 1 AND 2",
		"total > 1 OR total >= 5",
		"total >= 5 OR total > 1",
		"total < 1 OR total <= 5",
		"total <= 5 OR total < 1",
		"total > 1 OR total > 1",
	} {
		p, err := where.Bind(mustParse(t, clause), cols, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Other entries around it, and the entry at several ids (its
		// place among them follows its id).
		for id := uint64(1000); id < 1040; id++ {
			ix := where.NewIndex()
			for i := range 30 {
				o, err := where.Bind(mustParse(t, "total BETWEEN "+strconv.Itoa(i)+" AND "+strconv.Itoa(i+3)+
					" OR total > "+strconv.Itoa(i)+" OR total < "+strconv.Itoa(i)), cols, nil)
				if err != nil {
					t.Fatal(err)
				}
				ix.Add(uint64(i), o)
			}
			ix.Add(id, p)
			ix.Remove(id)
			for v, r := range rows {
				ix.Match(r, func(got uint64) {
					if got == id {
						t.Fatalf("%q: removed, and still a candidate for total = %s", clause, v)
					}
				})
			}
		}
	}
}

func mustParse(t *testing.T, clause string) *where.Expr {
	t.Helper()
	e, err := where.Parse(clause)
	if err != nil {
		t.Fatalf("Parse(%q): %v", clause, err)
	}
	return e
}
