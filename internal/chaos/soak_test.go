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
	if !waitFor(recoverTimeout, func() bool { return allConnected(apps) }) {
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
	faultsDone.Go(func() { in.run(stopFaults) })

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
	if !waitFor(recoverTimeout, func() bool { return allConnected(apps) }) {
		t.Errorf("sources not connected again within %v: %s", recoverTimeout, connState(apps))
	}
	if m.wal {
		// Caught up first: a Source still streaming its backlog would
		// overflow the slow mailboxes again, and they would miss the fence.
		checkSlotsConfirmed(t, dbURL, apps)
	}
	if !waitFor(recoverTimeout, func() bool { return allDrained(apps) }) {
		t.Errorf("mailboxes not drained within %v", recoverTimeout)
	}
	fenceAll(t, dbURL, clock, apps)
	if m.wal {
		checkSlotsConfirmed(t, dbURL, apps)
	}

	// Exactly one backend per running Listener: no connection leaked by
	// a fault; none at all once the Listeners are stopped.
	for _, a := range apps {
		if !waitFor(recoverTimeout, func() bool { return len(backends(srv, a.name)) == 1 }) {
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
		if !waitFor(recoverTimeout, func() bool { return len(backends(srv, a.name)) == 0 }) {
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
	sum := &summary{mode: m, seed: seed, duration: loadTime, committed: len(committed), resyncs: map[pubsub.Reason]int{}, stats: stats}
	sum.txs = countTxs(committed)
	in.mu.Lock()
	slotDrops := maps.Clone(in.slotDrops)
	in.mu.Unlock()
	for _, a := range apps {
		if m.wal {
			sum.slotLosses += int(a.slotErrors.Load())
			checkSlotLosses(t, a, slotDrops[a], listens[a])
		}
		for _, c := range a.readers {
			mb := c.mailbox()
			if m.wal {
				mb.Allowed = walAllowed
			}
			r := chaos.Check(committed, mb)
			sum.add(r)
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
			if r.Resyncs[pubsub.ReasonOverflow] > 0 && c.mb.Dropped() == 0 {
				t.Errorf("%s read %d overflow Resyncs but its mailbox dropped nothing", r.Name, r.Resyncs[pubsub.ReasonOverflow])
			}
			if c.mb.Dropped() > 0 && len(r.Resyncs) == 0 {
				t.Errorf("%s dropped %d events and read no Resync", r.Name, c.mb.Dropped())
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
	in.mu.Lock()
	sum.faults, sum.maxDetect, sum.maxStop, sum.garbage = in.counts, in.maxDetect, in.maxStop, in.garbage
	for _, p := range in.problems {
		t.Error(p)
	}
	for _, e := range in.errs {
		logs.Write([]byte("chaos: fault not injected: " + e + "\n"))
	}
	in.mu.Unlock()
	for _, w := range writers {
		sum.writerFailures += w.Failures.Load()
	}
	return sum
}

// fenceAll commits the fence and waits until every mailbox has read it. If
// a Listener reconnected meanwhile the fence may be lost (with a Resync), so
// it tries three times; the checker has the last word either way.
func fenceAll(t *testing.T, dbURL string, clock *atomic.Int64, apps []*app) {
	t.Helper()
	for round := range 3 {
		marks := map[*consumer]int{}
		for _, a := range apps {
			for _, c := range a.readers {
				marks[c] = c.itemCount()
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
		fence, err := commitFence(ctx, dbURL, clock)
		cancel()
		if err != nil {
			t.Errorf("fence: %v", err)
			continue
		}
		if waitFor(20*time.Second, func() bool {
			for c, from := range marks {
				if all, _ := c.seen(from, fence); !all {
					return false
				}
			}
			return true
		}) {
			return
		}
		var missing []string
		for c, from := range marks {
			if all, resync := c.seen(from, fence); !all {
				missing = append(missing, fmt.Sprintf("%s (resync since: %v)", c.name, resync))
			}
		}
		t.Logf("fence round %d not read by %s", round, strings.Join(missing, ", "))
	}
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
			if c.mb.Len() > 0 { // counts the events queued behind C
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

func countTxs(entries []chaos.Entry) int {
	n := 0
	for i, e := range entries {
		if i == 0 || e.Seq != entries[i-1].Seq {
			n++
		}
	}
	return n
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
