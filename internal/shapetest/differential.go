package shapetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// Run is what one differential run needs.
type Run struct {
	// Pool reaches the database with Tables (published, or with NOTIFY
	// triggers): the writers, the marker and the oracle use it.
	Pool *pgxpool.Pool
	// Manager is the Manager under test, running, fed by the database's
	// changes on whatever path the test sets up.
	Manager *shape.Manager
	// Notify: the Manager is in NOTIFY mode; replicas accept its weaker
	// guarantee.
	Notify bool
	// Shapes is how many random shapes are made (200 if 0).
	Shapes int
	// Faults are called one after another at evenly spaced moments while
	// shapes are made and writers run. Once the first begins, writers
	// pass over errors of a lost or refused connection (a server
	// restart); a fault that restarts the server should Reset the pool.
	Faults []func()
}

// Differential seeds items with 150 rows, runs three writers while it
// subscribes r.Shapes random shapes at random moments (one in forty
// reads slowly, so it falls behind and gets a Reset), calls the faults
// in between, stops the writers, waits for a quiet point and checks
// every shape against PostgreSQL's SELECT.
func Differential(t *testing.T, r Run) {
	t.Helper()
	shapes := r.Shapes
	if shapes == 0 {
		shapes = 200
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := r.Pool.Exec(ctx, `INSERT INTO items SELECT g, 'open', g % 8, g, g % 2 = 0, 'ab' FROM generate_series(1, 150) g`); err != nil {
		t.Fatal(err)
	}
	marks := shape.Definition{Table: "marks"}
	marker := Follow(Subscribe(t, r.Manager, marks), marks, 0, r.Notify)

	var faulting atomic.Bool
	tolerate := func(err error) bool { return faulting.Load() && connectionLost(err) }
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			Writer(t, r.Pool, uint64(i+1), stop, true, tolerate)
		}()
	}
	rnd := rand.New(rand.NewPCG(42, uint64(time.Now().UnixNano())))
	var reps []*Replica
	next := 0 // the next fault
	for i := range shapes {
		def := RandomDef(rnd)
		var slow time.Duration
		if i%40 == 7 {
			slow = time.Millisecond // falls behind: Reset and a fresh snapshot
		}
		reps = append(reps, Follow(Subscribe(t, r.Manager, def), def, slow, r.Notify))
		if next < len(r.Faults) && i == shapes*(next+1)/(len(r.Faults)+1) {
			faulting.Store(true)
			r.Faults[next]()
			next++
		}
		time.Sleep(time.Duration(rnd.IntN(8)) * time.Millisecond) // random moments while writers run
	}
	close(stop)
	wg.Wait()
	Quiet(t, r.Pool, r.Manager, marker, 1, reps)
	st := r.Manager.Stats()
	t.Logf("%d subscriptions, %d shapes, %d resets", st.Subscriptions, st.Shapes, st.Resets)
	Check(t, r.Pool, reps)
}

// Subscribe subscribes to def on m, failing the test on an error, and
// closes the subscription when the test ends.
func Subscribe(t testing.TB, m *shape.Manager, def shape.Definition) *shape.Subscription {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sub, err := m.Subscribe(ctx, def)
	if err != nil {
		t.Fatalf("Subscribe(%+v): %v", def, err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// connectionLost reports whether err is a lost connection or one the
// server refused while shutting down or starting (SQLSTATE classes 08
// and 57), or a failure to reach it at all.
func connectionLost(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57")
	}
	return true
}
