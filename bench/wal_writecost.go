package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// walClients are the concurrent writer counts of the single-row rows.
var walClients = []int{4, 16}

// wcPhase is one timed write of rows rows, measured in unit.
type wcPhase struct {
	meas string
	unit string
	rows int
	run  func(ctx context.Context, table string) (float64, error)
}

// runWALWriteCost measures what a running Source costs writers: the
// published table wc_pub with no source, the same table with a Source
// streaming it, the same with the bare pglogrepl loop instead (what the
// walsender costs whatever the client), and wc_trg, the same columns with the library's NOTIFY row
// trigger and a Listener (every notifying commit takes PostgreSQL's
// notify lock). Contenders are rotated per repetition and every reader
// has caught up before the next timing starts; ratios are to "no source"
// within each repetition.
func runWALWriteCost(ctx context.Context, e *env, cfg config, slots *slotNames) ([]Row, error) {
	progress("7 wal: write cost, %d-row bulk INSERT, %d txns at %v clients, %d repetitions",
		cfg.walRows, cfg.walTxns, walClients, cfg.reps)
	conns := make([]*pgx.Conn, max(walClients[0], walClients[1]))
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close(context.Background())
			}
		}
	}()
	for i := range conns {
		c, err := pgx.Connect(ctx, e.urlWithApp("bench-wal-writer"))
		if err != nil {
			return nil, err
		}
		conns[i] = c
	}
	meter, err := newCPUMeter(ctx, e)
	if err != nil {
		return nil, err
	}
	defer meter.close()
	var phases []wcPhase
	for _, n := range walClients {
		phases = append(phases, wcPhase{
			meas: fmt.Sprintf("1-row txns, %d clients x %d", n, cfg.walTxns/n),
			unit: "txn/s",
			rows: n * (cfg.walTxns / n),
			run: func(ctx context.Context, table string) (float64, error) {
				return timeSingleRows(ctx, conns[:n], table, cfg.walTxns/n)
			},
		})
	}
	phases = append(phases, wcPhase{
		meas: fmt.Sprintf("bulk INSERT of %d rows", cfg.walRows),
		unit: "rows/s",
		rows: cfg.walRows, // wal_src's size
		run: func(ctx context.Context, table string) (float64, error) {
			if _, err := conns[0].Exec(ctx, "TRUNCATE "+table); err != nil {
				return 0, err
			}
			start := time.Now()
			tag, err := conns[0].Exec(ctx, "INSERT INTO "+table+" SELECT * FROM wal_src")
			return float64(tag.RowsAffected()) / time.Since(start).Seconds(), err
		},
	})
	names := []string{nameNoSource, nameWithSource, nameWithBare, nameWithNotify}
	// vals[phase][contender], ratios[phase][contender] and
	// costs[phase][contender], one per repetition.
	vals := make([][][]float64, len(phases))
	ratios := make([][][]float64, len(phases))
	toBare := make([][]float64, len(phases))
	costs := make([][][]cpuCost, len(phases))
	for p := range phases {
		vals[p], ratios[p] = make([][]float64, len(names)), make([][]float64, len(names))
		costs[p] = make([][]cpuCost, len(names))
	}
	for rep := -1; rep < cfg.reps; rep++ { // rep -1: warm-up, not counted
		got := make([][]float64, len(phases))
		gotCost := make([][]cpuCost, len(phases))
		for p := range got {
			got[p] = make([]float64, len(names))
			gotCost[p] = make([]cpuCost, len(names))
		}
		for k := range names {
			c := (k + max(rep, 0)) % len(names)
			record := func(p int, v float64, k cpuCost) { got[p][c], gotCost[p][c] = v, k }
			if err := writeCostOnce(ctx, e, slots, meter, c, phases, cfg.walRows+cfg.walTxns+1024, record); err != nil {
				return nil, fmt.Errorf("write cost: %s: %w", names[c], err)
			}
		}
		if rep < 0 {
			continue
		}
		for p := range phases {
			for c := range names {
				vals[p][c] = append(vals[p][c], got[p][c])
				ratios[p][c] = append(ratios[p][c], got[p][c]/got[p][0])
				costs[p][c] = append(costs[p][c], gotCost[p][c])
			}
			toBare[p] = append(toBare[p], got[p][1]/got[p][2])
		}
		for p := range phases[:len(walClients)] {
			progress("7 wal: write cost rep %d/%d, %d clients: Source %s; bare loop %s; no source %s", rep+1, cfg.reps, walClients[p],
				cpuProgress(gotCost[p][1], phases[p].rows), cpuProgress(gotCost[p][2], phases[p].rows), cpuProgress(gotCost[p][0], phases[p].rows))
		}
		b := got[len(phases)-1]
		progress("7 wal: write cost rep %d/%d: bulk none %.0fk, Source %.0fk, bare loop %.0fk, trigger %.0fk rows/s",
			rep+1, cfg.reps, b[0]/1e3, b[1]/1e3, b[2]/1e3, b[3]/1e3)
	}
	var rows []Row
	for p, ph := range phases {
		for c, name := range names {
			r := sample(walSection, ph.meas, name, ph.unit, vals[p][c])
			r.Ratio = median(ratios[p][c])
			if c == 1 {
				want := 0.97
				if ph.unit == "rows/s" {
					want = 0.9
				}
				r.goal(fmt.Sprintf("at least %.2fx no source", want), r.Ratio >= want)
			}
			rows = append(rows, r)
		}
		// The part of the Source's cost that is the client's: the walsender
		// costs the same whatever reads its stream.
		r := sample(walSection, ph.meas, nameSourceToBare, ph.unit, vals[p][1])
		r.Ratio = median(toBare[p])
		rows = append(rows, r)
	}
	for p, ph := range phases[:len(walClients)] {
		rows = append(rows, cpuRows(ph.meas, names, ph.rows, costs[p])...)
	}
	return rows, nil
}

