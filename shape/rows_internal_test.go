package shape

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/internal/rowkey"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestRowsBuilder: random rows (NULLs, empty texts, rows larger than a
// block, keys of one and of two columns, several pages) read back from
// Rows as they went in, through At, Row, Key, keyList and subset.
func TestRowsBuilder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	layout, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "a", OID: 25}, {Name: "b", OID: 25}, {Name: "c", OID: 25}})
	if err != nil {
		t.Fatal(err)
	}
	for _, keyPos := range [][]int{{0}, {2, 0}} {
		b := newRowsBuilder(layout, keyPos)
		var want [][][]byte
		for i := range 3*rowsPageRows + 17 {
			row := make([][]byte, 3)
			for c := range row {
				switch n := rng.IntN(20); {
				case (i == 500 || i == 501) && c == 1:
					row[c] = []byte(strings.Repeat("x", rowsBlock+rng.IntN(100)))
				case c != keyPos[0] && n == 0:
					row[c] = nil
				case n == 1:
					row[c] = []byte{}
				default:
					row[c] = []byte(strings.Repeat("é\t\\", rng.IntN(5)) + string(rune('a'+i%26)))
				}
			}
			if err := b.add(row); err != nil {
				t.Fatal(err)
			}
			want = append(want, row)
		}
		r := b.rows()
		if len(r.blocks) < 3 || len(r.pages) != 4 {
			t.Fatalf("%d blocks and %d pages: the rows larger than a block and the pages are not covered", len(r.blocks), len(r.pages))
		}
		if r.Len() != len(want) {
			t.Fatalf("%d rows, want %d", r.Len(), len(want))
		}
		keys := r.keyList()
		check := func(name string, r *Rows, i int, row [][]byte) {
			texts := make([]string, len(keyPos))
			for k, p := range keyPos {
				texts[k] = string(row[p])
			}
			if k := r.Key(i); k != rowkey.Format(texts) {
				t.Fatalf("%s: row %d key %q, want %q", name, i, k, rowkey.Format(texts))
			}
			pr := r.Row(i)
			for c, v := range row {
				st, text := r.At(i, c)
				ps, pt := pr.At(c)
				wst := pubsub.Present
				if v == nil {
					wst = pubsub.Null
				}
				if st != wst || text != string(v) || ps != wst || pt != string(v) {
					t.Fatalf("%s: row %d column %d: At %v %q, Row %v %q; want %v %q", name, i, c, st, text, ps, pt, wst, v)
				}
			}
		}
		var idx []int
		for i, row := range want {
			check("all", r, i, row)
			if keys[i] != r.Key(i) {
				t.Fatalf("keyList[%d] = %q, Key = %q", i, keys[i], r.Key(i))
			}
			if i%3 == 1 {
				idx = append(idx, i)
			}
		}
		sub := r.subset(idx)
		for j, i := range idx {
			check("subset", sub, j, want[i])
		}
	}
}
