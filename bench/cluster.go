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
// instance and one for the clusters (NOTIFY reaches only listeners of the
// database it was sent in, so neither wakes the other).
//
// The server runs in a process of its own (natsd, see cluster_natsd.go).
// The instances reach it over loopback TCP, as they would a real one, not
// through nats.InProcessServer: its connections are net.Pipe, where every
// write waits for the reader, so a burst made the leader's publishes wait
// on the server's writes to each follower in turn.
type clusterEnv struct {
	ns        *natsServer
	singleURL string
	groupURL  string
	writers   map[string]*pgx.Conn // by database URL
	nextID    int64                // last row id written, across both databases
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
	for _, u := range []string{ce.singleURL, ce.groupURL} {
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
// cluster against a single instance, the drain of one large transaction,
// and how many PostgreSQL backends read changes.
func runCluster(ctx context.Context, e *env, cfg config) ([]Row, error) {
	ce, err := openClusterEnv(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	defer ce.close()
	// The mailboxes and the leader's relay hold a whole burst: this
	// section measures how fast it flows, not what overflows.
	capacity := cfg.clusterBurst + 4096
	single, err := startGroup(ctx, nameSingle, ce.singleURL, 1, capacity, nil)
	if err != nil {
		return nil, fmt.Errorf("single instance: %w", err)
	}
	defer single.stop()

	var rows []Row
	var errs []error
	doLatency, doBurst := cfg.clusterPart("latency"), cfg.clusterPart("burst")
	lat := &latencyResults{}
	if doLatency {
		progress("8 cluster: latency of %d single-row txns at %d/s, %s",
			cfg.clusterLatN, cfg.clusterRate, nameSingle)
		if err := lat.measure(ctx, ce, cfg, single, ce.singleURL, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", nameSingle, err)
		}
	}
	doBurst = doBurst && containsSize(cfg.clusterSizes, cfg.clusterBurstN)
	burst := &burstResults{}
	var failovers []Row
	for _, n := range cfg.clusterSizes {
		progress("8 cluster: starting %d instances", n)
		t0 := time.Now()
		g, err := startGroup(ctx, nameClustered(n), ce.groupURL, n, capacity, ce.spec(n, capacity, false))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		progress("8 cluster: %d instances ready in %v, %d leading; latency", n, time.Since(t0).Round(time.Millisecond), g.leaders())
		terms := g.terms()
		if doLatency {
			bare, err := openBareLatency(ctx, ce, n)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", nameBareLatency(n), err))
			} else {
				if err := lat.measure(ctx, ce, cfg, g, ce.groupURL, bare); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", g.name, err))
				}
				bare.close()
			}
		}
		if doBurst && n == cfg.clusterBurstN {
			progress("8 cluster: %d bursts of %d changes, %s and %s alternately",
				cfg.reps, cfg.clusterBurst, nameSingle, g.name)
			if err := burst.measure(ctx, ce, cfg, single, g, ce.spec(n, capacity, false).stream, false); err != nil {
				errs = append(errs, err)
			}
		}
		// A leader that loses its lease mid-run drops what its relay held
		// (NOTIFY source: followers get a Resync): say so next to the figures.
		failovers = append(failovers, sample(clusterSection, fmt.Sprintf("leaderships taken over while measuring (LeaseTTL %v)", benchLeaseTTL), g.name, "",
			[]float64{float64(g.terms() - terms)}))
		g.stop()
		if doBurst && n == cfg.clusterBurstN {
			// The same bursts with batching opted out, on a group of its
			// own once the batched one stopped (both on one database would
			// each relay the other's bursts).
			gs, err := startGroup(ctx, nameUnbatched(n), ce.groupURL, n, capacity, ce.spec(n, capacity, true))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			progress("8 cluster: %d bursts of %d changes, %s and %s alternately",
				cfg.reps, cfg.clusterBurst, nameSingle, gs.name)
			if err := burst.measure(ctx, ce, cfg, single, gs, ce.spec(n, capacity, true).stream, true); err != nil {
				errs = append(errs, err)
			}
			gs.stop()
		}
	}
	rows = append(rows, lat.rows(cfg)...)
	rows = append(rows, lat.cpuRows(cfg)...)
	rows = append(rows, burst.rows(cfg)...)
	rows = append(rows, lat.backendRows()...)
	rows = append(rows, failovers...)
	return rows, errors.Join(errs...)
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
