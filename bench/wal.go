package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// Section 7 measures the WAL change source (package replication) on a
// server of its own started with wal_level=logical, so that sections 1 to
// 6 keep measuring the server they always did. Every row of the section,
// baselines included, runs on that logical server.

const (
	walSection     = "7 wal"
	walPublication = "bench_wal"
)

// logicalSettings make a throwaway server able to stream logical
// replication. synchronous_commit is back on (pgtest turns it off): a
// walsender decodes only WAL already flushed, so with it off a commit
// reaches the Source only when the WAL writer next flushes (every
// wal_writer_delay, 200 ms), which would measure the WAL writer's delay,
// not the Source. fsync stays off, so a flush costs a write(), no disk wait.
var logicalSettings = map[string]string{
	"synchronous_commit":    "on",
	"wal_level":             "logical",
	"max_replication_slots": "20",
	"max_wal_senders":       "20",
}

// walTables are the section's tables: all published, wal_lat and wc_trg
// also carry the library's NOTIFY row trigger.
var walTables = []string{"wal_decode", "wal_lat", "wc_pub", "wc_trg"}

// runWAL measures section 7: decode and fan-out, the cost of reading a
// row's values, commit-to-mailbox latency (plain and ack mailboxes), and
// write cost, each against its baseline within the run.
func runWAL(ctx context.Context, dbURL string, cfg config) ([]Row, error) {
	e, err := openEnvWith(ctx, dbURL, logicalSettings)
	if err != nil {
		return nil, err
	}
	defer e.close()
	conn, err := pgx.Connect(ctx, e.urlWithApp("bench-wal-setup"))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	var level string
	if err := conn.QueryRow(ctx, "SHOW wal_level").Scan(&level); err != nil {
		return nil, err
	}
	if level != "logical" {
		return []Row{na(walSection, "WAL change source", nameSource, "wal_level is "+level+", not logical")}, nil
	}
	if err := walSetup(ctx, conn, cfg.walRows); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	var rows []Row
	var errs []error
	slots := &slotNames{}
	r, err := runWALDecode(ctx, e, cfg, slots)
	rows, errs = append(rows, r...), append(errs, err)
	r, err = runWALRowValue(ctx, e, cfg)
	rows, errs = append(rows, r...), append(errs, err)
	r, err = runWALLatency(ctx, e, cfg, slots)
	rows, errs = append(rows, r...), append(errs, err)
	r, err = runWALWriteCost(ctx, e, cfg, slots)
	rows, errs = append(rows, r...), append(errs, err)
	return rows, errors.Join(errs...)
}

// walSetup creates the tables, the publication, the triggers and the
// unlogged source of bulk rows (unlogged: never decoded, never published).
func walSetup(ctx context.Context, conn *pgx.Conn, rows int) error {
	stmts := []string{
		fmt.Sprintf(`CREATE UNLOGGED TABLE wal_src AS SELECT g::bigint AS id, gen_random_uuid() AS uuid, 'name ' || g AS name
FROM generate_series(1, %d) g`, rows),
		"ANALYZE wal_src",
	}
	for _, t := range walTables {
		cols := "(id bigint PRIMARY KEY, uuid uuid, name text)"
		if t == "wal_lat" {
			// No uuid column: both sources then name a row by its id, which
			// is how the latency consumer matches an event to its write.
			cols = "(id bigint PRIMARY KEY, name text)"
		}
		stmts = append(stmts, "CREATE TABLE "+t+" "+cols)
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return err
		}
	}
	var tables []pgsql.Table
	for _, t := range walTables {
		tables = append(tables, pgsql.Table{Schema: "public", Name: t})
	}
	// wc_trg is published too, so that its writes cost what a published
	// table's do; no Source runs while it is measured.
	if err := replication.EnsurePublication(ctx, conn, walPublication, tables...); err != nil {
		return err
	}
	for _, t := range []string{"wal_lat", "wc_trg"} {
		if err := trigger.Ensure(ctx, conn, "public", t); err != nil {
			return err
		}
	}
	return nil
}

// slotNames hands out fresh temporary slot names: the walsender of the
// last one may still be ending when the next reader starts.
type slotNames struct{ n int }

func (s *slotNames) next(prefix string) string {
	s.n++
	return fmt.Sprintf("bench_%s_%d", prefix, s.n)
}

