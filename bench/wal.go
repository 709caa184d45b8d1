package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
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

// runWAL measures section 7: decode and fan-out, commit-to-mailbox
// latency, and write cost, each against its baseline within the run.
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
	var tables []phoenixkitdb.Table
	for _, t := range walTables {
		tables = append(tables, phoenixkitdb.Table{Schema: "public", Name: t})
	}
	// wc_trg is published too, so that its writes cost what a published
	// table's do; no Source runs while it is measured.
	if err := phoenixkitdb.EnsurePublication(ctx, conn, walPublication, tables...); err != nil {
		return err
	}
	for _, t := range []string{"wal_lat", "wc_trg"} {
		if err := phoenixkitdb.EnsureTrigger(ctx, conn, "public", t); err != nil {
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

// decodeOnce starts one reader (the Source or the bare loop), warms it up,
// times one bulk INSERT from just before COMMIT to the last change
// received, and stops it. It returns rows/s and the CPU time this process
// spent per row meanwhile (ns), which is the reader's: the writer only
// waits for COMMIT. Unlike rows/s, the CPU time hardly depends on what
// else the machine runs.
func decodeOnce(ctx context.Context, e *env, writer *pgx.Conn, slots *slotNames, bareLoop bool, n int) (float64, float64, error) {
	s := newSink()
	var stop func()
	if bareLoop {
		b, err := startBareRepl(ctx, e.url, slots.next("bare"), walPublication, s)
		if err != nil {
			return 0, 0, err
		}
		stop = b.stop
	} else {
		r, err := startSource(ctx, e.url, slots.next("src"), walPublication, n+1024, func(*pubsub.Event) { s.hit() })
		if err != nil {
			return 0, 0, err
		}
		stop = r.stop
	}
	defer stop()
	warm := max(n/10, 100)
	s.expect(int64(warm))
	if _, err := insertBulk(ctx, writer, "wal_decode", warm); err != nil {
		return 0, 0, err
	}
	if _, err := s.wait(120 * time.Second); err != nil {
		return 0, 0, fmt.Errorf("warm-up: %w", err)
	}
	runtime.GC()
	s.expect(int64(n))
	var cpu0 time.Duration
	t0, err := insertBulkThen(ctx, writer, "wal_decode", n, func() { cpu0 = selfCPU() })
	if err != nil {
		return 0, 0, err
	}
	t1, err := s.wait(120 * time.Second)
	if err != nil {
		return 0, 0, err
	}
	return float64(n) / t1.Sub(t0).Seconds(), float64((selfCPU() - cpu0).Nanoseconds()) / float64(n), nil
}

// runWALDecode times the bulk INSERT's stream through the Source and
// through the bare loop, alternately, each started fresh; the ratio is the
// median of the ratios within each repetition.
func runWALDecode(ctx context.Context, e *env, cfg config, slots *slotNames) ([]Row, error) {
	writer, err := pgx.Connect(ctx, e.urlWithApp("bench-wal-writer"))
	if err != nil {
		return nil, err
	}
	defer writer.Close(context.Background())
	n := cfg.walRows
	progress("7 wal: decode and fan-out of a %d-row INSERT, %d repetitions", n, cfg.reps)
	var bare, src, ratio, bareCPU, srcCPU, cpuRatio []float64
	for rep := -1; rep < cfg.reps; rep++ { // rep -1: warm-up, not counted
		var got, cpu [2]float64
		for i := range 2 {
			bareLoop := (i+max(rep, 0))%2 == 0
			v, c, err := decodeOnce(ctx, e, writer, slots, bareLoop, n)
			if err != nil {
				name := nameSource
				if bareLoop {
					name = nameBareRepl
				}
				return nil, fmt.Errorf("decode: %s: %w", name, err)
			}
			k := 1
			if bareLoop {
				k = 0
			}
			got[k], cpu[k] = v, c
		}
		if rep < 0 {
			continue
		}
		bare, src = append(bare, got[0]), append(src, got[1])
		ratio = append(ratio, got[1]/got[0])
		bareCPU, srcCPU = append(bareCPU, cpu[0]), append(srcCPU, cpu[1])
		cpuRatio = append(cpuRatio, cpu[1]/cpu[0])
		progress("7 wal: decode rep %d/%d: bare %.1fk, Source %.1fk rows/s; CPU bare %.0f, Source %.0f ns/row",
			rep+1, cfg.reps, got[0]/1e3, got[1]/1e3, cpu[0], cpu[1])
	}
	meas := fmt.Sprintf("decode %d-row INSERT, commit -> last", n)
	b := sample(walSection, meas, nameBareRepl, "rows/s", bare)
	b.Ratio = 1
	s := sample(walSection, meas, nameSource, "rows/s", src)
	s.Ratio = median(ratio)
	s.goal("at least 0.80x bare pglogrepl", s.Ratio >= 0.8)
	cmeas := fmt.Sprintf("decode %d-row INSERT: CPU per row, bench process", n)
	bc := sample(walSection, cmeas, nameBareRepl, "ns", bareCPU)
	bc.Ratio = 1
	sc := sample(walSection, cmeas, nameSource, "ns", srcCPU)
	sc.Ratio = median(cpuRatio)
	return []Row{b, s, bc, sc}, nil
}
