package shape

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/phoenixkit/phoenixkitdb/internal/rowkey"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Rows is a snapshot's rows in one piece, as a [Snapshot] message carries
// them: every value's text as PostgreSQL printed it, stored in a few large
// blocks instead of one [pubsub.Row] per row, so that a subscriber that
// only copies the values on (an HTTP handler encoding them as JSON) pays
// no allocation per row. Rows is safe for concurrent use.
//
// The Rows of a Snapshot message may arrive while the snapshot's query
// still reads them (see [Manager.SubscribeBatch]): until [Rows.Complete]
// reports true, Len counts the rows read so far, [Rows.Wait] waits for
// more, and rows already there never change. Once the UpToDate after it
// is received, a snapshot's Rows is complete.
type Rows struct {
	layout *pubsub.RowLayout
	ncols  int
	n      int
	blocks []string
	// pages hold the rows' places in blocks, rowsPage rows each: filled
	// one at a time, never grown, so that reading many rows copies no
	// slice.
	pages []*rowsPage
	// fill is set on Rows handed over while its query runs: the fields
	// above are then unused, and the rows read so far are fill's view.
	fill *rowsFill
}

// rowsFill is the state of Rows being read: views of the rows read so
// far (each one an immutable Rows sharing the builder's blocks and full
// pages), and how the reading ended.
type rowsFill struct {
	view atomic.Pointer[Rows]
	mu   sync.Mutex
	wake chan struct{} // closed and replaced when view grows or the reading ends
	done bool
	err  error
}

// now returns the rows to read: r, or the view of r's rows read so far.
func (r *Rows) now() *Rows {
	if r.fill == nil {
		return r
	}
	return r.fill.view.Load()
}

// Complete reports whether r holds every row of its snapshot: false only
// while the query of a snapshot handed over early runs, or after it
// failed (see Wait).
func (r *Rows) Complete() bool {
	if r == nil || r.fill == nil {
		return true
	}
	r.fill.mu.Lock()
	defer r.fill.mu.Unlock()
	return r.fill.done
}

// Wait blocks until r holds more than n rows, is complete, its query
// failed, or ctx ends, and returns r.Len() then. The error is ctx's, or
// the query's (ErrSnapshot): the rows then stay as they are, and the
// subscription receives Reset and a fresh snapshot. It is safe to call
// from several goroutines.
func (r *Rows) Wait(ctx context.Context, n int) (int, error) {
	if r == nil || r.fill == nil {
		return r.Len(), nil
	}
	f := r.fill
	for {
		f.mu.Lock()
		v, done, err, wake := f.view.Load(), f.done, f.err, f.wake
		f.mu.Unlock()
		switch {
		case err != nil:
			return v.n, err
		case v.n > n || done:
			return v.n, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return v.n, ctx.Err()
		}
	}
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
	return r.now().n
}

// Layout returns the rows' columns: the shape's, in table order.
func (r *Rows) Layout() *pubsub.RowLayout { return r.layout }

// Key returns the key of row i (see [Message].Key).
func (r *Rows) Key(i int) string {
	r = r.now()
	return r.pages[i>>rowsPageShift].keys[i&(rowsPageRows-1)]
}

// At returns the state of column col of row i, Present or Null, and its
// text (empty unless Present). The text is shared: it costs no
// allocation.
func (r *Rows) At(i, col int) (pubsub.ColumnState, string) {
	r = r.now()
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
	r = r.now()
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
	r = r.now()
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
	r = r.now()
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
	out    *Rows // with stream: the Rows handed over, filled from r
	done   int   // rows whose texts are in finished blocks
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

// finish closes the block being filled; its rows become visible in the
// streamed Rows.
func (b *rowsBuilder) finish() {
	if b.cur.Cap() == 0 {
		return
	}
	b.r.blocks = append(b.r.blocks, b.cur.String())
	b.cur = strings.Builder{}
	if b.done = b.r.n; b.out != nil {
		b.publish(b.view(), false, nil)
	}
}

// rows finishes the last block and returns the rows collected: the
// streamed Rows (complete only once end is called) or a complete Rows.
func (b *rowsBuilder) rows() *Rows {
	b.finish()
	if b.out != nil {
		return b.out
	}
	return b.r
}

// stream returns a Rows that holds the rows collected so far and grows
// as blocks are finished; end or fail ends it.
func (b *rowsBuilder) stream() *Rows {
	b.out = &Rows{layout: b.r.layout, ncols: b.r.ncols, fill: &rowsFill{wake: make(chan struct{})}}
	b.out.fill.view.Store(b.view())
	return b.out
}

// view returns an immutable Rows of the rows in finished blocks: it
// shares the blocks and full pages (never written again) and copies the
// headers of a page still being filled.
func (b *rowsBuilder) view() *Rows {
	r := b.r
	v := &Rows{layout: r.layout, ncols: r.ncols, n: b.done, blocks: r.blocks[:len(r.blocks):len(r.blocks)]}
	full := b.done >> rowsPageShift
	v.pages = append(make([]*rowsPage, 0, full+1), r.pages[:full]...)
	if c := b.done & (rowsPageRows - 1); c > 0 {
		p := r.pages[full]
		v.pages = append(v.pages, &rowsPage{starts: p.starts[:c:c], ends: p.ends[: c*r.ncols : c*r.ncols], keys: p.keys[:c:c]})
	}
	return v
}

// publish makes v the streamed Rows' view and, with done or err, ends it.
func (b *rowsBuilder) publish(v *Rows, done bool, err error) {
	f := b.out.fill
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done || f.err != nil {
		return
	}
	if v != nil {
		f.view.Store(v)
	}
	f.done, f.err = done, err
	close(f.wake)
	f.wake = make(chan struct{})
}

// end marks the streamed Rows complete, every row read (after rows).
func (b *rowsBuilder) end() {
	if b.out != nil {
		b.publish(b.r, true, nil)
	}
}

// fail ends the streamed Rows with err: its query failed.
func (b *rowsBuilder) fail(err error) {
	if b.out != nil {
		b.publish(nil, false, err)
	}
}
