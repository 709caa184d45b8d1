package pubsub

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrInvalidRow is wrapped by [NewRowLayout] and [NewRow] when their input
// does not describe a row.
var ErrInvalidRow = errors.New("pubsub: invalid row")

// ColumnState tells what a row holds for a column.
type ColumnState uint8

const (
	// Absent: the row has no such column, or the server did not send it
	// (a column outside the replica identity in an old key tuple).
	Absent ColumnState = iota
	// Null: the column is SQL NULL.
	Null
	// Present: the column has a value; [Row.Text] returns it.
	Present
	// UnchangedTOAST: an UPDATE left a TOASTed value as it was and the
	// server did not send it (pgoutput's 'u'). The value is whatever the
	// row held before; it is not in the event.
	UnchangedTOAST
)

// String returns "absent", "null", "present", "unchanged-toast" or
// "ColumnState(N)".
func (s ColumnState) String() string {
	switch s {
	case Absent:
		return "absent"
	case Null:
		return "null"
	case Present:
		return "present"
	case UnchangedTOAST:
		return "unchanged-toast"
	}
	return fmt.Sprintf("ColumnState(%d)", uint8(s))
}

// ColumnType describes one column of a [RowLayout].
type ColumnType struct {
	// Name is the column's name as PostgreSQL has it (case kept).
	Name string
	// OID is the column's type (pg_attribute.atttypid).
	OID uint32
	// DecodeOID is the built-in type whose rules [Row.Value] applies:
	// a domain's base type, text for an enum, the array of the resolved
	// element type for an array of such types. Zero means OID itself.
	DecodeOID uint32
}

// RowLayout is the column list of a table's rows, in table order. One is
// built per table description and shared by every row of that table; it
// is immutable and safe for concurrent use.
type RowLayout struct {
	cols  []ColumnType
	index map[string]int // name -> position, for layouts with many columns

	// For Row.Scan, filled as rows of the layout are scanned: *pgtype.Map
	// values (not safe for concurrent use, costly to make) and, per
	// struct type, where its fields go.
	scanMaps  sync.Pool
	scanPlans sync.Map // reflect.Type -> *scanPlan
}

// smallLayout is the column count up to which a name is found by a linear
// scan, which beats a map lookup for short names.
const smallLayout = 8

// NewRowLayout returns the layout of cols, which it copies. Names must be
// non-empty and unique.
func NewRowLayout(cols []ColumnType) (*RowLayout, error) {
	l := &RowLayout{cols: make([]ColumnType, len(cols))}
	copy(l.cols, cols)
	seen := make(map[string]int, len(cols))
	for i := range l.cols {
		c := &l.cols[i]
		if c.Name == "" {
			return nil, fmt.Errorf("%w: column %d has no name", ErrInvalidRow, i+1)
		}
		if _, dup := seen[c.Name]; dup {
			return nil, fmt.Errorf("%w: column %q appears twice", ErrInvalidRow, c.Name)
		}
		seen[c.Name] = i
		if c.DecodeOID == 0 {
			c.DecodeOID = c.OID
		}
	}
	if len(cols) > smallLayout {
		l.index = seen
	}
	return l, nil
}

// Len returns the number of columns.
func (l *RowLayout) Len() int { return len(l.cols) }

// Column returns the i-th column, in table order.
func (l *RowLayout) Column(i int) ColumnType { return l.cols[i] }

// find returns the position of column name, or -1.
func (l *RowLayout) find(name string) int {
	if l.index != nil {
		if i, ok := l.index[name]; ok {
			return i
		}
		return -1
	}
	for i := range l.cols {
		if l.cols[i].Name == name {
			return i
		}
	}
	return -1
}

// Cell is one column's content handed to [NewRow]: its state and, when
// Present, its text as PostgreSQL's output function printed it.
type Cell struct {
	State ColumnState
	Text  []byte
}

// Row is one row of a change: each column's state and, when present, its
// text exactly as PostgreSQL printed it (under the settings the WAL source
// pins: ISO dates, full float precision, hex bytea, UTF-8). A Row is
// immutable and shared by every receiver of its event: it is safe for
// concurrent use. The nil *Row is an empty row (every column Absent).
//
// Text and State cost no allocation; typed values ([Row.Value],
// [Row.Map], [Row.Scan]) are decoded when asked for, so fan-out pays
// nothing for values no subscriber reads.
type Row struct {
	layout *RowLayout
	text   string // every present value's text, one after another
	cells  []rowCell
}

