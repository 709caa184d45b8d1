package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// clusterSection names section 8 in the table.
const clusterSection = "8 cluster"

// Contender names of section 8.
const nameSingle = "single instance (Listener)"

func nameClustered(n int) string {
	if n == 1 {
		return "cluster, 1 instance"
	}
	return fmt.Sprintf("cluster, %d instances", n)
}

// nameUnbatched names a cluster group run with SingleChangeMessages.
func nameUnbatched(n int) string { return nameClustered(n) + ", one message per change" }

// clusterTable is the table every change of the section is written to; it
// carries the library's NOTIFY row trigger, so that a change is a row.
const clusterTable = "cluster_bench"

// clusterEnv is what section 8 runs on: an embedded NATS server with
// JetStream in a temporary directory, one database for the single
// instance, one for the clusters and one for the burst's group with one
// message per change (NOTIFY reaches only listeners of the database it was
// sent in, so none wakes the others).
//
// The server runs in a process of its own (natsd, see cluster_natsd.go).
// The instances reach it over loopback TCP, as they would a real one, not
// through nats.InProcessServer: its connections are net.Pipe, where every
// write waits for the reader, so a burst made the leader's publishes wait
// on the server's writes to each follower in turn.
type clusterEnv struct {
	ns           *natsServer
	singleURL    string
	groupURL     string
	unbatchedURL string
	writers      map[string]*pgx.Conn // by database URL
	nextID       int64                // last row id written, across the databases
}

func openClusterEnv(ctx context.Context, e *env) (*clusterEnv, error) {
	ce := &clusterEnv{writers: make(map[string]*pgx.Conn)}
	var err error
	if ce.singleURL, err = e.extraDB(ctx, "csingle"); err != nil {
		return nil, err
	}
	if ce.groupURL, err = e.extraDB(ctx, "cgroup"); err != nil {
		return nil, err
	}
	if ce.unbatchedURL, err = e.extraDB(ctx, "cgroup1"); err != nil {
		return nil, err
	}
	for _, u := range []string{ce.singleURL, ce.groupURL, ce.unbatchedURL} {
		conn, err := pgx.Connect(ctx, withApp(u, "bench-cluster-writer"))
		if err != nil {
			ce.close()
			return nil, err
		}
		ce.writers[u] = conn
		if _, err := conn.Exec(ctx, "CREATE TABLE "+clusterTable+" (id bigint PRIMARY KEY, name text)"); err != nil {
			ce.close()
			return nil, err
		}
		if err := trigger.Ensure(ctx, conn, "public", clusterTable); err != nil {
			ce.close()
			return nil, err
		}
	}
	if ce.ns, err = startNATS(); err != nil {
		ce.close()
		return nil, err
	}
	return ce, nil
}

func (ce *clusterEnv) close() {
	for _, c := range ce.writers {
		c.Close(context.Background())
	}
	if ce.ns != nil {
		ce.ns.stop()
	}
}

// spec returns the cluster settings of a group of n instances: a stream
// of its own, so that one group's messages never reach the next. single
// asks for one stream message per change (a stream of its own too).
func (ce *clusterEnv) spec(n, relayCap int, single bool) *clusterSpec {
	cs := &clusterSpec{
		ns: ce.ns, stream: fmt.Sprintf("BENCH_N%d", n), subject: fmt.Sprintf("bench.n%d", n), relayCap: relayCap,
		single: single,
	}
	if single {
		cs.stream, cs.subject = cs.stream+"_SINGLE", cs.subject+"single"
	}
	return cs
}

