//go:build chaos

package chaos_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

const (
	numApps    = 3
	numWriters = 4
	// recoverTimeout bounds every wait for the system to heal after the
	// faults stop: generous, the machine is shared.
	recoverTimeout = 60 * time.Second
	// heapSlack is how far the live heap may end above where it started
	// once everything is stopped and collected.
	heapSlack = 16 << 20
)

// soak runs the whole scenario and returns its summary. Everything it
// allocates is garbage once it returns, so that the heap can be compared.
func soak(t *testing.T, srv *pgtest.Server, m soakMode, seed uint64, d time.Duration) *summary {
	logs := newRing(4000)
	defer func() {
		if t.Failed() {
			t.Logf("seed %d; last log lines:\n%s", seed, logs.Tail(400))
		}
	}()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	sub := func() *rand.Rand { return rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())) }
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()

	dbURL, err := srv.CreateDatabase(ctx, fmt.Sprintf("chaos_%d", seed%1_000_000_007))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := connectWriter(ctx, dbURL, "chaos-admin")
	if err != nil {
		t.Fatal(err)
	}
	if m.wal {
		err = setupWALSchema(ctx, admin)
	} else {
		err = setupSchema(ctx, admin)
	}
	closeConn(admin)
	if err != nil {
		t.Fatal(err)
	}

	clock := new(atomic.Int64)
	var apps []*app
	var stopApps sync.Once
	shutdownAll := func() {
		stopApps.Do(func() {
			for _, a := range apps {
				if err := a.shutdown(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	defer func() {
		shutdownAll()
		for _, a := range apps {
			a.proxy.Close()
		}
	}()
	for i := range numApps {
		newAppFor := newApp
		if m.wal {
			newAppFor = newWALApp
		}
		a, err := newAppFor(i, srv, dbURL, clock, logs, layouts(i))
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, a)
		a.start()
	}
	if !chaos.WaitFor(recoverTimeout, func() bool { return allConnected(apps) }) {
		t.Fatalf("sources not connected at the start: %s", connState(apps))
	}

	// Load, churn and faults, for d.
	started := time.Now()
	var wg sync.WaitGroup
	stopWriters, stopChurn, stopFaults := make(chan struct{}), make(chan struct{}), make(chan struct{})
	writers := make([]*chaos.Writer, numWriters)
	for i := range writers {
		writers[i] = &chaos.Writer{ID: i, DBURL: dbURL, Clock: clock, Rng: sub()}
		if m.wal {
			writers[i].Stmts = walStatements
		}
		wg.Go(func() { writers[i].Run(stopWriters) })
	}
	churnErrs := make(chan error, numApps*4)
	for _, a := range apps {
		for _, c := range a.readers {
			if c.churn {
				r := sub()
				wg.Go(func() { churnErrs <- c.churnLoop(r, stopChurn) })
			}
		}
	}
	in := newInjector(srv, apps, dbURL, sub(), m)
	var faultsDone sync.WaitGroup
	faultsDone.Go(func() { in.Run(stopFaults) })

	time.Sleep(d)
	close(stopFaults)
	faultsDone.Wait()
	for _, a := range apps {
		a.proxy.Thaw()
		a.panicNext.Store(false)
		a.panicListening.Store(false)
	}
	close(stopChurn)
	close(stopWriters)
	wg.Wait()
	close(churnErrs)
	for err := range churnErrs {
		if err != nil {
			t.Error(err)
		}
	}
	loadTime := time.Since(started)

	// Healing: every Listener connected again, every mailbox drained, then
	// the fence: the last commit, which every mailbox must read.
	if !chaos.WaitFor(recoverTimeout, func() bool { return allConnected(apps) }) {
		t.Errorf("sources not connected again within %v: %s", recoverTimeout, connState(apps))
	}
	if m.wal {
		// Caught up first: a Source still streaming its backlog would
		// overflow the slow mailboxes again, and they would miss the fence.
		checkSlotsConfirmed(t, dbURL, apps)
	}
	if !chaos.WaitFor(recoverTimeout, func() bool { return allDrained(apps) }) {
		t.Errorf("mailboxes not drained within %v", recoverTimeout)
	}
	chaos.FenceAll(t, dbURL, clock, appConsumers(apps), recoverTimeout)
	if m.wal {
		checkSlotsConfirmed(t, dbURL, apps)
	}

	// Exactly one backend per running Listener: no connection leaked by
	// a fault; none at all once the Listeners are stopped.
	for _, a := range apps {
		if !chaos.WaitFor(recoverTimeout, func() bool { return len(backends(srv, a.name)) == 1 }) {
			t.Errorf("%s: backends while running %v, want exactly one", a.name, backends(srv, a.name))
		}
	}
	var stats listenerStats
	listens := map[*app]uint64{} // LISTENs established, or the WAL Source's Resyncs
	if m.wal {
		stats = walTotals(apps)
		for _, a := range apps {
			listens[a] = a.w.Stats().Resyncs
		}
	} else {
		stats = listenerTotals(apps)
		for _, a := range apps {
			listens[a] = a.l.Stats().Resyncs
		}
	}
	shutdownAll()
	for _, a := range apps {
		if !chaos.WaitFor(recoverTimeout, func() bool { return len(backends(srv, a.name)) == 0 }) {
			t.Errorf("%s: backends left after its Listener stopped: %v", a.name, backends(srv, a.name))
		}
	}

	// The verdict.
	rctx, rcancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer rcancel()
	conn, err := connectWriter(rctx, dbURL, "chaos-admin")
	if err != nil {
		t.Fatal(err)
	}
	committed, err := readCommitted(rctx, conn, !m.wal)
	closeConn(conn)
	if err != nil {
		t.Fatal(err)
	}
	sum := &summary{mode: m, seed: seed, duration: loadTime, committed: len(committed), stats: stats}
	sum.txs = chaos.CountTxs(committed)
	in.mu.Lock()
	slotDrops := maps.Clone(in.slotDrops)
	in.mu.Unlock()
	for _, a := range apps {
		if m.wal {
			sum.slotLosses += int(a.slotErrors.Load())
			checkSlotLosses(t, a, slotDrops[a], listens[a])
		}
		for _, c := range a.readers {
			mb := c.Mailbox()
			if m.wal {
				mb.Allowed = walAllowed
			}
			r := chaos.Check(committed, mb)
			sum.Add(r)
			if !r.OK() {
				t.Errorf("%s: %d lost, %d disordered, %d phantoms, %d unexpected Resyncs:\n  %s", r.Name, r.Lost, r.Disordered, r.Phantoms,
					r.Unexpected, strings.Join(r.Problems, "\n  "))
			}
			if r.Delivered == 0 {
				t.Errorf("%s read no change at all", r.Name)
			}
			if m.wal {
				checkWALResyncs(t, r, c, listens[a], slotDrops[a])
			}
			// Resyncs must have a cause: a Resync can cover any gap, so a
			// Listener that sent them for nothing would pass the checker.
			if n := uint64(r.Resyncs[pubsub.ReasonListen]); !m.wal && n > listens[a] {
				t.Errorf("%s read %d listen Resyncs, its Listener established LISTEN only %d times", r.Name, n, listens[a])
			}
			// An overflow may be reported by a Resync already waiting
			// unread, whatever its reason, so only these directions hold.
			if r.Resyncs[pubsub.ReasonOverflow] > 0 && c.MB.Dropped() == 0 {
				t.Errorf("%s read %d overflow Resyncs but its mailbox dropped nothing", r.Name, r.Resyncs[pubsub.ReasonOverflow])
			}
			if c.MB.Dropped() > 0 && len(r.Resyncs) == 0 {
				t.Errorf("%s dropped %d events and read no Resync", r.Name, c.MB.Dropped())
			}
			for reason := range r.Resyncs {
				if !m.wal && reason != pubsub.ReasonListen && reason != pubsub.ReasonOverflow {
					t.Errorf("%s read Resyncs for an unexpected reason %q", r.Name, reason)
				}
			}
			logs.Write([]byte(fmt.Sprintf("chaos: %s: expected=%d owed=%d delivered=%d covered=%d resyncs=%v\n",
				r.Name, r.Expected, r.Owed, r.Delivered, r.Covered, r.Resyncs)))
		}
	}
	res := in.Results()
	in.mu.Lock()
	sum.maxDetect, sum.maxStop, sum.garbage = in.maxDetect, in.maxStop, in.garbage
	in.mu.Unlock()
	sum.faults = res.Counts
	for _, p := range res.Problems {
		t.Error(p)
	}
	for _, e := range res.Errs {
		logs.Write([]byte("chaos: fault not injected: " + e + "\n"))
	}
	for _, w := range writers {
		sum.writerFailures += w.Failures.Load()
	}
	return sum
}

// appConsumers returns every app's consumers.
func appConsumers(apps []*app) []*chaos.Consumer {
	var cs []*chaos.Consumer
	for _, a := range apps {
		for _, c := range a.readers {
			cs = append(cs, c.Consumer)
		}
	}
	return cs
}

func allConnected(apps []*app) bool {
	for _, a := range apps {
		if !a.src.Connected() {
			return false
		}
	}
	return true
}

func connState(apps []*app) string {
	var parts []string
	for _, a := range apps {
		parts = append(parts, fmt.Sprintf("%s connected=%v running=%v", a.name, a.src.Connected(), a.src.Running()))
	}
	return strings.Join(parts, "; ")
}

func allDrained(apps []*app) bool {
	for _, a := range apps {
		for _, c := range a.readers {
			if c.MB.Len() > 0 { // counts the events queued behind C
				return false
			}
		}
	}
	return true
}

// backends lists the backends named app (nil on error: the caller retries).
func backends(srv *pgtest.Server, app string) []int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pids, err := srv.Backends(ctx, app)
	if err != nil {
		return []int{-1}
	}
	return pids
}

// liveHeap returns the bytes of live heap objects after two collections.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func mib(b uint64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }
