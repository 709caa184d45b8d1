package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// burst sends n distinct notifications in one transaction and returns the
// moment just before COMMIT was sent: PostgreSQL delivers nothing before
// the commit, so that is when the clock starts.
func burst(ctx context.Context, conn *pgx.Conn, n int) (time.Time, error) {
	pg := conn.PgConn()
	sql := fmt.Sprintf("BEGIN; SELECT count(pg_notify('%s', 'public.bench:INSERT:' || g)) FROM generate_series(1, %d) g",
		notifyChannel, n)
	if _, err := pg.Exec(ctx, sql).ReadAll(); err != nil {
		return time.Time{}, err
	}
	t0 := time.Now()
	_, err := pg.Exec(ctx, "COMMIT").ReadAll()
	return t0, err
}

// drainRate is one timed burst: events/s from just before COMMIT to the
// last event, and from the first event to the last (the client's pace once
// notifications flow, without the server's commit and first wake-up).
type drainRate struct{ commit, flow float64 }

// drainOnce starts c, warms it up, times one burst of n and stops c.
func drainOnce(ctx context.Context, e *env, sender *pgx.Conn, c contender, n int) (drainRate, error) {
	s := newSink()
	if err := c.start(ctx, e.url, s); err != nil {
		return drainRate{}, err
	}
	defer c.stop()
	warm := max(n/10, 100)
	s.expect(int64(warm))
	if _, err := burst(ctx, sender, warm); err != nil {
		return drainRate{}, err
	}
	if _, err := s.wait(60 * time.Second); err != nil {
		return drainRate{}, fmt.Errorf("warm-up: %w", err)
	}
	// Nobody else's garbage is collected on this contender's clock.
	runtime.GC()
	s.expect(int64(n))
	cpu0 := processCPU()
	t0, err := burst(ctx, sender, n)
	if err != nil {
		return drainRate{}, err
	}
	t1, err := s.wait(60 * time.Second)
	if err != nil {
		return drainRate{}, err
	}
	time.Sleep(20 * time.Millisecond)
	if got, want := s.count.Load(), s.target.Load(); got != want {
		return drainRate{}, fmt.Errorf("received %d notifications, sent %d", got, want)
	}
	if debugDrain {
		progress("  %s: commit->first %v, first->last %v, process CPU %.0f ns/event", c.name(), s.firstAt().Sub(t0),
			t1.Sub(s.firstAt()), float64((processCPU()-cpu0).Nanoseconds())/float64(n))
	}
	return drainRate{
		commit: float64(n) / t1.Sub(t0).Seconds(),
		flow:   float64(n-1) / t1.Sub(s.firstAt()).Seconds(),
	}, nil
}