// runCluster measures section 8: commit-to-mailbox latency through the
// cluster against a single instance, bursts of many transactions, and how
// many PostgreSQL backends read changes.
func runCluster(ctx context.Context, e *env, cfg config) ([]Row, error) {
	ce, err := openClusterEnv(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	defer ce.close()
	lat, burst := &latencyResults{}, &burstResults{}
	taken := &takeovers{}
	var errs []error
	if cfg.clusterPart("latency") {
		if err := ce.runLatency(ctx, cfg, lat, taken); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.clusterPart("burst") && containsSize(cfg.clusterSizes, cfg.clusterBurstN) {
		if err := ce.runBursts(ctx, cfg, burst, taken); err != nil {
			errs = append(errs, err)
		}
	}
	var rows []Row
	rows = append(rows, lat.rows(cfg)...)
	rows = append(rows, lat.cpuRows(cfg)...)
	rows = append(rows, burst.rows(cfg)...)
	rows = append(rows, lat.backendRows()...)
	rows = append(rows, taken.rows()...)
	return rows, errors.Join(errs...)
}

// capacity is what the mailboxes and the leader's relay hold: a whole
// burst. This section measures how fast it flows, not what overflows.
func (c *config) capacity() int { return c.clusterBurst + 4096 }

// runLatency measures the latency part: the single instance, then a group
// of each size, each beside its bare JetStream round. Every instance
// connects to PostgreSQL directly.
func (ce *clusterEnv) runLatency(ctx context.Context, cfg config, lat *latencyResults, taken *takeovers) error {
	capacity := cfg.capacity()
	single, err := startGroup(ctx, nameSingle, ce.singleURL, 1, capacity, nil, 0)
	if err != nil {
		return fmt.Errorf("single instance: %w", err)
	}
	defer single.stop()
	progress("8 cluster: latency of %d single-row txns at %d/s, %s",
		cfg.clusterLatN, cfg.clusterRate, nameSingle)
	if err := lat.measure(ctx, ce, cfg, single, ce.singleURL, nil); err != nil {
		return fmt.Errorf("%s: %w", nameSingle, err)
	}
	var errs []error
	for _, n := range cfg.clusterSizes {
		progress("8 cluster: starting %d instances", n)
		t0 := time.Now()
		g, err := startGroup(ctx, nameClustered(n), ce.groupURL, n, capacity, ce.spec(n, capacity, false), 0)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		progress("8 cluster: %d instances ready in %v, %d leading; latency", n, time.Since(t0).Round(time.Millisecond), g.leaders())
		terms := g.terms()
		bare, err := openBareLatency(ctx, ce, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", nameBareLatency(n), err))
		} else {
			if err := lat.measure(ctx, ce, cfg, g, ce.groupURL, bare); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", g.name, err))
			}
			bare.close()
		}
		taken.add(g.name, g.terms()-terms)
		g.stop()
	}
	return errors.Join(errs...)
}

// runBursts measures the burst part on cfg.clusterBurstN instances: the
// batched group and one with one message per change, each on a database
// of its own, both running, so that their rounds alternate under the same
// load, each paired with a single instance. Their Listeners read
// PostgreSQL through the proxies that hold their reading (see hold), with
// heldProbeInterval.
func (ce *clusterEnv) runBursts(ctx context.Context, cfg config, burst *burstResults, taken *takeovers) error {
	h, err := newHolds(ce.singleURL, ce.groupURL, ce.unbatchedURL)
	if err != nil {
		return err
	}
	defer h.close()
	n, capacity := cfg.clusterBurstN, cfg.capacity()
	single, err := startGroup(ctx, nameSingle, h[ce.singleURL].URL(ce.singleURL), 1, capacity, nil, heldProbeInterval)
	if err != nil {
		return fmt.Errorf("single instance: %w", err)
	}
	defer single.stop()
	var gs [2]*burstGroup
	for i, unbatched := range []bool{false, true} {
		bg := &burstGroup{dbURL: ce.groupURL, spec: ce.spec(n, capacity, unbatched)}
		name := nameClustered(n)
		if unbatched {
			bg.dbURL, name = ce.unbatchedURL, nameUnbatched(n)
		}
		if bg.g, err = startGroup(ctx, name, h[bg.dbURL].URL(bg.dbURL), n, capacity, bg.spec, heldProbeInterval); err != nil {
			return err
		}
		defer bg.g.stop()
		gs[i] = bg
	}
	progress("8 cluster: %d bursts of %d changes to %s, %s and %s in turn, as committed and held",
		cfg.reps, cfg.clusterBurst, nameSingle, gs[0].g.name, gs[1].g.name)
	terms := [2]uint64{gs[0].g.terms(), gs[1].g.terms()}
	err = burst.measure(ctx, ce, cfg, single, gs[0], gs[1], h)
	for i, bg := range gs {
		taken.add(bg.g.name, bg.g.terms()-terms[i])
	}
	return err
}

// takeovers counts, per group, the leaderships taken over while it was
// measured.
type takeovers struct {
	names []string
	n     map[string]float64
}

func (t *takeovers) add(name string, n uint64) {
	if t.n == nil {
		t.n = map[string]float64{}
	}
	if _, ok := t.n[name]; !ok {
		t.names = append(t.names, name)
	}
	t.n[name] += float64(n)
}

// rows says how often a leader lost its lease mid-run: it drops what its
// relay held (NOTIFY source: followers get a Resync).
func (t *takeovers) rows() []Row {
	var rows []Row
	for _, name := range t.names {
		rows = append(rows, sample(clusterSection, fmt.Sprintf("leaderships taken over while measuring (LeaseTTL %v)", benchLeaseTTL),
			name, "", []float64{t.n[name]}))
	}
	return rows
}

// clusterPart reports whether -cluster-parts names part.
// An empty list runs every part.
func (c *config) clusterPart(part string) bool {
	return c.clusterParts == "" || strings.Contains(","+c.clusterParts+",", ","+part+",")
}

// parseSizes parses -cluster-sizes: positive instance counts, comma-separated.
func parseSizes(s string) ([]int, error) {
	var ns []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive instance count", f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

func containsSize(ns []int, n int) bool {
	for _, x := range ns {
		if x == n {
			return true
		}
	}
	return false
}
