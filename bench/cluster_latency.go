package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/listener"
)

// latencyResults collects section 8's latency and backend figures, per
// group in the order measured.
type latencyResults struct {
	names          []string
	p50, p99, pmax map[string][]float64
	backends       map[string][]float64
	// Per repetition: CPU of this process per change delivered to a
	// mailbox (µs), cores busy in this process and in the NATS server,
	// and the machine's 1-minute load average after it.
	cpu, busy, busyNATS, load map[string][]float64
	// rate is the commits per second each repetition achieved.
	rate map[string][]float64
	// bareOf names each group's bare JetStream baseline; overBare is,
	// per repetition, the group's p99 over its baseline's in the round
	// right after it.
	bareOf   map[string]string
	overBare map[string][]float64
	// bareCPU is, per baseline repetition, the CPU of this process per
	// message delivered to a consumer; natsPer, per repetition of a
	// cluster group or a baseline, the NATS server's CPU per change or
	// message delivered.
	bareCPU, natsPer map[string][]float64
}

// writeRound writes k single-row transactions to the table of dbURL at
// cfg.clusterRate per second, with ids after ce.nextID, and returns the
// moment just before each COMMIT in unix ns: nothing is delivered before
// the commit.
func (ce *clusterEnv) writeRound(ctx context.Context, dbURL string, k, rate int) ([]int64, error) {
	pg := ce.writers[dbURL].PgConn()
	commit := make([]int64, k)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range k {
		// Pacing, not synchronisation: writes are due at a steady rate
		// whatever the readers do.
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		id := ce.nextID + int64(i) + 1
		if _, err := pg.Exec(ctx, fmt.Sprintf("BEGIN; INSERT INTO %s (id, name) VALUES (%d, 'x')", clusterTable, id)).ReadAll(); err != nil {
			return nil, err
		}
		commit[i] = time.Now().UnixNano()
		if _, err := pg.Exec(ctx, "COMMIT").ReadAll(); err != nil {
			return nil, err
		}
	}
	ce.nextID += int64(k)
	return commit, nil
}

// round writes k rows and returns the latencies, in µs, of every row at
// every instance of g, and the moments of the commits (see writeRound).
func (ce *clusterEnv) round(ctx context.Context, g *group, dbURL string, k, rate int) ([]float64, []int64, error) {
	rs := g.arm(ce.nextID, k)
	commit, err := ce.writeRound(ctx, dbURL, k, rate)
	if err != nil {
		return nil, nil, err
	}
	if _, err := g.wait(60 * time.Second); err != nil {
		return nil, nil, err
	}
	var out []float64
	for _, r := range rs {
		out = append(out, latencies(commit, r.at)...)
	}
	return out, commit, nil
}

// achievedRate is the rate at which commits came, per second: below the
// asked rate when each transaction's round trips took longer than its
// share of a second (a loaded machine).
func achievedRate(commit []int64) float64 {
	if len(commit) < 2 {
		return 0
	}
	return float64(len(commit)-1) / (float64(commit[len(commit)-1]-commit[0]) / 1e9)
}

