//go:build chaos

package chaos_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// soakMode says which change source a soak runs.
type soakMode struct {
	name  string   // prefix of the summary line
	wal   bool     // WAL Sources instead of Listeners
	kinds []string // fault kinds
}

var (
	notifyMode = soakMode{name: "chaos", kinds: faultKinds}
	walMode    = soakMode{name: "chaos-wal", wal: true, kinds: walFaultKinds}
)

// TestChaos is the soak of the NOTIFY Listener: see docs/reliability.md.
// It runs in parallel with TestChaosWAL (each on its own server).
func TestChaos(t *testing.T) {
	srv := pgtest.Require(t, pg)
	t.Parallel()
	runSoak(t, srv, notifyMode)
}

// TestChaosWAL is the soak of the WAL Source, on a server of its own with
// wal_level=logical: see docs/reliability.md.
func TestChaosWAL(t *testing.T) {
	pgtest.Require(t, pg)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	srv, err := pgtest.Start(ctx, pgtest.Options{Settings: walSettings})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	runSoak(t, srv, walMode)
}

// runSoak runs one soak and prints its summary line.
func runSoak(t *testing.T, srv *pgtest.Server, m soakMode) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	fmt.Printf("%s: seed=%d duration=%v (replay the fault schedule with -chaos.seed=%d)\n", m.name, seed, *durationFlag, seed)
	soakHeap.enter()
	sum := soak(t, srv, m, seed, *durationFlag)
	var last bool
	sum.heapStart, sum.heapEnd, last = soakHeap.leave()
	if last && sum.heapEnd > sum.heapStart+heapSlack {
		t.Errorf("live heap grew from %s to %s after everything stopped (slack %s)",
			mib(sum.heapStart), mib(sum.heapEnd), mib(heapSlack))
	}
	sum.failed = t.Failed()
	fmt.Println(sum.line())
}

// heapGate measures the live heap before the first of the parallel soaks
// starts and after the last one ends: a soak still running holds memory
// the other's check must not count.
type heapGate struct {
	mu     sync.Mutex
	active int
	start  uint64
}

// soakHeap is shared by the soaks of one test binary.
var soakHeap heapGate

func (g *heapGate) enter() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.active == 0 {
		g.start = liveHeap()
	}
	g.active++
}

// leave returns the heap at the first enter and, when no soak runs any
// more (last), now; end is 0 when another soak still runs.
func (g *heapGate) leave() (start, end uint64, last bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.active--
	if g.active > 0 {
		return g.start, 0, false
	}
	return g.start, liveHeap(), true
}