// insertBulk inserts n rows into table in one transaction and returns the
// moment just before COMMIT: nothing is streamed before the commit.
func insertBulk(ctx context.Context, conn *pgx.Conn, table string, n int) (time.Time, error) {
	return insertBulkThen(ctx, conn, table, n, func() {})
}

// insertBulkThen is insertBulk calling before just before COMMIT.
func insertBulkThen(ctx context.Context, conn *pgx.Conn, table string, n int, before func()) (time.Time, error) {
	pg := conn.PgConn()
	if _, err := pg.Exec(ctx, "TRUNCATE "+table).ReadAll(); err != nil {
		return time.Time{}, err
	}
	sql := fmt.Sprintf("BEGIN; INSERT INTO %s SELECT * FROM wal_src WHERE id <= %d", table, n)
	if _, err := pg.Exec(ctx, sql).ReadAll(); err != nil {
		return time.Time{}, err
	}
	before()
	t0 := time.Now()
	_, err := pg.Exec(ctx, "COMMIT").ReadAll()
	return t0, err
}

// decodeResult is one reader's timing of one bulk INSERT.
type decodeResult struct {
	rate   float64 // rows/s, from just before COMMIT to the last row received
	cpu    float64 // ns of this process's CPU time per row meanwhile
	allocs float64 // heap allocations of this process per row meanwhile
	bytes  float64 // bytes allocated on the heap by this process per row meanwhile
}

// decodeReaders are the readers of the decode rows, in report order:
// the bare loop (the baseline), the Source with its defaults, and the
// Source with BatchDelay off (no pause when its socket runs dry), which
// says what the pause costs or saves in the same repetition.
var decodeReaders = []struct {
	name, slot string
	bare       bool
	batchDelay time.Duration
}{
	{nameBareRepl, "bare", true, 0},
	{nameSource, "src", false, 0},
	{nameSourceNoPause, "src_nopause", false, -1},
}

// decodeOnce starts reader k of decodeReaders, warms it up, times one
// bulk INSERT from just before COMMIT to the last change received, and
// stops it. Besides rows/s it returns what this process spent per row
// meanwhile, which is the reader's: the writer only waits for COMMIT. CPU
// time (unlike rows/s, it hardly depends on what else the machine runs),
// and heap allocations and bytes from runtime.MemStats: everything the
// reader, its connection and its consumer allocate per row, measured from
// outside the library.
//
// With profile set, the timed part is CPU-profiled into that file.
func decodeOnce(ctx context.Context, e *env, writer *pgx.Conn, slots *slotNames, k, n int, profile string) (decodeResult, error) {
	s := newSink()
	var stop func()
	rd := decodeReaders[k]
	if rd.bare {
		b, err := startBareRepl(ctx, e.url, slots.next(rd.slot), walPublication, s)
		if err != nil {
			return decodeResult{}, err
		}
		stop = b.stop
	} else {
		r, err := startSource(ctx, e.url, slots.next(rd.slot), walPublication, n+1024, rd.batchDelay,
			func(*pubsub.Event) { s.hit() })
		if err != nil {
			return decodeResult{}, err
		}
		stop = r.stop
	}
	defer stop()
	warm := max(n/10, 100)
	s.expect(int64(warm))
	if _, err := insertBulk(ctx, writer, "wal_decode", warm); err != nil {
		return decodeResult{}, err
	}
	if _, err := s.wait(120 * time.Second); err != nil {
		return decodeResult{}, fmt.Errorf("warm-up: %w", err)
	}
	runtime.GC()
	s.expect(int64(n))
	var prof *os.File
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return decodeResult{}, err
		}
		defer f.Close()
		prof = f
	}
	var cpu0 time.Duration
	var m0, m1 runtime.MemStats
	var profErr error
	t0, err := insertBulkThen(ctx, writer, "wal_decode", n, func() {
		if prof != nil {
			profErr = pprof.StartCPUProfile(prof)
		}
		runtime.ReadMemStats(&m0)
		cpu0 = selfCPU()
	})
	if prof != nil && profErr == nil {
		defer pprof.StopCPUProfile()
	}
	if err != nil {
		return decodeResult{}, err
	}
	if profErr != nil {
		return decodeResult{}, profErr
	}
	t1, err := s.wait(120 * time.Second)
	if err != nil {
		return decodeResult{}, err
	}
	cpu := selfCPU() - cpu0
	runtime.ReadMemStats(&m1)
	if prof != nil {
		pprof.StopCPUProfile()
		progress("7 wal: wrote %s", profile)
	}
	return decodeResult{
		rate:   float64(n) / t1.Sub(t0).Seconds(),
		cpu:    float64(cpu.Nanoseconds()) / float64(n),
		allocs: float64(m1.Mallocs-m0.Mallocs) / float64(n),
		bytes:  float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n),
	}, nil
}

