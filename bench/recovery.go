package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/listener"
)

// healthyAfter is the Listener's Config.HealthyAfter here (default 10 s):
// each fault hits a connection that has been healthy at least this long,
// as a real one would, without 10 s pauses between tries.
const healthyAfter = 500 * time.Millisecond

// recoverer is a contender under fault injection.
type recoverer struct {
	c    contender
	app  string // application_name of its backend
	s    *sink
	last time.Time // its last resync
}

// runRecovery measures section 5: pg_terminate_backend of a contender's
// backend -> its resync signal, contenders rotated; then server restarts,
// "ready to accept connections" -> each contender's resync.
func runRecovery(ctx context.Context, e *env, cfg config) ([]Row, error) {
	rs := []*recoverer{
		{c: &ours{mailboxCap: 64, healthy: healthyAfter}, app: listener.DefaultApplicationName},
		{c: &pgxl{reconnect: 100 * time.Millisecond}, app: "bench-pgxlisten"},
		{c: &libpq{}, app: "bench-libpq"},
	}
	for _, r := range rs {
		r.s = newSink()
		if err := r.c.start(ctx, e.url, r.s); err != nil {
			return nil, err
		}
		defer r.c.stop()
		r.last = time.Now()
	}
	admin, err := pgx.Connect(ctx, e.urlWithApp("bench-admin"))
	if err != nil {
		return nil, err
	}
	defer func() { admin.Close(context.Background()) }()

	// wait returns the next resync of r after t0.
	wait := func(r *recoverer, t0 time.Time, timeout time.Duration) (time.Time, error) {
		deadline := time.After(timeout)
		for {
			select {
			case t := <-r.s.resyncs:
				if t.After(t0) {
					r.last = t
					return t, nil
				}
			case <-deadline:
				return time.Time{}, fmt.Errorf("%s: no resync within %v", r.c.name(), timeout)
			}
		}
	}
	drainResyncs := func() {
		for _, r := range rs {
			for len(r.s.resyncs) > 0 {
				<-r.s.resyncs
			}
		}
	}

	kill := make(map[string][]float64)
	failed := make(map[string]string)
	for try := range cfg.killTries {
		for i := range rs {
			r := rs[(i+try)%len(rs)]
			if failed[r.c.name()] != "" {
				continue
			}
			time.Sleep(time.Until(r.last.Add(healthyAfter + 100*time.Millisecond)))
			pid, err := e.backendOf(ctx, r.app)
			if err != nil {
				failed[r.c.name()] = err.Error()
				continue
			}
			drainResyncs()
			t0 := time.Now()
			if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
				return nil, err
			}
			t1, err := wait(r, t0, 30*time.Second)
			if err != nil {
				failed[r.c.name()] = err.Error()
				continue
			}
			kill[r.c.name()] = append(kill[r.c.name()], float64(t1.Sub(t0))/float64(time.Millisecond))
		}
	}
	progress("recovery: terminate -> resync p50: Listener %.0f ms, pgxlisten %.0f ms, lib/pq %.0f ms",
		median(kill[nameListener]), median(kill[namePgxlisten]), median(kill[namePq]))

	restart := make(map[string][]float64)
	restartNA := ""
	if !e.owned {
		restartNA = "external server: cannot restart"
	}
	for try := 0; restartNA == "" && try < cfg.restarts; try++ {
		time.Sleep(healthyAfter + 100*time.Millisecond)
		admin.Close(ctx)
		drainResyncs()
		since := time.Now()
		if err := e.srv.Restart(ctx, "fast"); err != nil {
			return nil, err
		}
		ready, err := e.readyAt(since)
		if err != nil {
			restartNA = err.Error()
			break
		}
		for _, r := range rs {
			t, err := wait(r, since, 60*time.Second)
			if err != nil {
				failed[r.c.name()+" restart"] = err.Error()
				continue
			}
			restart[r.c.name()] = append(restart[r.c.name()], float64(t.Sub(ready))/float64(time.Millisecond))
		}
		progress("recovery: restart %d/%d: ready -> resync Listener %.0f ms", try+1, cfg.restarts, last(restart[nameListener]))
		if admin, err = pgx.Connect(ctx, e.urlWithApp("bench-admin")); err != nil {
			return nil, err
		}
	}

	const sec = "5 recovery"
	killMeas := fmt.Sprintf("terminate backend -> resync, %d tries", cfg.killTries)
	restartMeas := fmt.Sprintf("restart ready -> resync, %d tries", cfg.restarts)
	rows := []Row{na(sec, killMeas, nameBare, "no reconnect")}
	for _, r := range rs {
		if why := failed[r.c.name()]; why != "" {
			rows = append(rows, na(sec, killMeas, r.c.name(), why))
			continue
		}
		row := sample(sec, killMeas, r.c.name(), "ms", kill[r.c.name()])
		if r.c.name() == nameListener {
			row.goal("p50 under 250 ms", row.Median < 250)
		}
		rows = append(rows, row)
	}
	rows = append(rows, na(sec, restartMeas, nameBare, "no reconnect"))
	for _, r := range rs {
		why := restartNA
		if why == "" {
			why = failed[r.c.name()+" restart"]
		}
		if why != "" {
			rows = append(rows, na(sec, restartMeas, r.c.name(), why))
			continue
		}
		row := sample(sec, restartMeas, r.c.name(), "ms", restart[r.c.name()])
		if r.c.name() == nameListener {
			row.goal("p50 under 1 s", row.Median < 1000)
		}
		rows = append(rows, row)
	}
	return rows, nil
}
