package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// nameWriter names the writer's own pace in section 8's burst rows.
const nameWriter = "PostgreSQL committing them (the writer)"

// burstTxnRows is the size of each transaction of section 8's burst: the
// issue's shape, 100 single-table rows, committed one after another.
const burstTxnRows = 100

// burstResults collects section 8's burst figures: events/s per instance
// from just before the first COMMIT until the last instance had the last
// row, with batched stream messages (the default) and with one message per
// change (cluster.Config.SingleChangeMessages), the changes per stream
// message each achieved, PostgreSQL's own pace (the writer's commits) and
// the bare JetStream ceiling for messages of the shape each achieved.
type burstResults struct {
	group, unbatchedGroup string
	instances             int
	single, groupR        []float64 // single instance and batched group, paired
	perMsg                []float64 // changes per stream message, batched group
	single2, unbatched    []float64 // single instance and unbatched group, paired
	perMsgUnbatched       []float64
	bare, bareUnbatched   []float64 // bareRound of each group's messages, in changes/s per consumer
	writer                []float64 // rows/s the writer committed, batched group's rounds
	cpuSingle, cpuGroup   []float64 // burstOutcome.cpu, paired
}

// burstOutcome is one burst round's figures.
type burstOutcome struct {
	rate   float64 // changes/s per instance, first COMMIT -> last row at every mailbox
	write  float64 // rows/s committed by the writer (the last COMMIT's return)
	perMsg float64 // changes per stream message (0 for a single instance)
	msgs   uint64  // stream messages the burst took
	bytes  uint64  // their stored bytes
	cpu    float64 // CPU-seconds of this process (every instance of g) per change delivered to a mailbox
}

// burstSQL returns the n rows after first as transactions of burstTxnRows
// rows each, one after another, in one query string: PostgreSQL runs them
// back to back, committing each, with no round trip between them.
func burstSQL(first int64, n int) string {
	var b strings.Builder
	for from := first + 1; from <= first+int64(n); from += burstTxnRows {
		to := min(from+burstTxnRows-1, first+int64(n))
		fmt.Fprintf(&b, "BEGIN; INSERT INTO %s (id, name) SELECT g, 'x' FROM generate_series(%d::bigint, %d::bigint) g; COMMIT; ",
			clusterTable, from, to)
	}
	return b.String()
}

// burstRound writes n rows in transactions of burstTxnRows to the table
// of dbURL and measures until every instance of g had every row. For a
// cluster group it reads the changes per stream message from the first
// instance's stream position, and the stream's bytes (js, nil for a
// single instance).
//
// With profile set, the round is CPU-profiled into that file.
func (ce *clusterEnv) burstRound(ctx context.Context, g *group, dbURL string, n int, js jetstream.JetStream, stream, profile string) (burstOutcome, error) {
	var out burstOutcome
	g.arm(ce.nextID, n)
	var pos0, bytes0 uint64
	info := func() (uint64, error) {
		if js == nil {
			return 0, nil
		}
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return 0, err
		}
		return s.CachedInfo().State.Bytes, nil
	}
	if cl := g.ins[0].cl; cl != nil {
		pos0 = cl.Stats().Position
	}
	var err error
	if bytes0, err = info(); err != nil {
		return out, err
	}
	pg := ce.writers[dbURL].PgConn()
	sql := burstSQL(ce.nextID, n)
	ce.nextID += int64(n)
	stopProfile, err := startProfile(profile)
	if err != nil {
		return out, err
	}
	defer stopProfile()
	runtime.GC() // nobody else's garbage on this clock
	cpu0 := selfCPU()
	t0 := time.Now()
	if _, err := pg.Exec(ctx, sql).ReadAll(); err != nil {
		return out, err
	}
	tw := time.Now()
	t1, err := g.wait(2 * time.Minute)
	if err != nil {
		return out, err
	}
	// The consumers have counted the last row: what the instances spent
	// on this burst is spent (the writer is PostgreSQL, another process).
	out.cpu = (selfCPU() - cpu0).Seconds() / float64(n*len(g.ins))
	stopProfile()
	out.rate, out.write = float64(n)/t1.Sub(t0).Seconds(), float64(n)/tw.Sub(t0).Seconds()
	if cl := g.ins[0].cl; cl != nil {
		if out.msgs = cl.Stats().Position - pos0; out.msgs > 0 {
			out.perMsg = float64(n) / float64(out.msgs)
		}
		b, err := info()
		if err != nil {
			return out, err
		}
		out.bytes = b - bytes0
	}
	return out, nil
}