// runWALDecode times the bulk INSERT's stream through each of
// decodeReaders in turn, in an order rotated per repetition, each started
// fresh; each ratio is the median of the ratios to the bare loop within
// each repetition.
func runWALDecode(ctx context.Context, e *env, cfg config, slots *slotNames) ([]Row, error) {
	writer, err := pgx.Connect(ctx, e.urlWithApp("bench-wal-writer"))
	if err != nil {
		return nil, err
	}
	defer writer.Close(context.Background())
	n, nr := cfg.walRows, len(decodeReaders)
	progress("7 wal: decode and fan-out of a %d-row INSERT, %d repetitions", n, cfg.reps)
	// got[k] holds reader k's results, one per repetition.
	got := make([][]decodeResult, nr)
	for rep := -1; rep < cfg.reps; rep++ { // rep -1: warm-up, not counted
		r := make([]decodeResult, nr)
		for i := range nr {
			k := (i + max(rep, 0)) % nr
			profile := ""
			if cfg.walProfile != "" && rep == 0 {
				profile = cfg.walProfile + "-" + decodeReaders[k].slot + ".prof"
			}
			res, err := decodeOnce(ctx, e, writer, slots, k, n, profile)
			if err != nil {
				return nil, fmt.Errorf("decode: %s: %w", decodeReaders[k].name, err)
			}
			r[k] = res
		}
		if rep < 0 {
			continue
		}
		line := ""
		for k := range nr {
			got[k] = append(got[k], r[k])
			line += fmt.Sprintf("; %s %.1fk rows/s, %.0f ns CPU, %.2f allocs, %.0f B per row",
				decodeReaders[k].name, r[k].rate/1e3, r[k].cpu, r[k].allocs, r[k].bytes)
		}
		progress("7 wal: decode rep %d/%d%s", rep+1, cfg.reps, line)
	}
	pick := func(k int, f func(decodeResult) float64) []float64 {
		var xs []float64
		for _, r := range got[k] {
			xs = append(xs, f(r))
		}
		return xs
	}
	// rowsOf returns the measurement's rows, one per reader: the bare loop
	// as the baseline, the others with the median of their per-repetition
	// ratios to it.
	rowsOf := func(meas, unit string, f func(decodeResult) float64) []Row {
		bare := pick(0, f)
		out := []Row{sample(walSection, meas, decodeReaders[0].name, unit, bare)}
		out[0].Ratio = 1
		for k := 1; k < nr; k++ {
			xs := pick(k, f)
			r := sample(walSection, meas, decodeReaders[k].name, unit, xs)
			r.Ratio = median(pairedRatios(xs, bare))
			out = append(out, r)
		}
		return out
	}
	// Goals are on the Source with its defaults, row 1 of each group.
	rate := rowsOf(fmt.Sprintf("decode %d-row INSERT, commit -> last", n), "rows/s",
		func(r decodeResult) float64 { return r.rate })
	rate[1].goal("at least 1.00x bare pglogrepl", rate[1].Ratio >= 1)
	cpu := rowsOf(fmt.Sprintf("decode %d-row INSERT: CPU per row, bench process", n), "ns",
		func(r decodeResult) float64 { return r.cpu })
	allocs := rowsOf(fmt.Sprintf("decode %d-row INSERT: heap allocations per row, bench process", n), "allocs",
		func(r decodeResult) float64 { return r.allocs })
	// Judged as printed: the allocations of the transaction itself (its
	// Begin and Commit, status updates, timers: tens to a few hundred for
	// the whole INSERT) show only in the fourth decimal.
	allocs[1].goal("at most 3.00", math.Round(allocs[1].Median*100)/100 <= 3)
	bytes := rowsOf(fmt.Sprintf("decode %d-row INSERT: bytes allocated per row (bigint, uuid, text), bench process", n), "B",
		func(r decodeResult) float64 { return r.bytes })
	bytes[1].goal("under 400 B", bytes[1].Median < 400)
	return slices.Concat(rate, cpu, allocs, bytes), nil
}