// writeCostOnce starts contender c's reader (none, a Source, the bare
// pglogrepl loop, or a Listener), times every phase on its table, waiting
// after each until the reader has received every row, and stops the
// reader. Each phase's CPU cost runs from its start to the reader's
// catching up.
func writeCostOnce(ctx context.Context, e *env, slots *slotNames, meter *cpuMeter, c int, phases []wcPhase, capacity int, record func(int, float64, cpuCost)) error {
	s := newSink()
	on := func(*pubsub.Event) { s.hit() }
	table := "wc_pub"
	var stop func()
	switch c {
	case 1:
		r, err := startSource(ctx, e.url, slots.next("wc"), walPublication, capacity, 0, on)
		if err != nil {
			return err
		}
		stop = r.stop
	case 2:
		b, err := startBareRepl(ctx, e.url, slots.next("wcbare"), walPublication, s)
		if err != nil {
			return err
		}
		stop = b.stop
	case 3:
		table = "wc_trg"
		r, err := startNotifyListener(withApp(e.url, "bench-wal-listener"), capacity, on)
		if err != nil {
			return err
		}
		stop = r.stop
	}
	reader := stop != nil
	if reader {
		defer stop()
	}
	for p, ph := range phases {
		s.expect(int64(ph.rows))
		before, err := meter.snap(ctx)
		if err != nil {
			return err
		}
		v, err := ph.run(ctx, table)
		if err != nil {
			return err
		}
		if reader {
			// Wait for the reader, so that its work on this phase is not
			// counted against the next one.
			if _, err := s.wait(120 * time.Second); err != nil {
				return fmt.Errorf("reader catching up: %w", err)
			}
		}
		after, err := meter.snap(ctx)
		if err != nil {
			return err
		}
		record(p, v, after.since(before))
	}
	return nil
}

// timeSingleRows times every connection committing txns single-row
// INSERTs concurrently into table, emptied first, and returns txn/s.
func timeSingleRows(ctx context.Context, conns []*pgx.Conn, table string, txns int) (float64, error) {
	if _, err := conns[0].Exec(ctx, "TRUNCATE "+table); err != nil {
		return 0, err
	}
	sql := "INSERT INTO " + table + " (id, uuid, name) VALUES ($1, gen_random_uuid(), 'single')"
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range txns {
				if _, err := c.Exec(ctx, sql, int64(i*txns+j+1)); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return float64(len(conns)*txns) / d.Seconds(), nil
}
