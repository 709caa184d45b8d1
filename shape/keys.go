package shape

import (
	"unsafe"

	"github.com/phoenixkit/phoenixkitdb/internal/rowkey"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// rowKey returns the key of row from its columns named key, and the
// columns' texts; ok is false when one of them is not present.
func rowKey(row *pubsub.Row, key []string) (k string, texts []string, ok bool) {
	if row == nil {
		return "", nil, false
	}
	texts = make([]string, len(key))
	for i, c := range key {
		t, present := row.Text(c)
		if !present {
			return "", nil, false
		}
		texts[i] = t
	}
	return rowkey.Format(texts), texts, true
}

// projection maps the columns of one row layout onto a shape's columns.
type projection struct {
	from *pubsub.RowLayout
	pos  []int // pos[i]: the column of from for shape column i, -1 if none
	same bool  // from is the shape's column list itself
}

// project returns row with the columns of to (in to's order), reusing p
// while rows keep the same layout. Columns row does not have are Absent.
func (p *projection) project(row *pubsub.Row, to *pubsub.RowLayout) *pubsub.Row {
	if row == nil {
		return nil
	}
	l := row.Layout()
	if l == to {
		return row
	}
	if p.from != l {
		p.from, p.pos, p.same = l, make([]int, to.Len()), l.Len() == to.Len()
		for i := range p.pos {
			p.pos[i] = -1
			name := to.Column(i).Name
			for j := 0; j < l.Len(); j++ {
				if l.Column(j).Name == name {
					p.pos[i] = j
					break
				}
			}
			if p.pos[i] != i {
				p.same = false
			}
		}
	}
	if p.same {
		return row
	}
	cells := make([]pubsub.Cell, len(p.pos))
	for i, j := range p.pos {
		if j < 0 {
			continue
		}
		st, text := row.At(j)
		cells[i].State = st
		if st == pubsub.Present {
			// NewRow copies the texts and never writes to them.
			cells[i].Text = unsafe.Slice(unsafe.StringData(text), len(text))
		}
	}
	out, err := pubsub.NewRow(to, cells)
	if err != nil {
		return row
	}
	return out
}

// complete reports whether row has a value (or NULL) for every column.
func complete(row *pubsub.Row) bool {
	for i := 0; i < row.Len(); i++ {
		if st, _ := row.At(i); st == pubsub.Absent || st == pubsub.UnchangedTOAST {
			return false
		}
	}
	return true
}

// fillFrom returns row with its missing columns (absent or unchanged
// TOAST) taken from old where old has them (REPLICA IDENTITY FULL).
func fillFrom(row, old *pubsub.Row) *pubsub.Row {
	if old == nil || old.Layout() != row.Layout() {
		return row
	}
	cells := make([]pubsub.Cell, row.Len())
	changed := false
	for i := range cells {
		st, text := row.At(i)
		if st == pubsub.Absent || st == pubsub.UnchangedTOAST {
			if ost, otext := old.At(i); ost == pubsub.Present || ost == pubsub.Null {
				st, text, changed = ost, otext, true
			}
		}
		cells[i].State = st
		if st == pubsub.Present {
			cells[i].Text = unsafe.Slice(unsafe.StringData(text), len(text))
		}
	}
	if !changed {
		return row
	}
	out, err := pubsub.NewRow(row.Layout(), cells)
	if err != nil {
		return row
	}
	return out
}
