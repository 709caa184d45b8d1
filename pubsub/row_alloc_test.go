package pubsub_test

import (
	"strconv"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// NewRow costs two allocations (the Row with its cells, and the text) up
// to 16 columns, three beyond, and every width reads back what it was
// given, whichever size class holds its cells.
func TestNewRowAllocations(t *testing.T) {
	for _, n := range []int{1, 3, 4, 5, 8, 9, 16, 17, 40} {
		cols := make([]pubsub.ColumnType, n)
		cells := make([]pubsub.Cell, n)
		for i := range cols {
			cols[i] = pubsub.ColumnType{Name: "c" + strconv.Itoa(i), OID: 25}
			switch i % 3 {
			case 0:
				cells[i] = pubsub.Cell{State: pubsub.Present, Text: []byte("v" + strconv.Itoa(i))}
			case 1:
				cells[i] = pubsub.Cell{State: pubsub.Null}
			default:
				cells[i] = pubsub.Cell{State: pubsub.UnchangedTOAST}
			}
		}
		layout, err := pubsub.NewRowLayout(cols)
		if err != nil {
			t.Fatal(err)
		}
		want := 2.0
		if n > 16 {
			want = 3
		}
		if got := testing.AllocsPerRun(100, func() {
			if _, err := pubsub.NewRow(layout, cells); err != nil {
				t.Fatal(err)
			}
		}); got != want {
			t.Errorf("%d columns: %v allocations per row, want %v", n, got, want)
		}
		row, err := pubsub.NewRow(layout, cells)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cells {
			st, text := row.At(i)
			if st != c.State || text != string(c.Text) {
				t.Errorf("%d columns: column %d is %v %q, want %v %q", n, i, st, text, c.State, c.Text)
			}
		}
	}
}
