package replication_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestValuesAsPgxDecodesThem: the decoders that skip pgx (integers, bool,
// the text types) give for a row what pgx gives when the row is queried
// back, including values at the edges of their types, NULLs, and a type
// pgx does not know (an enum, kept as text).
func TestValuesAsPgxDecodesThem(t *testing.T) {
	b := setup(t, options{noSchema: true, noServe: true})
	conn := connect(t, b.url)
	exec(t, conn,
		`CREATE TYPE mood AS ENUM ('sad', 'ok')`,
		`CREATE TABLE typed (id bigint PRIMARY KEY, i2 int2, i4 int4, big int8, flag bool, t text, vc varchar(10), c char(3), nm name, m mood)`,
		`CREATE PUBLICATION phoenixkitdb FOR TABLE typed`)
	b.stop = serve(t, b.src)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	exec(t, conn,
		`INSERT INTO typed VALUES (1, -32768, 2147483647, -9223372036854775808, true, 'é', 'v', 'ab', 'n', 'ok')`,
		`INSERT INTO typed VALUES (2, 32767, -2147483648, 9223372036854775807, false, '', '', '', '', 'sad')`,
		`INSERT INTO typed (id) VALUES (-123456789012345678)`)
	for _, id := range []int64{1, 2, -123456789012345678} {
		ev := next(t, b.mb, 10*time.Second)
		rows, err := conn.Query(context.Background(), `SELECT * FROM typed WHERE id = $1`, id)
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() {
			t.Fatalf("row %d not found", id)
		}
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		fields := rows.FieldDescriptions()
		rows.Close()
		if len(ev.New) != len(fields) {
			t.Fatalf("row %d: %d columns in New, %d in the table: %#v", id, len(ev.New), len(fields), ev.New)
		}
		for i, f := range fields {
			want := vals[i]
			if got := ev.New[f.Name]; !reflect.DeepEqual(got, want) {
				t.Errorf("row %d column %s: New has %#v, pgx gives %#v", id, f.Name, got, want)
			}
		}
	}
}

// TestRowOfTableWithoutColumns: a table may have no columns; its rows
// arrive with an empty New, and the stream goes on (pglogrepl's parser
// refuses such a row, which stopped the stream there for good).
func TestRowOfTableWithoutColumns(t *testing.T) {
	b := setup(t, options{noSchema: true, noServe: true})
	conn := connect(t, b.url)
	exec(t, conn, `CREATE TABLE bare ()`, `CREATE TABLE after (id bigint PRIMARY KEY)`,
		`CREATE PUBLICATION phoenixkitdb FOR TABLE bare, after`)
	b.stop = serve(t, b.src)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	exec(t, conn, `INSERT INTO bare DEFAULT VALUES`, `INSERT INTO after VALUES (7)`)
	ev := next(t, b.mb, 10*time.Second)
	if ev.Table != "bare" || ev.Operation != "INSERT" || ev.New == nil || len(ev.New) != 0 || ev.RowID != "" {
		t.Fatalf("empty row: %+v", ev)
	}
	if ev := next(t, b.mb, 10*time.Second); ev.Table != "after" || ev.RowID != "7" {
		t.Fatalf("after it: %+v", ev)
	}
	if st := b.src.Stats(); st.Reconnects != 0 {
		t.Fatalf("the stream broke: %+v", st)
	}
}
