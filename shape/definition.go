package shape

import (
	"fmt"
	"strings"

	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"
)

// Definition says what a shape holds: the rows of Schema.Table that match
// Where, with the columns Columns.
type Definition struct {
	// Schema and Table name the table; Schema "" means "public". Names are
	// taken as they are (case kept), never parsed as SQL.
	Schema, Table string
	// Where is an optional WHERE clause (without the keyword) with $1, $2,
	// ... standing for Params. It is parsed and rendered again from its
	// syntax tree; its text never reaches SQL. See the package
	// documentation for what it may contain.
	Where string
	// Params are the values of $1, $2, ... as text, parsed as the type of
	// the column each is compared with.
	Params []string
	// Columns is the column list; empty means every column. The key
	// columns are always included. Messages and Shape.Columns list the
	// columns in table order.
	Columns []string
}

// Shape describes a shape to its subscribers. It is shared by them and
// immutable: do not modify its slices.
type Shape struct {
	// Handle identifies this shape (the shared state its subscribers
	// read): another shape of the same definition, made after this one
	// was dropped, has another handle.
	Handle string
	// Schema and Table name the table.
	Schema, Table string
	// Where is the normalised WHERE clause ("" for none).
	Where string
	// Columns are the shape's columns in table order.
	Columns []Column
	// Key names the columns that identify a row, in table order; a
	// message's Key is their text (one column) or a JSON array of their
	// texts, as the WAL source forms Event.RowID.
	Key []string
}

// bound is a Definition checked against the catalog: the shape's table,
// columns and predicate, and the identity shapes are shared by.
type bound struct {
	info *tableInfo
	cols []Column
	pred *where.Pred // nil: every row
	id   string      // the normalised definition
	norm string      // the normalised WHERE clause
}

// bind checks def against info.
func bind(def Definition, info *tableInfo) (*bound, error) {
	b := &bound{info: info}
	if strings.TrimSpace(def.Where) != "" {
		e, err := where.Parse(def.Where)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDefinition, err)
		}
		p, err := where.Bind(e, info.whereColumns(), def.Params)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDefinition, err)
		}
		b.pred, b.norm = p, p.Normal()
	} else if len(def.Params) > 0 {
		return nil, fmt.Errorf("%w: %d parameters and no WHERE clause", ErrDefinition, len(def.Params))
	}
	want := map[string]bool{}
	for _, c := range def.Columns {
		if info.colIndex(c) < 0 {
			return nil, fmt.Errorf("%w: column %q: %s has no such column (generated columns cannot be in a shape)",
				ErrDefinition, c, quoteTable(info.schema, info.name))
		}
		want[c] = true
	}
	for _, k := range info.key {
		want[k] = true
	}
	names := make([]string, 0, len(info.cols))
	for _, c := range info.cols {
		if len(def.Columns) == 0 || want[c.Name] {
			b.cols = append(b.cols, c)
			names = append(names, c.Name)
		}
	}
	// The normal form has the parameters substituted. NUL cannot occur
	// in identifiers.
	b.id = strings.Join([]string{info.schema, info.name, strings.Join(names, "\x01"), b.norm}, "\x00")
	b.norm = b.id[len(b.id)-len(b.norm):] // one copy of the text per shape
	return b, nil
}

// shapeInfo returns the Shape of b with handle.
func (b *bound) shapeInfo(handle string) *Shape {
	// Shape is immutable: it shares b's slices, which nothing changes.
	return &Shape{Handle: handle, Schema: b.info.schema, Table: b.info.name, Where: b.norm,
		Columns: b.cols, Key: b.info.key}
}

// checkName refuses empty names and NUL.
func checkName(what, s string) error {
	if s == "" || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s %q", ErrDefinition, what, s)
	}
	return nil
}
