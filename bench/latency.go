package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
)

// roundTrip sends one NOTIFY in its own transaction and returns the time
// from just before COMMIT until the contender's consumer had it.
func roundTrip(ctx context.Context, conn *pgx.Conn, s *sink, i int) (time.Duration, error) {
	pg := conn.PgConn()
	s.expect(1)
	if _, err := pg.Exec(ctx, fmt.Sprintf("BEGIN; NOTIFY %s, 'public.latency:UPDATE:%d'",
		pgx.Identifier{notifyChannel}.Sanitize(), i)).ReadAll(); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if _, err := pg.Exec(ctx, "COMMIT").ReadAll(); err != nil {
		return 0, err
	}
	t1, err := s.wait(5 * time.Second)
	return t1.Sub(t0), err
}

// lane is one contender listening in a database of its own, with the
// connection that notifies it.
type lane struct {
	c      contender
	s      *sink
	sender *pgx.Conn
	failed string
	p50    []float64
	p99    []float64
	max    []float64
}

// runLatency measures section 2: commit-to-consumer latency of single
// NOTIFYs. Every contender runs at once in a database of its own, and the
// round trips are interleaved one by one (A, B, C, D, B, C, D, A, ...), so
// the machine's noise falls on all of them alike. p50, p99 and max are
// taken per repetition.
func runLatency(ctx context.Context, e *env, cfg config) ([]Row, error) {
	var lanes []*lane
	defer func() {
		for _, l := range lanes {
			if l.failed == "" {
				l.c.stop()
			}
			l.sender.Close(context.Background())
		}
	}()
	for i, c := range allContenders(1024) {
		u, err := e.extraDB(ctx, fmt.Sprintf("latency%d", i))
		if err != nil {
			return nil, err
		}
		sender, err := pgx.Connect(ctx, withApp(u, "bench-sender"))
		if err != nil {
			return nil, err
		}
		l := &lane{c: c, s: newSink(), sender: sender}
		lanes = append(lanes, l)
		if err := c.start(ctx, u, l.s); err != nil {
			l.failed = err.Error()
		}
	}
	// round runs n interleaved round trips and returns each lane's
	// latencies in µs.
	round := func(n int) [][]float64 {
		out := make([][]float64, len(lanes))
		for k := range n {
			for j := range lanes {
				l := lanes[(j+k)%len(lanes)]
				if l.failed != "" {
					continue
				}
				d, err := roundTrip(ctx, l.sender, l.s, k)
				if err != nil {
					l.failed = err.Error()
					progress("latency: %s: %v", l.c.name(), err)
					continue
				}
				idx := (j + k) % len(lanes)
				out[idx] = append(out[idx], float64(d)/float64(time.Microsecond))
			}
		}
		return out
	}
	round(100) // warm-up
	for rep := range cfg.reps {
		runtime.GC()
		got := round(cfg.latencyN)
		for i, l := range lanes {
			if l.failed != "" || len(got[i]) == 0 {
				continue
			}
			l.p50 = append(l.p50, percentile(got[i], 50))
			l.p99 = append(l.p99, percentile(got[i], 99))
			l.max = append(l.max, percentile(got[i], 100))
		}
		progress("latency: rep %d/%d: p99 bare %.0f µs, Listener %.0f µs, pgxlisten %.0f µs, lib/pq %.0f µs",
			rep+1, cfg.reps, last(lanes[0].p99), last(lanes[1].p99), last(lanes[2].p99), last(lanes[3].p99))
	}
	var rows []Row
	for _, m := range []struct {
		label string
		get   func(*lane) []float64
	}{
		{"p50", func(l *lane) []float64 { return l.p50 }},
		{"p99", func(l *lane) []float64 { return l.p99 }},
		{"max", func(l *lane) []float64 { return l.max }},
	} {
		meas := fmt.Sprintf("latency %s, %d round trips", m.label, cfg.latencyN)
		var base float64
		for _, l := range lanes {
			if l.failed != "" {
				rows = append(rows, na("2 latency", meas, l.c.name(), l.failed))
				continue
			}
			r := sample("2 latency", meas, l.c.name(), "µs", m.get(l))
			if l.c.name() == nameBare {
				base = r.Median
			} else if base > 0 {
				r.Ratio = r.Median / base
			}
			if m.label == "p99" && l.c.name() == nameListener && lanes[0].failed == "" {
				// Paired: the two ran interleaved within each repetition.
				var diffs []float64
				for i := range l.p99 {
					diffs = append(diffs, l.p99[i]-lanes[0].p99[i])
				}
				diff := median(diffs)
				r.goal(fmt.Sprintf("within 50 µs of bare (median paired diff %+.0f µs)", diff), diff <= 50)
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

func last(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return xs[len(xs)-1]
}