// runDrain measures section 1: events/s of one 100,000-NOTIFY transaction,
// contenders rotated within each repetition, each started fresh so that
// only one session listens at a time. Ratios are the median of the ratios
// to the bare loop within each repetition (paired, so drift cancels).
func runDrain(ctx context.Context, e *env, cfg config) ([]Row, error) {
	sender, err := pgx.Connect(ctx, e.urlWithApp("bench-sender"))
	if err != nil {
		return nil, err
	}
	defer sender.Close(ctx)
	cs := allContenders(cfg.drainN + 64)
	// pq*Paired are, per repetition, lib/pq's time over the Listener's
	// for the same burst size in the same repetition: above 1, the
	// Listener was faster.
	type series struct{ commit, flow, commitRatio, flowRatio, pqCommitPaired, pqFlowPaired []float64 }
	res := make(map[string]*series)
	for _, c := range cs {
		res[c.name()] = &series{}
	}
	failed := make(map[string]string)
	for rep := -1; rep < cfg.drainReps; rep++ { // rep -1: warm-up, not counted
		got := make(map[string]drainRate)
		for i := range cs {
			c := cs[(i+max(rep, 0))%len(cs)]
			if failed[c.name()] != "" {
				continue
			}
			r, err := drainOnce(ctx, e, sender, c, cfg.drainN)
			if err != nil {
				failed[c.name()] = err.Error()
				progress("drain: %s: %v", c.name(), err)
				continue
			}
			if rep >= 0 {
				got[c.name()] = r
				res[c.name()].commit = append(res[c.name()].commit, r.commit)
				res[c.name()].flow = append(res[c.name()].flow, r.flow)
			}
		}
		if b, ok := got[nameBare]; ok {
			for name, r := range got {
				res[name].commitRatio = append(res[name].commitRatio, r.commit/b.commit)
				res[name].flowRatio = append(res[name].flowRatio, r.flow/b.flow)
			}
		}
		if l, ok := got[nameListener]; ok {
			if pq, ok := got[namePq]; ok {
				// Time is n over rate: lib/pq's time over ours is our rate over its.
				s := res[nameListener]
				s.pqCommitPaired = append(s.pqCommitPaired, l.commit/pq.commit)
				s.pqFlowPaired = append(s.pqFlowPaired, l.flow/pq.flow)
			}
		}
		if rep >= 0 {
			progress("drain: rep %d/%d: commit->last bare %.2fM, Listener %.2fM, pgxlisten %.2fM, lib/pq %.2fM ev/s",
				rep+1, cfg.drainReps, got[nameBare].commit/1e6, got[nameListener].commit/1e6,
				got[namePgxlisten].commit/1e6, got[namePq].commit/1e6)
		}
	}
	var rows []Row
	for _, m := range []struct {
		meas                  string
		values, ratio, paired func(*series) []float64
	}{
		{fmt.Sprintf("drain %d NOTIFYs, commit -> last", cfg.drainN),
			func(s *series) []float64 { return s.commit }, func(s *series) []float64 { return s.commitRatio },
			func(s *series) []float64 { return s.pqCommitPaired }},
		{fmt.Sprintf("drain %d NOTIFYs, first -> last", cfg.drainN),
			func(s *series) []float64 { return s.flow }, func(s *series) []float64 { return s.flowRatio },
			func(s *series) []float64 { return s.pqFlowPaired }},
	} {
		first := len(rows)
		for _, c := range cs {
			if why := failed[c.name()]; why != "" {
				rows = append(rows, na("1 drain", m.meas, c.name(), why))
				continue
			}
			r := sample("1 drain", m.meas, c.name(), "ev/s", m.values(res[c.name()]))
			r.Ratio = median(m.ratio(res[c.name()]))
			rows = append(rows, r)
		}
		if failed[nameListener] == "" && failed[namePq] == "" && failed[nameBare] == "" {
			l := &rows[first+1]
			l.goal("at least 1.00x bare pgx", l.Ratio >= 1.0)
			p := sample("1 drain", m.meas+", paired", "lib/pq time / Listener time", "x", m.paired(res[nameListener]))
			p.goal(fmt.Sprintf("median >= 1.05 over >= 9 repetitions (%d)", len(p.Samples)),
				p.Median >= 1.05 && len(p.Samples) >= 9)
			rows = append(rows, p)
		}
	}
	if cfg.cpuprofile != "" {
		if err := profileDrain(ctx, e, sender, cfg); err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// profileDrain writes a CPU profile of the Listener draining bursts, and
// nothing else, to cfg.cpuprofile.
func profileDrain(ctx context.Context, e *env, sender *pgx.Conn, cfg config) error {
	f, err := os.Create(cfg.cpuprofile)
	if err != nil {
		return err
	}
	defer f.Close()
	c := &ours{mailboxCap: cfg.drainN + 64}
	s := newSink()
	if err := c.start(ctx, e.url, s); err != nil {
		return err
	}
	defer c.stop()
	bursts := cfg.profileBursts
	progress("drain: profiling the Listener over %d bursts into %s", bursts, cfg.cpuprofile)
	for i := range bursts + 1 {
		if i == 1 { // the first burst warms up
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		s.expect(int64(cfg.drainN))
		if _, err := burst(ctx, sender, cfg.drainN); err != nil {
			return err
		}
		if _, err := s.wait(60 * time.Second); err != nil {
			return err
		}
	}
	return nil
}

var debugDrain = os.Getenv("BENCH_DEBUG") != ""

// processCPU returns the user and system CPU time this process used so
// far: with BENCH_DEBUG, the CPU a contender spent on a burst (only one
// contender runs at a time).
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
