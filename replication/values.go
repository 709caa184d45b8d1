package replication

import (
	"github.com/jackc/pglogrepl"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// relation is a table as the server last described it on this connection,
// with the row layout every row of it shares.
type relation struct {
	schema, table string
	layout        *pubsub.RowLayout
	key           []bool // per column: part of the replica identity
	uuidCol       int    // index of the "uuid" column, -1 if none
	idCol         int    // index of the "id" column, -1 if none
}

func newRelation(m *pglogrepl.RelationMessage) (*relation, error) {
	r := &relation{schema: m.Namespace, table: m.RelationName, uuidCol: -1, idCol: -1}
	cols := make([]pubsub.ColumnType, len(m.Columns))
	r.key = make([]bool, len(m.Columns))
	for i, c := range m.Columns {
		cols[i] = pubsub.ColumnType{Name: c.Name, OID: c.DataType}
		r.key[i] = c.Flags&1 != 0
		switch c.Name {
		case "uuid":
			r.uuidCol = i
		case "id":
			r.idCol = i
		}
	}
	l, err := pubsub.NewRowLayout(cols)
	if err != nil {
		return nil, err
	}
	r.layout = l
	return r, nil
}

// rowIDCol is the column the trigger's rule takes the row id from: "uuid"
// when the table has one, else "id", else -1.
func (r *relation) rowIDCol() int {
	if r.uuidCol >= 0 {
		return r.uuidCol
	}
	return r.idCol
}

// row builds a tuple's row and returns the row id (the trigger's rule, as
// text) with it. keyOnly marks an old key tuple, whose columns outside the
// replica identity the server sends as nulls that mean "not sent".
func (ss *session) row(rel *relation, cols []tupleCol, keyOnly bool) (*pubsub.Row, string) {
	n := rel.layout.Len()
	cells := ss.cells[:0]
	for i := range n {
		var c pubsub.Cell
		if i < len(cols) && (!keyOnly || rel.key[i]) {
			switch cols[i].kind {
			case 'n':
				c.State = pubsub.Null
			case 'u':
				c.State = pubsub.UnchangedTOAST
			case 't', 'b':
				c.State, c.Text = pubsub.Present, cols[i].data
			}
		}
		cells = append(cells, c)
	}
	ss.cells = cells
	row, err := pubsub.NewRow(rel.layout, cells)
	if err != nil {
		// Cannot happen: one cell per column, text only when present.
		ss.s.log.Error("replication: building a row failed", "err", err)
		return nil, ""
	}
	id := ""
	if i := rel.rowIDCol(); i >= 0 {
		if st, text := row.At(i); st == pubsub.Present {
			id = text
		}
	}
	return row, id
}
