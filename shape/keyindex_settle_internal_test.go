package shape

import (
	"slices"
	"strconv"
	"testing"
)

// TestSetKeysIndexesOnFirstUse checks that a snapshot's key set enters
// the table's key index only when a change first asks about keys, and
// that the index then says what it said when keys were indexed at once:
// for the table's first shape, for a second one sharing its keys, for a
// key set given twice the same key, and for shapes dropped before they
// were indexed.
func TestSetKeysIndexesOnFirstUse(t *testing.T) {
	r, _, _ := benchRouter(t, 0)
	var shapes []*shape
	for i := range 4 {
		shapes = append(shapes, addBenchShape(t, r, "tenant_id = $1", []string{strconv.Itoa(i)}))
	}
	tbl := r.tables[tkey{"public", "items"}]
	a, b, c, d := shapes[0], shapes[1], shapes[2], shapes[3]
	keys := func(from, to int) []string {
		var ks []string
		for i := from; i < to; i++ {
			ks = append(ks, strconv.Itoa(i))
		}
		return ks
	}
	tbl.setKeys(a, append(keys(0, 100), "5")) // "5" twice
	tbl.setKeys(b, keys(50, 150))
	tbl.setKeys(c, keys(0, 10))
	if n := len(tbl.keys.first); n != 0 {
		t.Fatalf("%d keys indexed before any change asked", n)
	}
	tbl.retireKid(c) // dropped before its keys were indexed
	if !tbl.hasKey(a, "99") || tbl.hasKey(a, "100") || !tbl.hasKey(b, "100") || tbl.hasKey(b, "49") {
		t.Fatal("hasKey disagrees with the key sets given")
	}
	if len(tbl.unindexed) != 0 {
		t.Fatalf("%d key sets left unindexed after a lookup", len(tbl.unindexed))
	}
	if a.nkeys != 100 || b.nkeys != 100 {
		t.Fatalf("nkeys %d and %d, want 100 and 100", a.nkeys, b.nkeys)
	}
	if got := tbl.holders("60", nil); len(got) != 2 || !slices.Contains(got, a) || !slices.Contains(got, b) {
		t.Fatalf("holders of 60: %d shapes, want a and b", len(got))
	}
	if got := tbl.holders("5", nil); len(got) != 1 || got[0] != a {
		t.Fatalf("holders of 5: %d shapes, want a alone (c was dropped)", len(got))
	}
	if tbl.keys.entries != 200 || tbl.keys.dead != 0 {
		t.Fatalf("entries %d, dead %d, want 200 and 0", tbl.keys.entries, tbl.keys.dead)
	}
	// A key set given while others are indexed joins them on first use.
	tbl.setKeys(d, keys(140, 160))
	tbl.addKey(a, "1000")
	if got := tbl.holders("145", nil); len(got) != 2 || !slices.Contains(got, b) || !slices.Contains(got, d) {
		t.Fatalf("holders of 145: %d shapes, want b and d", len(got))
	}
	tbl.retireKid(a)
	tbl.retireKid(b)
	if live := tbl.keys.entries - tbl.keys.dead; live != 20 {
		t.Fatalf("%d live entries after a and b were dropped, want d's 20", live)
	}
}
