package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// rowValueColumns are the columns whose Row.Value cost section 7 prints:
// a name, the type's OID and an expression whose ::text PostgreSQL prints
// for the bench, so that every text is the server's own.
var rowValueColumns = []struct {
	name string
	oid  uint32
	expr string
}{
	{"int8", 20, "9007199254740993::int8"},
	{"uuid", 2950, "gen_random_uuid()"},
	{"text", 25, "'Ada Lovelace wrote the first program'::text"},
	{"timestamptz", 1184, "'2024-02-29 13:34:56.123456+00'::timestamptz"},
	{"numeric", 1700, "1234567890.123456789::numeric"},
	{"jsonb", 3802, `'{"id": 12345678901234567890, "name": "Ada", "tags": [1, 2, 3]}'::jsonb`},
}

// rowValueCalls is how many calls one timing makes per column.
const rowValueCalls = 200_000

// rowBuilt is how many rows the held-size measurement keeps alive.
const rowBuilt = 100_000

// runWALRowValue measures, in process, what reading a *pubsub.Row costs:
// Row.Value per column of each type in rowValueColumns against Row.Text of
// the same column (the baseline: the text the row holds, no decoding), in
// this process's CPU time and heap allocations per call; and the heap a
// row of (bigint, uuid, text) holds, built with pubsub.NewRow from the
// server's text as the WAL source builds its rows. The row has one column
// per type, like a table's row; the two calls alternate per column and
// repetition.
func runWALRowValue(ctx context.Context, e *env, cfg config) ([]Row, error) {
	progress("7 wal: Row.Value per column, %d calls per timing, %d repetitions", rowValueCalls, cfg.reps)
	conn, err := pgx.Connect(ctx, e.urlWithApp("bench-wal-rowvalue"))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	cols := make([]pubsub.ColumnType, len(rowValueColumns))
	cells := make([]pubsub.Cell, len(rowValueColumns))
	for i, c := range rowValueColumns {
		var text string
		if err := conn.QueryRow(ctx, "SELECT ("+c.expr+")::text").Scan(&text); err != nil {
			return nil, fmt.Errorf("row value: %s: %w", c.name, err)
		}
		cols[i] = pubsub.ColumnType{Name: c.name, OID: c.oid}
		cells[i] = pubsub.Cell{State: pubsub.Present, Text: []byte(text)}
	}
	layout, err := pubsub.NewRowLayout(cols)
	if err != nil {
		return nil, err
	}
	row, err := pubsub.NewRow(layout, cells)
	if err != nil {
		return nil, err
	}
	for _, c := range rowValueColumns {
		if _, err := row.Value(c.name); err != nil {
			return nil, fmt.Errorf("row value: %w", err)
		}
	}
	held, err := rowHeldSize(ctx, conn)
	if err != nil {
		return nil, err
	}

	type timing struct{ ns, allocs []float64 }
	value := make([]timing, len(rowValueColumns))
	text := make([]timing, len(rowValueColumns))
	for rep := range cfg.reps {
		for i, c := range rowValueColumns {
			for k := range 2 {
				f, tm := func() bool { v, err := row.Value(c.name); return v != nil && err == nil }, &value[i]
				if (k+rep)%2 == 1 {
					f, tm = func() bool { _, ok := row.Text(c.name); return ok }, &text[i]
				}
				ns, a, err := timeCalls(f)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", c.name, err)
				}
				tm.ns, tm.allocs = append(tm.ns, ns), append(tm.allocs, a)
			}
		}
		progress("7 wal: Row.Value rep %d/%d: int8 %.0f ns, jsonb %.0f ns (Text %.0f ns)", rep+1, cfg.reps,
			last(value[0].ns), last(value[len(value)-1].ns), last(text[0].ns))
	}
	var rows []Row
	for i, c := range rowValueColumns {
		meas := "Row.Value per column, " + c.name + ": CPU per call"
		t := sample(walSection, meas, "Row.Text", "ns", text[i].ns)
		t.Ratio = 1
		v := sample(walSection, meas, "Row.Value", "ns", value[i].ns)
		v.Ratio = median(pairedRatios(value[i].ns, text[i].ns))
		rows = append(rows, t, v)
	}
	for i, c := range rowValueColumns {
		meas := "Row.Value per column, " + c.name + ": heap allocations per call"
		rows = append(rows, sample(walSection, meas, "Row.Value", "allocs", value[i].allocs))
	}
	h := sample(walSection, "row of (bigint, uuid, text) from NewRow: heap held per row", "*pubsub.Row", "B", []float64{held})
	h.goal("under 400 B", held < 400)
	return append(rows, h), nil
}

// timeCalls calls f rowValueCalls times and returns this process's CPU
// time (ns) and heap allocations per call. CPU time, not wall time: on a
// shared machine a timing this short is often preempted, and nothing
// else in the process runs meanwhile.
func timeCalls(f func() bool) (float64, float64, error) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	ok := 0
	t0 := selfCPU()
	for range rowValueCalls {
		if f() {
			ok++
		}
	}
	d := selfCPU() - t0
	runtime.ReadMemStats(&m1)
	if ok != rowValueCalls {
		// Every accessor succeeded once before the timing and the row is
		// immutable: a failure now is a bug in the row.
		return 0, 0, fmt.Errorf("row value: %d of %d calls failed", rowValueCalls-ok, rowValueCalls)
	}
	return float64(d.Nanoseconds()) / rowValueCalls, float64(m1.Mallocs-m0.Mallocs) / rowValueCalls, nil
}

// rowHeldSize builds rowBuilt rows of wal_src's (bigint, uuid, text)
// columns with pubsub.NewRow from the server's text of its first rows,
// and returns the heap they hold per row once the collector has run: the
// size of such a row as a subscriber keeps it (the row's struct, its
// cells and its text; the layout is shared).
func rowHeldSize(ctx context.Context, conn *pgx.Conn) (float64, error) {
	layout, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "id", OID: 20}, {Name: "uuid", OID: 2950}, {Name: "name", OID: 25}})
	if err != nil {
		return 0, err
	}
	// The text of wal_src's rows, as the walsender prints them.
	q := fmt.Sprintf("SELECT id::text, uuid::text, name FROM wal_src ORDER BY id LIMIT %d", rowBuilt)
	rs, err := conn.Query(ctx, q)
	if err != nil {
		return 0, err
	}
	var texts [][3][]byte
	for rs.Next() {
		var a, b, c string
		if err := rs.Scan(&a, &b, &c); err != nil {
			rs.Close()
			return 0, err
		}
		texts = append(texts, [3][]byte{[]byte(a), []byte(b), []byte(c)})
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, err
	}
	if len(texts) == 0 {
		return 0, fmt.Errorf("row size: wal_src is empty")
	}
	kept := make([]*pubsub.Row, len(texts))
	cells := make([]pubsub.Cell, 3)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for i, t := range texts {
		for k := range cells {
			cells[k] = pubsub.Cell{State: pubsub.Present, Text: t[k]}
		}
		r, err := pubsub.NewRow(layout, cells)
		if err != nil {
			return 0, err
		}
		kept[i] = r
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	held := float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(len(kept))
	runtime.KeepAlive(kept)
	runtime.KeepAlive(texts)
	return held, nil
}