// measure runs a warm-up round and cfg.reps timed rounds on g, sampling
// the database's change-reading backends meanwhile. With bare set, each
// round is followed by one of that JetStream baseline at the same rate,
// so that both see the same load.
func (lr *latencyResults) measure(ctx context.Context, ce *clusterEnv, cfg config, g *group, dbURL string, bare *bareLatency) error {
	if lr.p50 == nil {
		lr.p50, lr.p99, lr.pmax = map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
		lr.backends = map[string][]float64{}
		lr.cpu, lr.busy, lr.busyNATS, lr.load = map[string][]float64{}, map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
		lr.bareOf, lr.overBare, lr.rate = map[string]string{}, map[string][]float64{}, map[string][]float64{}
		lr.bareCPU, lr.natsPer = map[string][]float64{}, map[string][]float64{}
	}
	lr.names = append(lr.names, g.name)
	bareName := ""
	if bare != nil {
		bareName = nameBareLatency(len(g.ins))
		lr.names = append(lr.names, bareName)
		lr.bareOf[g.name] = bareName
	}
	_, warm, err := ce.round(ctx, g, dbURL, min(cfg.clusterLatN, 200), cfg.clusterRate)
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if bare != nil {
		if _, err := bare.round(ctx, warm); err != nil {
			return fmt.Errorf("%s: warm-up: %w", bareName, err)
		}
	}
	stopSampling, err := sampleBackends(ctx, dbURL, func(n float64) {
		lr.backends[g.name] = append(lr.backends[g.name], n)
	})
	if err != nil {
		return err
	}
	defer stopSampling()
	for rep := range cfg.reps {
		runtime.GC()
		profile, trace := "", ""
		if rep == 0 && cfg.clusterProfile != "" {
			profile = fmt.Sprintf("%s.latency-%d", cfg.clusterProfile, len(g.ins))
		}
		if rep == 0 && cfg.clusterTrace != "" {
			trace = fmt.Sprintf("%s.latency-%d", cfg.clusterTrace, len(g.ins))
		}
		stopProfile, err := startProfile(profile)
		if err != nil {
			return err
		}
		stopTrace, err := startTrace(trace)
		if err != nil {
			stopProfile()
			return err
		}
		self0, nats0, t0 := selfCPU(), processTime(ce.ns.pid()), time.Now()
		got, commit, err := ce.round(ctx, g, dbURL, cfg.clusterLatN, cfg.clusterRate)
		self, nats, wall := selfCPU()-self0, processTime(ce.ns.pid())-nats0, time.Since(t0)
		stopTrace()
		stopProfile()
		if err != nil {
			return err
		}
		lr.cpu[g.name] = append(lr.cpu[g.name], self.Seconds()*1e6/float64(len(got)))
		lr.busy[g.name] = append(lr.busy[g.name], self.Seconds()/wall.Seconds())
		lr.busyNATS[g.name] = append(lr.busyNATS[g.name], nats.Seconds()/wall.Seconds())
		if l, ok := loadAverage(); ok {
			lr.load[g.name] = append(lr.load[g.name], l)
		}
		lr.rate[g.name] = append(lr.rate[g.name], achievedRate(commit))
		if g.ins[0].cl != nil {
			lr.natsPer[g.name] = append(lr.natsPer[g.name], nats.Seconds()*1e6/float64(len(got)))
		}
		lr.p50[g.name] = append(lr.p50[g.name], percentile(got, 50))
		lr.p99[g.name] = append(lr.p99[g.name], percentile(got, 99))
		lr.pmax[g.name] = append(lr.pmax[g.name], percentile(got, 100))
		progress("8 cluster: %s: rep %d/%d: p50 %.0f µs, p99 %.0f µs, max %.0f µs over %d arrivals, %.0f txns/s, CPU per delivered change %.1f µs here, %.1f µs in NATS",
			g.name, rep+1, cfg.reps, last(lr.p50[g.name]), last(lr.p99[g.name]), last(lr.pmax[g.name]), len(got), last(lr.rate[g.name]),
			last(lr.cpu[g.name]), nats.Seconds()*1e6/float64(len(got)))
		if bare == nil {
			continue
		}
		runtime.GC()
		self0, nats0 = selfCPU(), processTime(ce.ns.pid())
		got, err = bare.round(ctx, commit)
		self, nats = selfCPU()-self0, processTime(ce.ns.pid())-nats0
		if err != nil {
			return fmt.Errorf("%s: %w", bareName, err)
		}
		lr.bareCPU[bareName] = append(lr.bareCPU[bareName], self.Seconds()*1e6/float64(len(got)))
		lr.natsPer[bareName] = append(lr.natsPer[bareName], nats.Seconds()*1e6/float64(len(got)))
		lr.p50[bareName] = append(lr.p50[bareName], percentile(got, 50))
		lr.p99[bareName] = append(lr.p99[bareName], percentile(got, 99))
		lr.pmax[bareName] = append(lr.pmax[bareName], percentile(got, 100))
		lr.overBare[g.name] = append(lr.overBare[g.name], last(lr.p99[g.name])/last(lr.p99[bareName]))
		progress("8 cluster: %s: rep %d/%d: p50 %.0f µs, p99 %.0f µs, max %.0f µs over %d arrivals, CPU per delivered message %.1f µs here, %.1f µs in NATS",
			bareName, rep+1, cfg.reps, last(lr.p50[bareName]), last(lr.p99[bareName]), last(lr.pmax[bareName]), len(got),
			last(lr.bareCPU[bareName]), last(lr.natsPer[bareName]))
	}
	return nil
}

// changeReaders counts the backends of the current database that read
// changes: the Listener's LISTEN sessions (by their application name) and
// walsenders. The Listener's cross-session probe, a short session under
// the same name, runs once right after LISTEN and then only after a minute
// without changes, so it is not seen while changes flow.
const changeReaders = `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND (application_name = $1 OR backend_type = 'walsender')`

