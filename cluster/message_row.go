package cluster

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// maxLayouts bounds a decoder's layout cache: a table's layout changes
// only with its schema, so a stream holds few; past this many the cache
// starts afresh rather than grow without end.
const maxLayouts = 1024

// uvarintLen returns how many bytes binary.AppendUvarint writes for v.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// layoutOf returns the format 2 encoding of l (without its length
// prefix), from the encoder's one-entry cache when l is the last layout
// it wrote.
func (e *encoder) layoutOf(l *pubsub.RowLayout) []byte {
	if l == e.layout && e.enc != nil {
		return e.enc
	}
	n := uvarintLen(uint64(l.Len()))
	for i := range l.Len() {
		c := l.Column(i)
		n += uvarintLen(uint64(len(c.Name))) + len(c.Name) + uvarintLen(uint64(c.OID)) + uvarintLen(uint64(decodeOID(c)))
	}
	b := make([]byte, 0, n)
	b = binary.AppendUvarint(b, uint64(l.Len()))
	for i := range l.Len() {
		c := l.Column(i)
		b = appendString(b, c.Name)
		b = binary.AppendUvarint(b, uint64(c.OID))
		b = binary.AppendUvarint(b, uint64(decodeOID(c)))
	}
	e.layout, e.enc = l, b
	return b
}

// decodeOID is c's DecodeOID as format 2 writes it: 0 when it is the
// column's own OID (pubsub.NewRowLayout reads 0 so).
func decodeOID(c pubsub.ColumnType) uint32 {
	if c.DecodeOID == c.OID {
		return 0
	}
	return c.DecodeOID
}

// rowSize returns an upper bound of the bytes appendRow writes for r.
func (e *encoder) rowSize(r *pubsub.Row, sameLayout bool) int {
	n := 1 // the layout's length when sameLayout
	if !sameLayout {
		l := e.layoutOf(r.Layout())
		n = binary.MaxVarintLen32 + len(l)
	}
	for i := range r.Len() {
		st, text := r.At(i)
		n++
		if st == pubsub.Present {
			n += binary.MaxVarintLen32 + len(text)
		}
	}
	return n
}

// appendRow appends r: its layout (or an empty one for "the new row's",
// when sameLayout), then each column's state and, when present, its text.
func (e *encoder) appendRow(b []byte, r *pubsub.Row, sameLayout bool) []byte {
	if sameLayout {
		b = append(b, 0)
	} else {
		b = appendBytes(b, e.layoutOf(r.Layout()))
	}
	for i := range r.Len() {
		st, text := r.At(i)
		b = append(b, byte(st))
		if st == pubsub.Present {
			b = appendString(b, text)
		}
	}
	return b
}

// row reads a format 2 row. An empty layout means newLayout (the new
// row's), which must exist. It returns the row and its layout.
func (d *decoder) row(r *reader, newLayout *pubsub.RowLayout) (*pubsub.Row, *pubsub.RowLayout) {
	key := r.bytes()
	if r.err != nil {
		return nil, nil
	}
	l := newLayout
	if len(key) > 0 {
		l = d.layout(r, key)
	} else if l == nil {
		r.failWith(fmt.Errorf("%w: a row refers to an earlier row's layout and there is none", errBadMessage))
	}
	if r.err != nil {
		return nil, nil
	}
	cells := d.cells[:0]
	for range l.Len() {
		st := pubsub.ColumnState(r.byte1())
		var c pubsub.Cell
		switch st {
		case pubsub.Present:
			c.Text = r.bytes()
		case pubsub.Absent, pubsub.Null, pubsub.UnchangedTOAST:
		default:
			r.failWith(fmt.Errorf("%w: column state %d", errBadMessage, st))
		}
		if r.err != nil {
			return nil, nil
		}
		c.State = st
		cells = append(cells, c)
	}
	row, err := pubsub.NewRow(l, cells)
	clear(cells) // drop references to the body
	d.cells = cells[:0]
	if err != nil {
		r.failWith(fmt.Errorf("%w: %w", errBadMessage, err))
		return nil, nil
	}
	return row, l
}

// layout returns the layout encoded as key, built once per encoding: a
// run of one table's rows shares one *pubsub.RowLayout.
func (d *decoder) layout(r *reader, key []byte) *pubsub.RowLayout {
	if d.lastLayout != nil && string(key) == d.lastKey {
		return d.lastLayout
	}
	if l, ok := d.layouts[string(key)]; ok { // a lookup without a copy
		d.lastKey, d.lastLayout = string(key), l
		return l
	}
	l, err := d.parseLayout(key)
	if err != nil {
		r.failWith(err)
		return nil
	}
	if d.layouts == nil || len(d.layouts) >= maxLayouts {
		d.layouts = make(map[string]*pubsub.RowLayout)
	}
	k := string(key)
	d.layouts[k] = l
	d.lastKey, d.lastLayout = k, l
	return l
}

// parseLayout builds the layout encoded in b.
func (d *decoder) parseLayout(b []byte) (*pubsub.RowLayout, error) {
	lr := reader{b: b}
	n := lr.uvarint()
	// Each column takes three bytes at least: no count can ask for more
	// columns than the bytes hold.
	if n > uint64(len(lr.b)/3) {
		return nil, fmt.Errorf("%w: layout of %d columns in %d bytes", errBadMessage, n, len(lr.b))
	}
	cols := d.cols[:0]
	for range n {
		name := lr.bytes()
		oid, doid := lr.uvarint(), lr.uvarint()
		if oid > math.MaxUint32 || doid > math.MaxUint32 {
			lr.fail()
		}
		if lr.err != nil {
			break
		}
		cols = append(cols, pubsub.ColumnType{Name: string(name), OID: uint32(oid), DecodeOID: uint32(doid)})
	}
	err := lr.end()
	var l *pubsub.RowLayout
	if err == nil {
		l, err = pubsub.NewRowLayout(cols)
		if err != nil {
			err = fmt.Errorf("%w: %w", errBadMessage, err)
		}
	}
	clear(cols)
	d.cols = cols[:0]
	return l, err
}
