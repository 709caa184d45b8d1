package pubsub

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
)

// Scan copies the row into the struct dst points to, matching fields to
// columns by name as pgx.RowToStructByName does: a `db:"name"` tag names
// the column (an exact match first, then one that differs in case only),
// `db:"-"` skips the field, an untagged exported field matches the column
// whose name equals the field's, ignoring case and underscores, and the
// fields of embedded structs count as dst's own.
//
// Each column is scanned with pgx's own text-format scanning for its type
// ([ColumnType.DecodeOID]), so every destination pgx supports works:
// int64, *string, time.Time, netip.Prefix, pgtype.Interval,
// pgtype.Range[...], slices for arrays, structs for json, sql.Scanner,
// and so on. A pointer field receives nil for NULL; NULL into a field that
// cannot hold it is an error.
//
// Unlike RowToStructByName, a column without a field is ignored (a table
// that gains a column must not break its consumers), and an [Absent] or
// [UnchangedTOAST] column leaves its field as it was: the event does not
// carry that value, so fill dst from the previous row or the database
// first when such columns matter (see [Row.State]).
//
// It wraps [ErrScan] when dst is not a non-nil pointer to a struct, when
// a field has no column in the row's layout (before writing anything), or
// when a column does not fit its field; the error names the column, its
// type and the field. Fields before a failing one have been written. Scan
// is safe for concurrent use, dst excepted.
func (r *Row) Scan(dst any) error {
	if r == nil {
		return fmt.Errorf("%w: nil row", ErrScan)
	}
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%w: destination is %T, not a non-nil pointer to a struct", ErrScan, dst)
	}
	plan := r.layout.scanPlanOf(v.Elem().Type())
	if plan.err != nil {
		return plan.err
	}
	m, _ := r.layout.scanMaps.Get().(*pgtype.Map)
	if m == nil {
		m = pgtype.NewMap()
	}
	defer r.layout.scanMaps.Put(m)
	s := v.Elem()
	for _, f := range plan.fields {
		var src []byte // nil is NULL
		switch r.cells[f.col].state {
		case Absent, UnchangedTOAST:
			continue
		case Present:
			t := r.textAt(f.col)
			src = append(make([]byte, 0, len(t)), t...)
		}
		fv := s.FieldByIndex(f.index)
		c := &r.layout.cols[f.col]
		if err := m.Scan(c.DecodeOID, pgtype.TextFormatCode, src, fv.Addr().Interface()); err != nil {
			return fmt.Errorf("%w: column %q (%s) into field %s (%s): %v",
				ErrScan, c.Name, scanTypeName(m, c.DecodeOID), f.name, fv.Type(), err)
		}
	}
	return nil
}

// scanTypeName names a type for Scan's errors: the value table's name, or
// pgx's for the types the table leaves as text.
func scanTypeName(m *pgtype.Map, oid uint32) string {
	name := typeName(oid)
	if strings.HasPrefix(name, "type oid ") {
		if t, ok := m.TypeForOID(oid); ok {
			return t.Name
		}
	}
	return name
}

// scanPlan is where the fields of one struct type go in one layout.
type scanPlan struct {
	fields []scanField
	err    error // a field with no column: Scan fails before writing
}

// scanField is one struct field with its column.
type scanField struct {
	index []int  // reflect.Value.FieldByIndex path
	col   int    // column position in the layout
	name  string // the field's Go path, for errors ("Audit.CreatedAt")
}

// scanPlanOf returns the plan of struct type t, computing it once per
// layout.
func (l *RowLayout) scanPlanOf(t reflect.Type) *scanPlan {
	if p, ok := l.scanPlans.Load(t); ok {
		return p.(*scanPlan)
	}
	p := &scanPlan{}
	l.planFields(p, t, nil, "")
	got, _ := l.scanPlans.LoadOrStore(t, p)
	return got.(*scanPlan)
}

// planFields adds the fields of struct type t (at index path and Go path
// prefix) to p.
func (l *RowLayout) planFields(p *scanPlan, t reflect.Type, path []int, prefix string) {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		index := append(append([]int(nil), path...), i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			l.planFields(p, sf.Type, index, prefix+sf.Name+".")
			continue
		}
		if !sf.IsExported() {
			continue
		}
		tag, tagged := sf.Tag.Lookup("db")
		if tagged {
			tag, _, _ = strings.Cut(tag, ",")
		}
		if tag == "-" {
			continue
		}
		col := -1
		want := tag
		if tagged {
			col = l.findTagged(tag)
		} else {
			want = sf.Name
			col = l.findUntagged(sf.Name)
		}
		if col < 0 {
			if p.err == nil {
				p.err = fmt.Errorf("%w: field %s%s wants column %q, which the row's table does not have (columns: %s)",
					ErrScan, prefix, sf.Name, want, strings.Join(l.names(), ", "))
			}
			continue
		}
		p.fields = append(p.fields, scanField{index: index, col: col, name: prefix + sf.Name})
	}
}

// findTagged finds the column a db tag names: the exact name, else one
// that differs in case only.
func (l *RowLayout) findTagged(tag string) int {
	if i := l.find(tag); i >= 0 {
		return i
	}
	for i := range l.cols {
		if strings.EqualFold(l.cols[i].Name, tag) {
			return i
		}
	}
	return -1
}

// findUntagged finds the column of an untagged field: names equal when
// case and underscores are ignored (CreatedAt matches created_at).
func (l *RowLayout) findUntagged(field string) int {
	field = strings.ReplaceAll(field, "_", "")
	for i := range l.cols {
		if strings.EqualFold(strings.ReplaceAll(l.cols[i].Name, "_", ""), field) {
			return i
		}
	}
	return -1
}

// names returns the column names in table order.
func (l *RowLayout) names() []string {
	names := make([]string, len(l.cols))
	for i := range l.cols {
		names[i] = l.cols[i].Name
	}
	return names
}