// sampleBackends counts change-reading backends of dbURL every 100 ms,
// once at once, until the returned func is called (it waits for the
// sampler).
func sampleBackends(ctx context.Context, dbURL string, record func(float64)) (func(), error) {
	conn, err := pgx.Connect(ctx, withApp(dbURL, "bench-cluster-backends"))
	if err != nil {
		return nil, err
	}
	sample := func() {
		var n int
		if err := conn.QueryRow(ctx, changeReaders, listener.DefaultApplicationName).Scan(&n); err == nil {
			record(float64(n))
		}
	}
	sample()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer conn.Close(context.Background())
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				sample()
				return
			case <-t.C:
				sample()
			}
		}
	})
	return func() { close(stop); wg.Wait() }, nil
}

// rows returns the latency rows: the single instance first (the ratio's
// baseline), then each cluster size.
func (lr *latencyResults) rows(cfg config) []Row {
	var rows []Row
	for _, m := range []struct {
		label string
		xs    map[string][]float64
	}{{"p50", lr.p50}, {"p99", lr.p99}, {"max", lr.pmax}} {
		meas := fmt.Sprintf("commit -> every mailbox %s, %d txns at %d/s", m.label, cfg.clusterLatN, cfg.clusterRate)
		var base float64
		for _, name := range lr.names {
			r := sample(clusterSection, meas, name, "µs", m.xs[name])
			if name == nameSingle {
				base = r.Median
			} else if base > 0 && r.NA == "" {
				r.Ratio = r.Median / base
				if m.label == "p99" && lr.isGroup(name) {
					r.goal("at most 10 ms", r.Median <= 10000)
				}
			}
			rows = append(rows, r)
		}
	}
	for _, name := range lr.names {
		if xs := lr.overBare[name]; len(xs) > 0 {
			rows = append(rows, sample(clusterSection, fmt.Sprintf("commit -> every mailbox p99 over %s's publish -> every consumer p99, paired rounds", lr.bareOf[name]),
				name, "x", xs))
		}
	}
	return rows
}

// isGroup reports whether name is a cluster group's, not a baseline's.
func (lr *latencyResults) isGroup(name string) bool {
	for _, b := range lr.bareOf {
		if b == name {
			return false
		}
	}
	return true
}

// cpuRows returns, per group, what the latency rounds cost: CPU of the
// instances' process per change delivered to a mailbox (the writer's
// connection and the pacing count too: at 1,000 changes/s a single
// instance's figure is mostly that), the cores it and the NATS server
// kept busy, and the machine's load average (other
// processes than these count there: on 2 cores, a load above 2 means
// runnable threads waited, which is what a p99 measures).
func (lr *latencyResults) cpuRows(cfg config) []Row {
	var rows []Row
	for _, m := range []struct {
		meas, unit string
		xs         map[string][]float64
	}{
		{"CPU of the instances' process per change delivered to a mailbox, latency rounds", "µs", lr.cpu},
		{"cores busy in the latency rounds: the instances' process (writer included)", "cores", lr.busy},
		{"cores busy in the latency rounds: the NATS server", "cores", lr.busyNATS},
		{"CPU of the bare JetStream consumers' process per message delivered to a consumer, paired rounds", "µs", lr.bareCPU},
		{"CPU of the NATS server per change or message delivered, latency rounds", "µs", lr.natsPer},
		{fmt.Sprintf("machine load average (1 min) after each latency round, %d cores", runtime.NumCPU()), "", lr.load},
		{"single-row txns committed per second in the latency rounds (the writer's pace)", "txn/s", lr.rate},
	} {
		for _, name := range lr.names {
			if len(m.xs[name]) == 0 {
				continue // not measured for it (a baseline has no instances; a single instance no NATS)
			}
			if name == nameSingle && m.unit == "cores" && strings.HasSuffix(m.meas, "NATS server") {
				continue // it uses none
			}
			rows = append(rows, sample(clusterSection, m.meas, name, m.unit, m.xs[name]))
		}
	}
	return rows
}

// loadAverage returns the machine's 1-minute load average.
func loadAverage() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	l, err := strconv.ParseFloat(f[0], 64)
	return l, err == nil
}

// processTime returns the time on CPU of every thread of process pid
// (0 if unknown): the NATS server is a Go process of many threads.
func processTime(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(dir + "/" + strconv.Itoa(tid) + "/schedstat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				total += time.Duration(ns)
			}
		}
	}
	return total
}

// backendRows returns, per group, the change-reading backends seen while
// it ran: median, min and max over the samples.
func (lr *latencyResults) backendRows() []Row {
	var rows []Row
	for _, name := range lr.names {
		if !lr.isGroup(name) {
			continue
		}
		r := sample(clusterSection, "PostgreSQL backends reading changes (LISTEN or walsender), sampled every 100 ms",
			name, "backends", lr.backends[name])
		if name != nameSingle && r.NA == "" {
			r.goal("1 at every sample", r.Min == 1 && r.Max == 1)
		}
		rows = append(rows, r)
	}
	return rows
}
