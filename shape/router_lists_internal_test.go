package shape

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// A table's lists of shapes (all, and those without a WHERE clause) stay
// exact as shapes end in any order: each shape's noted place holds it.
func TestTableListsFollowDrops(t *testing.T) {
	r, _, _ := benchRouter(t, 150)
	for _, cols := range [][]string{{"id"}, {"id", "note"}, {"id", "tenant_id"}, {"id", "tenant_id", "note"}} {
		b, err := bind(Definition{Table: "items", Columns: cols}, r.tables[tkey{"public", "items"}].info)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.newShape(b); err != nil {
			t.Fatal(err)
		}
	}
	tbl := r.tables[tkey{"public", "items"}]
	live := map[*shape]bool{}
	for _, sh := range r.shapes {
		live[sh] = true
	}
	check := func(stage string) {
		t.Helper()
		if len(tbl.shapes) != len(live) {
			t.Fatalf("%s: %d shapes listed, %d live", stage, len(tbl.shapes), len(live))
		}
		nopred := 0
		for sh := range live {
			if tbl.shapes[sh.spos] != sh {
				t.Fatalf("%s: shape %d not at its place %d", stage, sh.id, sh.spos)
			}
			if sh.b.pred == nil {
				nopred++
				if tbl.nopred[sh.npos] != sh {
					t.Fatalf("%s: shape %d not at its place %d of the unfiltered", stage, sh.id, sh.npos)
				}
			}
		}
		if len(tbl.nopred) != nopred {
			t.Fatalf("%s: %d unfiltered shapes listed, %d live", stage, len(tbl.nopred), nopred)
		}
	}
	check("before")
	rnd := rand.New(rand.NewPCG(3, 4))
	order := make([]*shape, 0, len(live))
	for sh := range live {
		order = append(order, sh)
	}
	rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for i, sh := range order {
		r.drop(sh)
		delete(live, sh)
		if len(live) > 0 {
			check("after drop " + strconv.Itoa(i))
		}
	}
	if r.tables[tkey{"public", "items"}] != nil {
		t.Fatal("the table outlived its last shape")
	}
}
