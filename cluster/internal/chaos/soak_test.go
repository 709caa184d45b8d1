//go:build chaos

package chaos_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

const (
	numInstances = 3
	numWriters   = 3
	// recoverTimeout bounds every wait for the system to heal after the
	// faults stop: generous, the machine is shared.
	recoverTimeout = 60 * time.Second
)

// soakMode says which change source a soak runs.
type soakMode struct {
	name string // prefix of the summary line, of instance and database names
	wal  bool
}

// TestChaosCluster soaks the cluster module with the NOTIFY source: see
// docs/reliability.md. It runs in parallel with TestChaosClusterWAL.
func TestChaosCluster(t *testing.T) {
	srv := pgtest.Require(t, pg)
	t.Parallel()
	runSoak(t, srv, soakMode{name: "chaos-cluster"})
}

// TestChaosClusterWAL soaks the cluster module with the WAL source, on a
// PostgreSQL server of its own with wal_level=logical.
func TestChaosClusterWAL(t *testing.T) {
	pgtest.Require(t, pg)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	srv, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
		"wal_level": "logical", "max_replication_slots": "10", "max_wal_senders": "10",
	}})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	runSoak(t, srv, soakMode{name: "chaos-cluster-wal", wal: true})
}

// runSoak runs one soak and prints its summary.
func runSoak(t *testing.T, srv *pgtest.Server, m soakMode) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	fmt.Printf("%s: seed=%d duration=%v (replay the fault schedule with -chaos.seed=%d)\n", m.name, seed, *durationFlag, seed)
	sum := soak(t, srv, m, seed, *durationFlag)
	sum.failed = t.Failed()
	for _, l := range sum.mailboxes {
		fmt.Println(l)
	}
	fmt.Println(sum.line())
}

