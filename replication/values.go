package replication

import (
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/phoenixkit/phoenixkitdb/internal/rowkey"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Replica identity settings as the Relation message carries them
// (pg_class.relreplident).
const (
	identityDefault = 'd' // the primary key, if any
	identityNothing = 'n'
	identityFull    = 'f'
	identityIndex   = 'i' // REPLICA IDENTITY USING INDEX
)

// relation is a table as the server last described it on this connection,
// with the row layout every row of it shares.
type relation struct {
	schema, table string
	layout        *pubsub.RowLayout
	key           []bool // per column: flagged as part of the replica identity
	// keyCols are the columns of the replica identity key, in table
	// order: the primary key or the REPLICA IDENTITY USING INDEX columns.
	// Empty with REPLICA IDENTITY FULL or NOTHING and for a table without
	// a primary key: the row id then follows PhoenixKit's rule.
	keyCols []int
	uuidCol int // index of the "uuid" column, -1 if none
	idCol   int // index of the "id" column, -1 if none
}

// newRelation builds the relation of a Relation message; decodeOID gives
// each column type's DecodeOID (see typeCache.decodeOID).
func newRelation(m *pglogrepl.RelationMessage, decodeOID func(uint32) uint32) (*relation, error) {
	r := &relation{schema: m.Namespace, table: m.RelationName, uuidCol: -1, idCol: -1}
	cols := make([]pubsub.ColumnType, len(m.Columns))
	r.key = make([]bool, len(m.Columns))
	for i, c := range m.Columns {
		cols[i] = pubsub.ColumnType{Name: c.Name, OID: c.DataType, DecodeOID: decodeOID(c.DataType)}
		r.key[i] = c.Flags&1 != 0
		// With FULL the server flags every column: the whole row is the
		// identity, which is no key.
		if r.key[i] && (m.ReplicaIdentity == identityDefault || m.ReplicaIdentity == identityIndex) {
			r.keyCols = append(r.keyCols, i)
		}
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

// row builds a tuple's row. keyOnly marks an old key tuple, whose
// columns outside the replica identity the server sends as nulls that
// mean "not sent".
func (ss *session) row(rel *relation, cols []tupleCol, keyOnly bool) *pubsub.Row {
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
		return nil
	}
	return row
}

// rowID returns the row id of a change whose rows are newRow and oldRow
// (either may be nil): the replica identity key when the table has one
// (see rowKey), else PhoenixKit's rule: the "uuid" column's text if the
// table has that column, else the "id" column's, taken from the new row
// (the old one for a DELETE). The key is taken from the new row, or from
// the old one when the new one does not hold it (a DELETE; an UPDATE that
// left a TOASTed key column unchanged and so unsent, which has no old row
// unless it changed the key). "" when the row does not hold the columns.
func (rel *relation) rowID(newRow, oldRow *pubsub.Row) string {
	if len(rel.keyCols) > 0 {
		if id, ok := rowKey(newRow, rel.keyCols); ok {
			return id
		}
		id, _ := rowKey(oldRow, rel.keyCols)
		return id
	}
	col := rel.uuidCol
	if col < 0 {
		col = rel.idCol
	}
	if col < 0 {
		return ""
	}
	// As PhoenixKit's trigger: NEW's for INSERT and UPDATE, OLD's for DELETE.
	r := newRow
	if r == nil {
		r = oldRow
	}
	if r == nil {
		return ""
	}
	st, text := r.At(col)
	if st != pubsub.Present {
		return ""
	}
	return text
}

// rowKey formats the key columns cols of row: a one-column key is that
// column's text as it is; a key of several columns is a JSON array of
// their texts in table order, such as ["7","a,\"b\""] (see
// rowkey.AppendJSONString), so that distinct keys give distinct strings. It
// reports false when row is nil or a key column is not present.
func rowKey(row *pubsub.Row, cols []int) (string, bool) {
	if row == nil {
		return "", false
	}
	if len(cols) == 1 {
		st, text := row.At(cols[0])
		return text, st == pubsub.Present
	}
	size := 2
	for _, c := range cols {
		st, text := row.At(c)
		if st != pubsub.Present {
			return "", false
		}
		size += len(text) + 3
	}
	// One allocation: the builder's buffer becomes the string.
	var sb strings.Builder
	sb.Grow(size + 8)
	var scratch [64]byte
	sb.WriteByte('[')
	for i, c := range cols {
		if i > 0 {
			sb.WriteByte(',')
		}
		_, text := row.At(c)
		sb.Write(rowkey.AppendJSONString(scratch[:0], text))
	}
	sb.WriteByte(']')
	return sb.String(), true
}