// rowCell locates one column's text in Row.text.
type rowCell struct {
	end   uint32 // end offset of the text; the start is the previous cell's end
	state ColumnState
}

// NewRow returns a row of layout with one cell per column, in order. The
// texts are copied into one string, so the caller may reuse its buffers.
// A row costs two allocations up to 16 columns, three beyond.
func NewRow(layout *RowLayout, cells []Cell) (*Row, error) {
	if layout == nil {
		return nil, fmt.Errorf("%w: nil layout", ErrInvalidRow)
	}
	if len(cells) != len(layout.cols) {
		return nil, fmt.Errorf("%w: %d cells for %d columns", ErrInvalidRow, len(cells), len(layout.cols))
	}
	size := 0
	for i := range cells {
		switch cells[i].State {
		case Present:
			size += len(cells[i].Text)
		case Absent, Null, UnchangedTOAST:
			if len(cells[i].Text) != 0 {
				return nil, fmt.Errorf("%w: column %q is %v but has text", ErrInvalidRow, layout.cols[i].Name, cells[i].State)
			}
		default:
			return nil, fmt.Errorf("%w: column %q has state %v", ErrInvalidRow, layout.cols[i].Name, cells[i].State)
		}
	}
	if uint64(size) > 1<<32-1 {
		return nil, fmt.Errorf("%w: %d bytes of text", ErrInvalidRow, size)
	}
	// The builder's buffer becomes the string without a copy.
	var buf strings.Builder
	buf.Grow(size)
	r := newRow(len(cells))
	r.layout = layout
	for i := range cells {
		buf.Write(cells[i].Text)
		r.cells[i] = rowCell{end: uint32(buf.Len()), state: cells[i].State}
	}
	r.text = buf.String()
	return r, nil
}

// Rows of up to 16 columns hold their cells in the same allocation as
// the Row: a row costs two allocations (this one and its text), not
// three. The cells stay reachable through r.cells alone, which points
// into the allocation.
type (
	row4 struct {
		r Row
		c [4]rowCell
	}
	row8 struct {
		r Row
		c [8]rowCell
	}
	row16 struct {
		r Row
		c [16]rowCell
	}
)

// newRow returns a Row with n cells, of a size class that fits it.
func newRow(n int) *Row {
	switch {
	case n <= 4:
		x := &row4{}
		x.r.cells = x.c[:n:n]
		return &x.r
	case n <= 8:
		x := &row8{}
		x.r.cells = x.c[:n:n]
		return &x.r
	case n <= 16:
		x := &row16{}
		x.r.cells = x.c[:n:n]
		return &x.r
	}
	return &Row{cells: make([]rowCell, n)}
}

// Layout returns the row's column list; nil for the nil row.
func (r *Row) Layout() *RowLayout {
	if r == nil {
		return nil
	}
	return r.layout
}

// Names returns the column names in table order, every column of the
// table's description included (see [Row.State] for which the row holds).
// It returns a new slice.
func (r *Row) Names() []string {
	if r == nil {
		return nil
	}
	names := make([]string, len(r.layout.cols))
	for i := range r.layout.cols {
		names[i] = r.layout.cols[i].Name
	}
	return names
}

// State returns what the row holds for column col: [Absent] for a column
// it does not have.
func (r *Row) State(col string) ColumnState {
	i := r.pos(col)
	if i < 0 {
		return Absent
	}
	return r.cells[i].state
}

// Text returns the value of column col exactly as PostgreSQL's output
// function printed it; false for NULL, absent and unchanged-TOAST columns.
func (r *Row) Text(col string) (string, bool) {
	i := r.pos(col)
	if i < 0 || r.cells[i].state != Present {
		return "", false
	}
	return r.textAt(i), true
}

// pos returns the position of col, or -1 (for the nil row too).
func (r *Row) pos(col string) int {
	if r == nil {
		return -1
	}
	return r.layout.find(col)
}

// textAt returns the text of column i (empty unless Present).
func (r *Row) textAt(i int) string {
	start := uint32(0)
	if i > 0 {
		start = r.cells[i-1].end
	}
	return r.text[start:r.cells[i].end]
}

// Len returns the number of columns of the row's layout.
func (r *Row) Len() int {
	if r == nil {
		return 0
	}
	return len(r.cells)
}

// At returns the state and text of the i-th column, in table order (the
// text is empty unless the state is Present); [Row.Layout] describes the
// column. It is how a transport (the cluster module) copies a row.
func (r *Row) At(i int) (ColumnState, string) {
	return r.cells[i].state, r.textAt(i)
}
