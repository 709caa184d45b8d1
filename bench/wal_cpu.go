package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// cpuMeter measures the CPU time a write-cost phase costs: this process
// (the writers' pgx connections and the reader under test, from
// getrusage) and the server's processes (from /proc/<pid>/schedstat, in
// ns: the server runs on this machine), the walsenders among them apart.
// On 2 cores the writers get what the readers leave, so these say where
// the cycles of a slower run went. It reads pg_stat_activity through a
// connection of its own, whose backend it leaves out.
type cpuMeter struct {
	conn *pgx.Conn
}

// cpuSnap is one reading: this process, and each server process by pid.
type cpuSnap struct {
	self   time.Duration
	server map[int]time.Duration
	walsnd map[int]bool
}

// cpuCost is what one phase cost.
type cpuCost struct {
	self, server, walsender time.Duration
}

func newCPUMeter(ctx context.Context, e *env) (*cpuMeter, error) {
	c, err := pgx.Connect(ctx, e.urlWithApp("bench-wal-cpu"))
	if err != nil {
		return nil, err
	}
	return &cpuMeter{conn: c}, nil
}

func (m *cpuMeter) close() { m.conn.Close(context.Background()) }

// selfCPU returns the CPU time this process used so far, user and system.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (m *cpuMeter) snap(ctx context.Context) (cpuSnap, error) {
	s := cpuSnap{server: map[int]time.Duration{}, walsnd: map[int]bool{}, self: selfCPU()}
	rows, err := m.conn.Query(ctx, "SELECT pid, coalesce(backend_type, '') FROM pg_stat_activity WHERE pid <> pg_backend_pid()")
	if err != nil {
		return s, err
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		var typ string
		if err := rows.Scan(&pid, &typ); err != nil {
			return s, err
		}
		if d, ok := schedTime(pid); ok {
			s.server[pid] = d
			s.walsnd[pid] = typ == "walsender"
		}
	}
	return s, rows.Err()
}

// schedTime reads a process's time on CPU. PostgreSQL's processes are
// single-threaded, so the main thread's figure is the process's.
func schedTime(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/schedstat")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	return time.Duration(ns), err == nil
}

// since returns the cost from a to b; server processes count when they
// ran in both readings.
func (b cpuSnap) since(a cpuSnap) cpuCost {
	c := cpuCost{self: b.self - a.self}
	for pid, t := range b.server {
		if t0, ok := a.server[pid]; ok {
			c.server += t - t0
			if b.walsnd[pid] {
				c.walsender += t - t0
			}
		}
	}
	return c
}

// perRow returns d per row in µs.
func perRow(d time.Duration, rows int) float64 {
	return float64(d.Nanoseconds()) / 1e3 / float64(rows)
}

// cpuRows turns the per-repetition CPU costs of one phase into rows:
// this process for every contender, and the walsender for the two
// replication readers.
func cpuRows(meas string, names []string, rows int, costs [][]cpuCost) []Row {
	var out []Row
	for c, name := range names {
		var self []float64
		for _, k := range costs[c] {
			self = append(self, perRow(k.self, rows))
		}
		out = append(out, sample(walSection, meas+": CPU per txn, bench process", name, "µs", self))
	}
	for c, name := range names {
		if c != 1 && c != 2 {
			continue
		}
		var ws []float64
		for _, k := range costs[c] {
			ws = append(ws, perRow(k.walsender, rows))
		}
		out = append(out, sample(walSection, meas+": CPU per txn, walsender", name, "µs", ws))
	}
	for c, name := range names {
		var srv []float64
		for _, k := range costs[c] {
			srv = append(srv, perRow(k.server, rows))
		}
		out = append(out, sample(walSection, meas+": CPU per txn, all server processes", name, "µs", srv))
	}
	return out
}

// cpuProgress formats one phase's costs for the progress line.
func cpuProgress(k cpuCost, rows int) string {
	return fmt.Sprintf("self %.1f, walsender %.1f, server %.1f µs/txn",
		perRow(k.self, rows), perRow(k.walsender, rows), perRow(k.server, rows))
}
