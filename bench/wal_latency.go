package main

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// arrivals records when each row of one repetition reached a consumer,
// indexed by row id minus base. Only the consumer goroutine writes; the
// sink's done channel orders its writes before the reader's reads.
type arrivals struct {
	base int64
	at   []int64 // unix ns, 0 = not yet
	s    *sink
}

func (a *arrivals) on(ev *pubsub.Event) {
	id, err := strconv.ParseInt(ev.RowID, 10, 64)
	if err != nil || id <= a.base || id > a.base+int64(len(a.at)) {
		return
	}
	a.at[id-a.base-1] = time.Now().UnixNano()
	a.s.hit()
}

// latencies returns arrival minus commit in µs for every row that arrived.
func latencies(commit, arrived []int64) []float64 {
	var out []float64
	for i, t := range arrived {
		if t != 0 && i < len(commit) {
			out = append(out, float64(t-commit[i])/1e3)
		}
	}
	return out
}

// runWALLatency measures commit-to-mailbox latency of single-row INSERTs
// written at a steady rate into wal_lat, a table both published and
// carrying the NOTIFY row trigger: two Sources (one with a plain mailbox,
// one with an ack mailbox whose consumer acknowledges every event) and the
// Listener run at the same time and time the same commits.
func runWALLatency(ctx context.Context, e *env, cfg config, slots *slotNames) ([]Row, error) {
	n, rate := cfg.walLatN, cfg.walLatRate
	progress("7 wal: latency of %d single-row txns at %d/s, %d repetitions", n, rate, cfg.reps)
	writer, err := pgx.Connect(ctx, e.urlWithApp("bench-wal-latency"))
	if err != nil {
		return nil, err
	}
	defer writer.Close(context.Background())
	// The consumers read the current round's arrivals through these; a
	// round replaces them only while nothing is in flight.
	// Readers by index: the Source, the Listener, the Source with an ack
	// mailbox.
	names := [3]string{nameSource, nameWALListen, nameSourceAck}
	var cur [3]atomic.Pointer[arrivals]
	sinks := [3]*sink{newSink(), newSink(), newSink()}
	for i := range cur {
		cur[i].Store(&arrivals{s: sinks[i]})
	}
	src, err := startSource(ctx, e.url, slots.next("lat"), walPublication, 4096, 0, func(ev *pubsub.Event) { cur[0].Load().on(ev) })
	if err != nil {
		return nil, fmt.Errorf("latency: Source: %w", err)
	}
	defer src.stop()
	lis, err := startNotifyListener(withApp(e.url, "bench-wal-listener"), 4096, func(ev *pubsub.Event) { cur[1].Load().on(ev) })
	if err != nil {
		return nil, fmt.Errorf("latency: Listener: %w", err)
	}
	defer lis.stop()
	ack, err := startSource(ctx, e.url, slots.next("lat_ack"), walPublication, 4096, 0, func(ev *pubsub.Event) { cur[2].Load().on(ev) },
		pubsub.WithAck(), pubsub.WithName("bench-ack"))
	if err != nil {
		return nil, fmt.Errorf("latency: %s: %w", nameSourceAck, err)
	}
	defer ack.stop()

	var nextID int64
	// round writes k rows at the steady rate and returns each reader's
	// latencies in µs.
	round := func(k int) ([3][]float64, error) {
		commit := make([]int64, k)
		var rs [3]*arrivals
		for i := range cur {
			rs[i] = &arrivals{base: nextID, at: make([]int64, k), s: sinks[i]}
			sinks[i].expect(int64(k))
			cur[i].Store(rs[i])
		}
		pg := writer.PgConn()
		interval := time.Second / time.Duration(rate)
		start := time.Now()
		for i := range k {
			// Pacing, not synchronisation: writes are due at a steady rate
			// whatever the readers do.
			time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
			id := nextID + int64(i) + 1
			if _, err := pg.Exec(ctx, fmt.Sprintf("BEGIN; INSERT INTO wal_lat (id, name) VALUES (%d, 'x')", id)).ReadAll(); err != nil {
				return [3][]float64{}, err
			}
			commit[i] = time.Now().UnixNano()
			if _, err := pg.Exec(ctx, "COMMIT").ReadAll(); err != nil {
				return [3][]float64{}, err
			}
		}
		nextID += int64(k)
		var out [3][]float64
		for i, name := range names {
			if _, err := sinks[i].wait(30 * time.Second); err != nil {
				return out, fmt.Errorf("%s: %w", name, err)
			}
			out[i] = latencies(commit, rs[i].at)
		}
		return out, nil
	}
	if _, err := round(min(n, 200)); err != nil { // warm-up
		return nil, fmt.Errorf("latency warm-up: %w", err)
	}
	var p50, p99, pmax [3][]float64
	for rep := range cfg.reps {
		runtime.GC()
		got, err := round(n)
		if err != nil {
			return nil, fmt.Errorf("latency: %w", err)
		}
		for i := range got {
			p50[i] = append(p50[i], percentile(got[i], 50))
			p99[i] = append(p99[i], percentile(got[i], 99))
			pmax[i] = append(pmax[i], percentile(got[i], 100))
		}
		progress("7 wal: latency rep %d/%d: p99 Source %.0f µs, ack mailbox %.0f µs, Listener %.0f µs",
			rep+1, cfg.reps, last(p99[0]), last(p99[2]), last(p99[1]))
	}
	var rows []Row
	for _, m := range []struct {
		label string
		xs    [3][]float64
	}{{"p50", p50}, {"p99", p99}, {"max", pmax}} {
		meas := fmt.Sprintf("commit -> mailbox %s, %d txns at %d/s", m.label, n, rate)
		l := sample(walSection, meas, nameWALListen, "µs", m.xs[1])
		l.Ratio = 1
		s := sample(walSection, meas, nameSource, "µs", m.xs[0])
		s.Ratio = median(pairedRatios(m.xs[0], m.xs[1]))
		a := sample(walSection, meas, nameSourceAck, "µs", m.xs[2])
		a.Ratio = median(pairedRatios(m.xs[2], m.xs[1]))
		if m.label == "p99" {
			s.goal("at most 5 ms", s.Median <= 5000)
			// The ack mailbox's cost: what it adds to the plain Source's
			// p99 on the same commits, repetition by repetition.
			d := median(pairedDiffs(m.xs[2], m.xs[0]))
			a.goal(fmt.Sprintf("at most 1 ms above the Source (median paired diff %+.0f µs)", d), d <= 1000)
		}
		rows = append(rows, l, s, a)
	}
	return rows, nil
}

// pairedDiffs returns a[i]-b[i] for each repetition both measured.
func pairedDiffs(a, b []float64) []float64 {
	var out []float64
	for i := range min(len(a), len(b)) {
		out = append(out, a[i]-b[i])
	}
	return out
}

// pairedRatios returns a[i]/b[i] for each repetition both measured.
func pairedRatios(a, b []float64) []float64 {
	var out []float64
	for i := range min(len(a), len(b)) {
		if b[i] != 0 {
			out = append(out, a[i]/b[i])
		}
	}
	return out
}