// soak runs the whole scenario and returns its summary.
func soak(t *testing.T, srv *pgtest.Server, m soakMode, seed uint64, d time.Duration) *summary {
	var tee io.Writer // every line, with -chaos.log
	if *logFlag != "" {
		f, err := os.Create(*logFlag + "." + m.name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tee = f
	}
	logs := chaos.NewLogRing(8000, tee)
	defer func() {
		if t.Failed() {
			t.Logf("seed %d; last log lines:\n%s", seed, logs.Tail(400))
		}
	}()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	sub := func() *rand.Rand { return rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())) }
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()

	dbURL, err := srv.CreateDatabase(ctx, fmt.Sprintf("%s_%d", strings.ReplaceAll(m.name, "-", "_"), seed%1_000_000_007))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := chaos.ConnectWriter(ctx, dbURL, "chaos-admin")
	if err != nil {
		t.Fatal(err)
	}
	if m.wal {
		err = chaos.SetupWALSchema(ctx, admin)
	} else {
		err = chaos.SetupSchema(ctx, admin)
	}
	chaos.CloseConn(admin)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := startNATS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close() // after the instances (defers run last in, first out)

	clock := new(atomic.Int64)
	var ins []*instance
	var stopAll sync.Once
	shutdownAll := func() {
		stopAll.Do(func() {
			for _, x := range ins {
				x.thaw()
				if err := x.shutdown(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	defer func() {
		shutdownAll()
		for _, x := range ins {
			x.closeProxies()
		}
	}()
	for i := range numInstances {
		x, err := newInstance(m, i, srv, dbURL, ns, clock, logs)
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, x)
		if err := x.start(); err != nil {
			t.Fatal(err)
		}
	}
	if err := allReady(ins); err != nil {
		t.Fatalf("not ready at the start: %v", err)
	}

	// Load and faults, for d; meanwhile count the readers of PostgreSQL.
	started := time.Now()
	var wg sync.WaitGroup
	stopWriters, stopFaults, stopSampling := make(chan struct{}), make(chan struct{}), make(chan struct{})
	writers := make([]*chaos.Writer, numWriters)
	for i := range writers {
		writers[i] = &chaos.Writer{ID: i, DBURL: dbURL, Clock: clock, Rng: sub()}
		if m.wal {
			writers[i].Stmts = chaos.WALStatements
		}
		wg.Go(func() { writers[i].Run(stopWriters) })
	}
	kinds, err := selectedKinds()
	if err != nil {
		t.Fatal(err)
	}
	inj := newInjector(kinds, srv, ns, ins, sub(), m.wal, slog.New(slog.NewTextHandler(logs, nil)))
	var faultsDone sync.WaitGroup
	faultsDone.Go(func() { inj.Run(stopFaults) })
	var maxReaders atomic.Int64
	var maxLeaderless time.Duration // written by the sampler, read after sampling.Wait
	var lateRelays int              // likewise
	var sampling sync.WaitGroup
	sampling.Go(func() {
		lastLed := time.Now()
		published := make([]uint64, len(ins))
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if n := int64(readers(ins)); n > maxReaders.Load() {
				maxReaders.Store(n)
			}
			l := leader(ins, 0)
			if l != nil {
				lastLed = time.Now()
			} else {
				maxLeaderless = max(maxLeaderless, time.Since(lastLed))
			}
			// A relay that still stores events while another instance
			// leads interleaves its events with the new leader's.
			for i, x := range ins {
				st := x.cl.Stats()
				if st.Published > published[i] && !st.Leading && l != nil && l != x {
					lateRelays++
				}
				published[i] = st.Published
			}
		}
	})

	time.Sleep(d)
	close(stopFaults)
	faultsDone.Wait()
	for _, x := range ins {
		x.thaw()
	}
	close(stopWriters)
	wg.Wait()
	loadTime := time.Since(started)

	// Healing: a leader whose source is ready, every follower consuming,
	// every mailbox drained; then the fence, the last commit, which every
	// mailbox must read, and (WAL) the slot confirming it.
	if err := allReady(ins); err != nil {
		t.Errorf("not ready again within %v: %v", recoverTimeout, err)
	}
	if !chaos.WaitFor(recoverTimeout, func() bool { return allDrained(ins) }) {
		t.Errorf("mailboxes not drained within %v", recoverTimeout)
	}
	chaos.FenceAll(t, dbURL, clock, consumers(ins), recoverTimeout)
	if m.wal {
		checkSlotConfirmed(t, dbURL)
	}
	close(stopSampling)
	sampling.Wait()
	if n := maxReaders.Load(); n > 1 {
		t.Errorf("%d instances read PostgreSQL at once", n)
	}
	// One reading backend for the whole cluster (a Listener's probe may
	// add a short-lived second one: wait for it to go).
	var held map[string]int
	if !chaos.WaitFor(recoverTimeout, func() bool { held = backendsOf(srv, ins); return sumOf(held) == 1 }) {
		t.Errorf("backends of the instances' change sources: %v, want exactly one in all", held)
	}
	var sourceResyncs uint64
	var terms, streamResyncs uint64
	for _, x := range ins {
		sourceResyncs += x.sourceResyncs()
		st := x.cl.Stats()
		terms += st.Terms
		// Every follower reads every stream message; its own start
		// Resync is the one that did not come through the stream.
		streamResyncs = max(streamResyncs, st.Resyncs-1)
	}
	shutdownAll()
	if !chaos.WaitFor(recoverTimeout, func() bool { held = backendsOf(srv, ins); return sumOf(held) == 0 }) {
		t.Errorf("backends left after every instance stopped: %v", held)
	}

	// The verdict.
	rctx, rcancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer rcancel()
	conn, err := chaos.ConnectWriter(rctx, dbURL, "chaos-admin")
	if err != nil {
		t.Fatal(err)
	}
	committed, err := chaos.ReadCommitted(rctx, conn, !m.wal)
	chaos.CloseConn(conn)
	if err != nil {
		t.Fatal(err)
	}
	sum := &summary{mode: m, seed: seed, duration: loadTime, committed: len(committed),
		maxReaders: int(maxReaders.Load()), failovers: int(terms) - 1, streamResyncs: streamResyncs,
		maxLeaderless: maxLeaderless, lateRelays: lateRelays}
	sum.txs = chaos.CountTxs(committed)
	for _, x := range ins {
		for _, c := range x.readers {
			mb := c.Mailbox()
			if m.wal {
				// Exactly once, in order: only the follower's start and
				// the mailbox's own overflow may cover a gap.
				mb.Allowed = walAllowed
			}
			r := chaos.Check(committed, mb)
			sum.Add(r)
			if !r.OK() {
				t.Errorf("%s: %d lost, %d disordered, %d phantoms, %d unexpected Resyncs:\n  %s", r.Name, r.Lost, r.Disordered, r.Phantoms,
					r.Unexpected, strings.Join(r.Problems, "\n  "))
			}
			checkResyncs(t, m, r, c, sourceResyncs)
			sum.mailboxes = append(sum.mailboxes, fmt.Sprintf("%s: mailbox %s: owed=%d delivered=%d covered_by_resync=%d dropped=%d resyncs=%v",
				m.name, r.Name, r.Owed, r.Delivered, r.Covered, c.MB.Dropped(), r.Resyncs))
		}
	}
	res := inj.Results()
	inj.mu.Lock()
	sum.takeovers, sum.maxTakeover, sum.maxDetect = inj.takeovers, inj.maxTakeover, inj.maxDetect
	inj.mu.Unlock()
	sum.faults = res.Counts
	sum.slowest = fmt.Sprintf("%s:%v", res.SlowestKind, res.Slowest.Round(10*time.Millisecond))
	for _, p := range res.Problems {
		t.Error(p)
	}
	for _, e := range res.Errs {
		logs.Write([]byte("chaos: fault not applied: " + e + "\n"))
	}
	sum.notApplied = len(res.Errs)
	for _, w := range writers {
		sum.writerFailures += w.Failures.Load()
	}
	return sum
}
