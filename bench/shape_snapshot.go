package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// Sizes of the shape snapshot and memory measurements of section "shapes".
const (
	snapRows      = 100_000 // rows of the measured shape
	idleShapes    = 2_000   // shapes made to weigh one idle shape
	snapTable     = "bench_shape_items"
	snapContender = "shape.Manager"
	snapBaseline  = "plain pgx SELECT"
)

// runShapeSnapshot measures, on e's database, the snapshot of a
// 100,000-row shape (Subscribe until UpToDate is read) against a plain
// pgx SELECT of the same rows read with Values() in the same run, and the
// heap held per idle shape and per key of a shape's key set.
func runShapeSnapshot(ctx context.Context, e *env, cfg config) ([]Row, error) {
	const sec = "shapes"
	meas := fmt.Sprintf("snapshot of a %d-row shape (status = $1)", snapRows)
	pool, err := pgxpool.New(ctx, e.url)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS `+snapTable+`;
		CREATE TABLE `+snapTable+` (id bigint PRIMARY KEY, status text NOT NULL, n int NOT NULL, total numeric, note text);
		INSERT INTO `+snapTable+` SELECT g, CASE WHEN g % 5 = 0 THEN 'closed' ELSE 'open' END, g % 100, g * 1.25, 'note ' || g
			FROM generate_series(1, `+strconv.Itoa(snapRows*5/4)+`) g;
		ANALYZE `+snapTable+`;
		DROP PUBLICATION IF EXISTS bench_shapes;
		CREATE PUBLICATION bench_shapes FOR TABLE `+snapTable); err != nil {
		return nil, err
	}
	m, err := shape.New(shape.Config{Pool: pool, Changes: pubsub.New(slog.New(slog.NewTextHandler(io.Discard, nil))),
		Publication: "bench_shapes", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxShapes: idleShapes + 100})
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Serve(runCtx) }()
	defer func() { stop(); <-done }()

	var shapeT, selectT []float64
	for rep := range max(cfg.reps, 3) {
		// A distinct definition (same rows) each time: a fresh shape.
		t0 := time.Now()
		sub, err := m.Subscribe(ctx, shape.Definition{Table: snapTable, Where: "status = $1 AND n >= $2", Params: []string{"open", strconv.Itoa(-1 - rep)}})
		if err != nil {
			return nil, err
		}
		n := 0
		for msg := range sub.C() {
			if msg.Kind == shape.UpToDate {
				break
			}
			n++
		}
		shapeT = append(shapeT, float64(time.Since(t0).Microseconds())/1000)
		sub.Close()
		if n != snapRows {
			return nil, fmt.Errorf("shape snapshot: %d rows, want %d", n, snapRows)
		}
		t0 = time.Now()
		rows, err := pool.Query(ctx, `SELECT id, status, n, total, note FROM `+snapTable+` WHERE status = $1 AND n >= $2`, "open", -1-rep)
		if err != nil {
			return nil, err
		}
		n = 0
		for rows.Next() {
			if _, err := rows.Values(); err != nil {
				return nil, err
			}
			n++
		}
		rows.Close()
		selectT = append(selectT, float64(time.Since(t0).Microseconds())/1000)
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	base := sample(sec, meas, snapBaseline, "ms", selectT)
	r := sample(sec, meas, snapContender, "ms", shapeT)
	if base.Median > 0 {
		base.Ratio, r.Ratio = 1, r.Median/base.Median
		r.goal("≤ 1.25x the SELECT (at least 0.8x its speed)", r.Median <= 1.25*base.Median)
	}
	rows := []Row{r, base}

	// Heap per key: one shape holding snapRows keys, its rows read and dropped.
	before := heap()
	sub, err := m.Subscribe(ctx, shape.Definition{Table: snapTable, Where: "status = $1", Params: []string{"open"}, Columns: []string{"id"}})
	if err != nil {
		return nil, err
	}
	for msg := range sub.C() {
		if msg.Kind == shape.UpToDate {
			break
		}
	}
	perKey := float64(heap()-before) / snapRows
	kr := sample(sec, "heap per key of a shape's key set (100,000 keys, bigint)", snapContender, "B", []float64{perKey})
	kr.goal("≤ 64 B per key", perKey <= 64)
	rows = append(rows, kr)
	sub.Close()

	// Heap per idle shape: shapes matching no row, each with its
	// subscriber attached and nothing to deliver.
	before = heap()
	subs := make([]*shape.Subscription, 0, idleShapes)
	for i := range idleShapes {
		s, err := m.Subscribe(ctx, shape.Definition{Table: snapTable, Where: "id = $1", Params: []string{strconv.Itoa(-1 - i)}})
		if err != nil {
			return nil, err
		}
		<-s.C() // UpToDate
		subs = append(subs, s)
	}
	perShape := float64(heap()-before) / idleShapes
	ir := sample(sec, "heap per idle shape id = $1 with one subscriber", snapContender, "B", []float64{perShape})
	ir.goal("≤ 2 KiB per idle shape", perShape <= 2048)
	rows = append(rows, ir)
	for _, s := range subs {
		s.Close()
	}
	runtime.KeepAlive(subs)
	return rows, nil
}

// heap returns the live heap after a collection.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
