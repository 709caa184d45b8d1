package shape

import (
	"strings"

	"github.com/phoenixkit/phoenixkitdb/internal/rowkey"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Rows is a snapshot's rows in one piece, as a [Snapshot] message carries
// them: every value's text as PostgreSQL printed it, stored in a few large
// blocks instead of one [pubsub.Row] per row, so that a subscriber that
// only copies the values on (an HTTP handler encoding them as JSON) pays
// no allocation per row. Rows is immutable and safe for concurrent use.
type Rows struct {
	layout *pubsub.RowLayout
	ncols  int
	n      int
	blocks []string
	// pages hold the rows' places in blocks, rowsPage rows each: filled
	// one at a time, never grown, so that reading many rows copies no
	// slice.
	pages []*rowsPage
}

// rowsPage locates rowsPageRows rows (fewer in the last page). starts
// holds each row's block (high 32 bits) and the offset of its first text
// in that block; ends each cell's end offset in the block, with nullBit
// set for NULL: row j's cells are ends[j*ncols:][:ncols].
type rowsPage struct {
	starts []uint64
	ends   []uint32
	keys   []string
}

// rowsPageRows is the number of rows of a rowsPage (a power of two).
const (
	rowsPageShift = 10
	rowsPageRows  = 1 << rowsPageShift
)

// nullBit marks a NULL cell in Rows.ends.
const nullBit = 1 << 31

// Len returns the number of rows; 0 for nil.
func (r *Rows) Len() int {
	if r == nil {
		return 0
	}
	return r.n
}

// Layout returns the rows' columns: the shape's, in table order.
func (r *Rows) Layout() *pubsub.RowLayout { return r.layout }

// Key returns the key of row i (see [Message].Key).
func (r *Rows) Key(i int) string {
	return r.pages[i>>rowsPageShift].keys[i&(rowsPageRows-1)]
}

// At returns the state of column col of row i, Present or Null, and its
// text (empty unless Present). The text is shared: it costs no
// allocation.
func (r *Rows) At(i, col int) (pubsub.ColumnState, string) {
	p := r.pages[i>>rowsPageShift]
	j := i & (rowsPageRows - 1)
	s := p.starts[j]
	start := uint32(s)
	base := j * r.ncols
	if col > 0 {
		start = p.ends[base+col-1] &^ nullBit
	}
	end := p.ends[base+col]
	if end&nullBit != 0 {
		return pubsub.Null, ""
	}
	return pubsub.Present, r.blocks[s>>32][start:end]
}

// Row returns row i as a [pubsub.Row] (a new one at each call), as an
// Insert message would carry it. Its Seq in the stream is i+1.
func (r *Rows) Row(i int) *pubsub.Row {
	var (
		cellBuf [16]pubsub.Cell
		textBuf [256]byte
	)
	cells := cellBuf[:0]
	if r.ncols > len(cellBuf) {
		cells = make([]pubsub.Cell, 0, r.ncols)
	}
	text := textBuf[:0]
	for c := range r.ncols {
		_, t := r.At(i, c)
		text = append(text, t...)
	}
	pos := 0
	for c := range r.ncols {
		st, t := r.At(i, c)
		cells = append(cells, pubsub.Cell{State: st, Text: text[pos : pos+len(t) : pos+len(t)]})
		pos += len(t)
	}
	row, err := pubsub.NewRow(r.layout, cells)
	if err != nil {
		panic("shape: a snapshot row does not fit its layout: " + err.Error()) // the layout made the cells
	}
	return row
}

// subset returns the rows of r at the positions idx, in that order,
// sharing r's text.
func (r *Rows) subset(idx []int) *Rows {
	out := &Rows{layout: r.layout, ncols: r.ncols, blocks: r.blocks}
	for _, i := range idx {
		p := r.pages[i>>rowsPageShift]
		j := i & (rowsPageRows - 1)
		q := out.page()
		q.starts = append(q.starts, p.starts[j])
		q.ends = append(q.ends, p.ends[j*r.ncols:(j+1)*r.ncols]...)
		q.keys = append(q.keys, p.keys[j])
		out.n++
	}
	return out
}

// keyList returns the keys of every row, in order, in a new slice.
func (r *Rows) keyList() []string {
	keys := make([]string, 0, r.Len())
	for _, p := range r.pages {
		keys = append(keys, p.keys...)
	}
	return keys
}

// page returns the page the next row goes to, adding one when the last
// is full.
func (r *Rows) page() *rowsPage {
	if r.n&(rowsPageRows-1) == 0 {
		r.pages = append(r.pages, &rowsPage{starts: make([]uint64, 0, rowsPageRows),
			ends: make([]uint32, 0, rowsPageRows*r.ncols), keys: make([]string, 0, rowsPageRows)})
	}
	return r.pages[len(r.pages)-1]
}

// rowsBlock is the size of the text blocks of Rows; a larger row gets a
// block of its own.
const rowsBlock = 256 << 10

// keysBlock is the size of the blocks one-column keys are stored in.
const keysBlock = 8 << 10

// rowsBuilder collects rows into a Rows. The zero value is not usable:
// see newRowsBuilder.
type rowsBuilder struct {
	r      *Rows
	keyPos []int
	cur    strings.Builder // the block being filled; its String is taken once full
	keys   strings.Builder // the block of one-column keys being filled
	texts  []string        // scratch: the key columns' texts
}

func newRowsBuilder(layout *pubsub.RowLayout, keyPos []int) *rowsBuilder {
	return &rowsBuilder{r: &Rows{layout: layout, ncols: layout.Len()}, keyPos: keyPos, texts: make([]string, len(keyPos))}
}

// add appends a row of raw text values (nil: NULL), as pgx's RawValues
// gives them; it copies them.
func (b *rowsBuilder) add(raw [][]byte) error {
	if len(raw) != b.r.ncols {
		return errorf("%d columns for %d", len(raw), b.r.ncols)
	}
	size := 0
	for _, v := range raw {
		size += len(v)
	}
	if size >= nullBit {
		return errorf("a row of %d bytes of text", size)
	}
	if b.cur.Cap()-b.cur.Len() < size {
		b.finish()
		b.cur.Grow(max(rowsBlock, size))
	}
	p := b.r.page()
	block := uint64(len(b.r.blocks))
	p.starts = append(p.starts, block<<32|uint64(b.cur.Len()))
	for _, v := range raw {
		b.cur.Write(v)
		end := uint32(b.cur.Len())
		if v == nil {
			end |= nullBit
		}
		p.ends = append(p.ends, end)
	}
	p.keys = append(p.keys, b.key(raw))
	b.r.n++
	return nil
}

// key returns the key of a row of raw values. Keys outlive the snapshot
// (in the shape's key set), so they never share its blocks: a one-column
// key is a piece of a small block of keys alone (one allocation for many
// keys), a key of several columns a string of its own.
func (b *rowsBuilder) key(raw [][]byte) string {
	if len(b.keyPos) != 1 {
		for k, p := range b.keyPos {
			b.texts[k] = string(raw[p])
		}
		return rowkey.Format(b.texts)
	}
	v := raw[b.keyPos[0]]
	if len(v) > keysBlock/4 {
		return string(v)
	}
	if b.keys.Cap()-b.keys.Len() < len(v) {
		b.keys = strings.Builder{}
		b.keys.Grow(keysBlock)
	}
	start := b.keys.Len()
	b.keys.Write(v)
	// A Builder's String shares its bytes, and later writes never change
	// the bytes it returned.
	return b.keys.String()[start:]
}

// finish closes the block being filled.
func (b *rowsBuilder) finish() {
	if b.cur.Cap() == 0 {
		return
	}
	b.r.blocks = append(b.r.blocks, b.cur.String())
	b.cur = strings.Builder{}
}

// rows finishes the last block and returns the rows collected.
func (b *rowsBuilder) rows() *Rows {
	b.finish()
	return b.r
}