// measure times cfg.reps bursts of cfg.clusterBurst rows on the single
// instance and on g alternately, after a warm-up burst of a tenth on each;
// unbatched says g runs with SingleChangeMessages. Each rep also runs the
// bare JetStream round with as many messages of the size g's burst took.
func (br *burstResults) measure(ctx context.Context, ce *clusterEnv, cfg config, single, g *group, stream string, unbatched bool) error {
	if unbatched {
		br.unbatchedGroup = g.name
	} else {
		br.group = g.name
	}
	br.instances = len(g.ins)
	nc, err := nats.Connect(ce.ns.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	n := cfg.clusterBurst
	for rep := -1; rep < cfg.reps; rep++ { // rep -1: warm-up, not counted
		k := n
		if rep < 0 {
			k = max(n/10, 100)
		}
		s, err := ce.burstRound(ctx, single, ce.singleURL, k, nil, "", "")
		if err != nil {
			return fmt.Errorf("burst: %w", err)
		}
		profile := ""
		if rep == 0 && !unbatched {
			profile = cfg.clusterProfile
		}
		c, err := ce.burstRound(ctx, g, ce.groupURL, k, js, stream, profile)
		if err != nil {
			return fmt.Errorf("burst: %w", err)
		}
		if rep < 0 {
			continue
		}
		// The ceiling for what this burst took: as many messages, of the
		// size they had on average, to as many consumers.
		size := int(c.bytes / max(c.msgs, 1))
		b, err := ce.bareRound(ctx, rep, int(c.msgs), len(g.ins), size)
		if err != nil {
			return fmt.Errorf("bare JetStream: %w", err)
		}
		b *= c.perMsg // messages/s -> changes/s
		if unbatched {
			br.single2, br.unbatched, br.perMsgUnbatched = append(br.single2, s.rate), append(br.unbatched, c.rate), append(br.perMsgUnbatched, c.perMsg)
			br.bareUnbatched = append(br.bareUnbatched, b)
		} else {
			br.single, br.groupR, br.perMsg = append(br.single, s.rate), append(br.groupR, c.rate), append(br.perMsg, c.perMsg)
			br.bare, br.writer = append(br.bare, b), append(br.writer, c.write)
			br.cpuSingle, br.cpuGroup = append(br.cpuSingle, s.cpu), append(br.cpuGroup, c.cpu)
		}
		progress("8 cluster: burst rep %d/%d: %s %.1fk ev/s, %s %.1fk ev/s (%.3fx), %.1f changes/message of %d bytes, %s %.1fk ev/s; PostgreSQL committed %.1fk rows/s",
			rep+1, cfg.reps, single.name, s.rate/1e3, g.name, c.rate/1e3, c.rate/s.rate, c.perMsg, size, nameBareJS(len(g.ins)), b/1e3, c.write/1e3)
	}
	return nil
}

func (br *burstResults) rows(cfg config) []Row {
	if br.group == "" {
		return nil
	}
	meas := fmt.Sprintf("burst of %d changes in txns of %d rows, first commit -> last row at every mailbox", cfg.clusterBurst, burstTxnRows)
	s := sample(clusterSection, meas, nameSingle, "ev/s", br.single)
	s.Ratio = 1
	c := sample(clusterSection, meas, br.group, "ev/s", br.groupR)
	c.Ratio = median(pairedRatios(br.groupR, br.single))
	c.goal("at least 0.50x the single instance", c.Ratio >= 0.5)
	b := sample(clusterSection, meas, nameBareJS(br.instances)+", the batched messages", "ev/s", br.bare)
	b.Ratio = median(pairedRatios(br.bare, br.single))
	w := sample(clusterSection, meas, nameWriter, "ev/s", br.writer)
	w.Ratio = median(pairedRatios(br.writer, br.single))
	rows := []Row{s, c, b, w}
	rows = append(rows, br.cpuRows(c.Ratio)...)
	perMeas := fmt.Sprintf("changes per stream message in the burst of %d", cfg.clusterBurst)
	rows = append(rows, sample(clusterSection, perMeas, br.group, "changes/msg", br.perMsg))
	if br.unbatchedGroup != "" {
		u := sample(clusterSection, meas, br.unbatchedGroup, "ev/s", br.unbatched)
		if len(br.unbatched) > 0 {
			u.Ratio = median(pairedRatios(br.unbatched, br.single2))
		}
		// Batched against unbatched, each as a ratio of the single
		// instance measured beside it.
		// The batched group cannot deliver faster than PostgreSQL commits:
		// the writer's pace against this bounds the gain.
		if u.Ratio > 0 && c.Ratio > 0 {
			gain := c.Ratio / u.Ratio
			u.goal(fmt.Sprintf("batched at least 10x this (%.1fx; the writer %.1fx)", gain, w.Ratio/u.Ratio), gain >= 10)
		}
		ub := sample(clusterSection, meas, nameBareJS(br.instances)+", one message per change", "ev/s", br.bareUnbatched)
		if len(br.bareUnbatched) > 0 {
			ub.Ratio = median(pairedRatios(br.bareUnbatched, br.single2))
		}
		rows = append(rows, u, ub, sample(clusterSection, perMeas, br.unbatchedGroup, "changes/msg", br.perMsgUnbatched))
	}
	return rows
}

// cpuRows returns what the instances' process spent per change delivered
// to a mailbox, single instance and batched group, and the cores the group
// would need to reach 0.5x the single instance at that cost: all
// instances run in this process, on this machine's cores.
func (br *burstResults) cpuRows(ratio float64) []Row {
	meas := "CPU of the instances' process per change delivered to a mailbox, in the burst"
	us := func(xs []float64) []float64 {
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = x * 1e6
		}
		return out
	}
	s := sample(clusterSection, meas, nameSingle, "µs", us(br.cpuSingle))
	g := sample(clusterSection, meas, br.group, "µs", us(br.cpuGroup))
	if s.Median > 0 {
		g.Ratio = g.Median / s.Median
	}
	// At 0.5x the single instance's rate, every instance delivers that
	// many changes a second, each costing the group's CPU per change.
	var need []float64
	for i := range min(len(br.single), len(br.cpuGroup)) {
		need = append(need, 0.5*br.single[i]*float64(br.instances)*br.cpuGroup[i])
	}
	n := sample(clusterSection, "cores the batched group needs for 0.5x the single instance at its CPU per change",
		br.group, "cores", need)
	cores := runtime.NumCPU()
	n.goal(fmt.Sprintf("at most the %d cores here (with 0.5x %s)", cores, map[bool]string{true: "met", false: "not met"}[ratio >= 0.5]),
		n.Median <= float64(cores))
	return []Row{s, g, n}
}

// startProfile CPU-profiles into path until the returned func is called
// (it may be called twice); an empty path profiles nothing.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	progress("8 cluster: CPU-profiling into %s", path)
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}, nil
}

// startTrace writes a runtime/trace into path until the returned func is
// called (it may be called twice); an empty path traces nothing.
func startTrace(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, err
	}
	progress("8 cluster: tracing into %s", path)
	var once sync.Once
	return func() {
		once.Do(func() {
			trace.Stop()
			f.Close()
		})
	}, nil
}
