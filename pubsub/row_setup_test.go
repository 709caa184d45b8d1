package pubsub_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// pinnedSettings are the output settings the WAL source pins, under which
// the oracle prints values.
const pinnedSettings = `SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3;
SET bytea_output = hex; SET TimeZone = 'UTC'; SET client_encoding = UTF8`

// oracle is a connection to a fresh database with the pinned settings.
type oracle struct {
	t    *testing.T
	conn *pgx.Conn
}

func setupOracle(t *testing.T) *oracle {
	t.Helper()
	url := pgtest.NewDB(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	o := &oracle{t: t, conn: conn}
	o.exec(pinnedSettings)
	return o
}

func (o *oracle) exec(sql string) {
	o.t.Helper()
	if _, err := o.conn.PgConn().Exec(o.t.Context(), sql).ReadAll(); err != nil {
		o.t.Fatalf("%s: %v", sql, err)
	}
}

// rows runs sql with the simple protocol, so every value comes as the text
// PostgreSQL's output function prints, and returns one *pubsub.Row per
// result row. Domains decode as their base type and enums as text, as the
// WAL source resolves them.
func (o *oracle) rows(sql string) []*pubsub.Row {
	o.t.Helper()
	res, err := o.conn.PgConn().Exec(o.t.Context(), sql).ReadAll()
	if err != nil {
		o.t.Fatalf("%s: %v", sql, err)
	}
	r := res[len(res)-1]
	cols := make([]pubsub.ColumnType, len(r.FieldDescriptions))
	for i, fd := range r.FieldDescriptions {
		cols[i] = pubsub.ColumnType{Name: fd.Name, OID: fd.DataTypeOID, DecodeOID: o.decodeOID(fd.DataTypeOID)}
	}
	layout, err := pubsub.NewRowLayout(cols)
	if err != nil {
		o.t.Fatal(err)
	}
	out := make([]*pubsub.Row, len(r.Rows))
	for i, vals := range r.Rows {
		cells := make([]pubsub.Cell, len(vals))
		for j, v := range vals {
			if v == nil {
				cells[j] = pubsub.Cell{State: pubsub.Null}
			} else {
				cells[j] = pubsub.Cell{State: pubsub.Present, Text: v}
			}
		}
		if out[i], err = pubsub.NewRow(layout, cells); err != nil {
			o.t.Fatal(err)
		}
	}
	return out
}

// decodeOID resolves a domain to its base type, an enum to text and an
// array of such types to the array of the resolved type.
func (o *oracle) decodeOID(oid uint32) uint32 {
	o.t.Helper()
	if oid < 16384 {
		return oid
	}
	var typtype, category string
	var base, elem uint32
	err := o.conn.QueryRow(o.t.Context(), `SELECT typtype::text, typcategory::text, typbasetype, typelem FROM pg_type WHERE oid = $1`,
		oid).Scan(&typtype, &category, &base, &elem)
	if err != nil {
		o.t.Fatal(err)
	}
	switch {
	case typtype == "d":
		return o.decodeOID(base)
	case typtype == "e":
		return 25
	case category == "A" && elem != 0:
		if r := o.decodeOID(elem); r != elem {
			var arr uint32
			if err := o.conn.QueryRow(o.t.Context(), `SELECT typarray FROM pg_type WHERE oid = $1`, r).Scan(&arr); err != nil {
				o.t.Fatal(err)
			}
			return arr
		}
	}
	return oid
}

// sample materialises the values of query (one column) in a temporary
// table, so that the text and the binary oracles read the same values,
// and returns its name; its columns are n (order) and v.
func (o *oracle) sample(name, query string) string {
	o.t.Helper()
	table := "sample_" + name
	o.exec(fmt.Sprintf(`CREATE TEMP TABLE %s AS SELECT row_number() OVER () AS n, v FROM (%s) s(v)`, table, query))
	return table
}

// text returns a row's text (failing for NULL).
func text(t *testing.T, r *pubsub.Row, col string) string {
	t.Helper()
	s, ok := r.Text(col)
	if !ok {
		t.Fatalf("column %s has no text (%v)", col, r.State(col))
	}
	return s
}

// value returns a row's Value, failing the test on an error.
func value(t *testing.T, r *pubsub.Row, col string) any {
	t.Helper()
	v, err := r.Value(col)
	if err != nil {
		t.Fatalf("Value(%s): %v", col, err)
	}
	return v
}

// sameValue compares decoded values, NaN equal to NaN.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		if y, ok := b.(float64); ok && math.IsNaN(x) && math.IsNaN(y) {
			return true
		}
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case float32:
		if y, ok := b.(float32); ok && x != x && y != y {
			return true
		}
		y, ok := b.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case time.Time:
		y, ok := b.(time.Time)
		_, xo := x.Zone()
		_, yo := y.Zone()
		return ok && x.Equal(y) && xo == yo
	}
	return reflect.DeepEqual(a, b)
}

// formatPG prints t as PostgreSQL prints a date (kind "date"), timestamp
// or timestamptz under DateStyle=ISO: the inverse of Value's parser.
func formatPG(t time.Time, kind string) string {
	y, bc := t.Year(), false
	if y <= 0 {
		y, bc = 1-y, true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%04d-%02d-%02d", y, int(t.Month()), t.Day())
	if kind != "date" {
		fmt.Fprintf(&b, " %02d:%02d:%02d", t.Hour(), t.Minute(), t.Second())
		if ns := t.Nanosecond(); ns != 0 {
			b.WriteString("." + strings.TrimRight(fmt.Sprintf("%09d", ns), "0"))
		}
	}
	if kind == "timestamptz" {
		_, off := t.Zone()
		sign := byte('+')
		if off < 0 {
			sign, off = '-', -off
		}
		fmt.Fprintf(&b, "%c%02d", sign, off/3600)
		if off%3600 != 0 {
			fmt.Fprintf(&b, ":%02d", off/60%60)
			if off%60 != 0 {
				fmt.Fprintf(&b, ":%02d", off%60)
			}
		}
	}
	if bc {
		b.WriteString(" BC")
	}
	return b.String()
}
