package shape_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// conjuncts are the predicates random shapes are made of; each takes
// its parameters from the generator.
var conjuncts = []func(r *rand.Rand, arg func(string) string) string{
	func(r *rand.Rand, arg func(string) string) string { return "status = " + arg(pick(r, statuses)) },
	func(r *rand.Rand, arg func(string) string) string { return "status <> " + arg(pick(r, statuses)) },
	func(r *rand.Rand, arg func(string) string) string {
		return "status IN (" + arg(pick(r, statuses)) + ", " + arg(pick(r, statuses)) + ")"
	},
	func(r *rand.Rand, arg func(string) string) string { return "n = " + arg(fmt.Sprint(r.IntN(8))) },
	func(r *rand.Rand, arg func(string) string) string { return "n > " + arg(fmt.Sprint(r.IntN(8))) },
	func(r *rand.Rand, arg func(string) string) string { return "n <= " + arg(fmt.Sprint(r.IntN(8))) },
	func(r *rand.Rand, arg func(string) string) string {
		lo := r.IntN(8)
		return "n BETWEEN " + arg(fmt.Sprint(lo)) + " AND " + arg(fmt.Sprint(lo+r.IntN(4)))
	},
	func(r *rand.Rand, arg func(string) string) string {
		return pick(r, []string{"n IS NULL", "n IS NOT NULL"})
	},
	func(r *rand.Rand, arg func(string) string) string {
		return "total >= " + arg(fmt.Sprintf("%d.%d", r.IntN(10), r.IntN(10)))
	},
	func(r *rand.Rand, arg func(string) string) string {
		return pick(r, []string{"flag IS TRUE", "flag IS NOT TRUE", "flag IS FALSE", "flag"})
	},
	func(r *rand.Rand, arg func(string) string) string {
		return "note LIKE " + arg(pick(r, []string{"a%", "%b", "_c%"}))
	},
}

var statuses = []string{"open", "closed", "pending", "void"}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// randomDef makes a random conjunction of 1 to 3 predicates.
func randomDef(r *rand.Rand) shape.Definition {
	var def shape.Definition
	def.Table = "items"
	arg := func(v string) string {
		def.Params = append(def.Params, v)
		return fmt.Sprintf("$%d", len(def.Params))
	}
	n := 1 + r.IntN(3)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = pick(r, conjuncts)(r, arg)
	}
	def.Where = strings.Join(parts, " AND ")
	if r.IntN(4) == 0 {
		def.Columns = []string{pick(r, []string{"status", "n", "note"})}
	}
	return def
}

// writer runs random transactions until stop closes.
func writer(t *testing.T, pool *pgxpool.Pool, seed uint64, stop <-chan struct{}, truncates bool) {
	r := rand.New(rand.NewPCG(seed, 7))
	ctx := context.Background()
	val := func() (string, any, any, any, any) {
		var n, total, flag, note any
		if r.IntN(6) > 0 {
			n = r.IntN(10)
		}
		if r.IntN(6) > 0 {
			total = fmt.Sprintf("%d.%d", r.IntN(10), r.IntN(100))
		}
		if r.IntN(5) > 0 {
			flag = r.IntN(2) == 0
		}
		if r.IntN(5) > 0 {
			note = pick(r, []string{"abc", "xcb", "acb", "b", "ab"})
		}
		return pick(r, statuses), n, total, flag, note
	}
	for {
		select {
		case <-stop:
			return
		case <-time.After(pace(r)): // a pace the router keeps up with on a shared machine
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Errorf("writer: %v", err)
			return
		}
		for range 1 + r.IntN(4) {
			id := 1 + r.IntN(300)
			s, n, total, flag, note := val()
			switch k := r.IntN(100); {
			case truncates && k == 0 && r.IntN(8) == 0:
				_, err = tx.Exec(ctx, `TRUNCATE items`)
			case k < 35:
				_, err = tx.Exec(ctx, `INSERT INTO items VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE
					SET status = excluded.status, n = excluded.n, total = excluded.total, flag = excluded.flag, note = excluded.note`,
					id, s, n, total, flag, note)
			case k < 70:
				_, err = tx.Exec(ctx, `UPDATE items SET status = $2, n = $3 WHERE id = $1`, id, s, n)
			case k < 80:
				_, err = tx.Exec(ctx, `UPDATE items SET n = coalesce(n, 0) + 1, flag = NOT flag WHERE id % 13 = $1`, id%13)
			default:
				_, err = tx.Exec(ctx, `DELETE FROM items WHERE id = $1`, id)
			}
			if err != nil {
				break
			}
		}
		if err == nil {
			err = tx.Commit(ctx)
		} else {
			_ = tx.Rollback(ctx)
		}
		if err != nil && !strings.Contains(err.Error(), "deadlock") {
			t.Errorf("writer: %v", err)
			return
		}
	}
}

// differential runs writers while shapes are made at random moments, then
// compares every shape with PostgreSQL's SELECT of its definition.
func differential(t *testing.T, notify bool, shapes int, fault func(b *bundle)) {
	b := setup(t, options{notify: notify, cfg: shape.Config{Buffer: 256}})
	b.exec(t, `INSERT INTO items SELECT g, 'open', g % 8, g, g % 2 = 0, 'ab' FROM generate_series(1, 150) g`)
	marker := follow(subscribe(t, b.m, shape.Definition{Table: "marks"}), shape.Definition{Table: "marks"}, 0, notify)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			writer(t, b.pool, uint64(i+1), stop, true)
		}()
	}
	r := rand.New(rand.NewPCG(42, uint64(time.Now().UnixNano())))
	var reps []*replica
	for i := range shapes {
		def := randomDef(r)
		var slow time.Duration
		if i%40 == 7 {
			slow = time.Millisecond // falls behind: Reset and a fresh snapshot
		}
		reps = append(reps, follow(subscribe(t, b.m, def), def, slow, notify))
		if i == shapes/2 && fault != nil {
			fault(b)
		}
		time.Sleep(time.Duration(r.IntN(8)) * time.Millisecond) // random moments while writers run
	}
	close(stop)
	wg.Wait()
	b.quiet(t, marker, 1, reps)
	st := b.m.Stats()
	t.Logf("%d subscriptions, %d shapes, %d resets", st.Subscriptions, st.Shapes, st.Resets)
	b.check(t, reps)
}

// TestDifferentialWAL: 200 random shapes against PostgreSQL, in WAL mode,
// with the walsender terminated in the middle.
func TestDifferentialWAL(t *testing.T) {
	differential(t, false, 200, func(b *bundle) {
		if _, err := b.pool.Exec(context.Background(),
			`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, b.slot); err != nil {
			t.Errorf("terminating the walsender: %v", err)
		}
	})
}

// TestDifferentialNotify: the same in NOTIFY mode, with the Listener's
// backend terminated in the middle (a Resync: every shape re-snapshots).
func TestDifferentialNotify(t *testing.T) {
	differential(t, true, 200, func(b *bundle) {
		if _, err := b.pool.Exec(context.Background(),
			`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'phoenixkitdb-listener'`); err != nil {
			t.Errorf("terminating the listener: %v", err)
		}
	})
}

// pace is a writer's pause between transactions.
func pace(r *rand.Rand) time.Duration {
	if raceEnabled {
		return time.Duration(5+r.IntN(10)) * time.Millisecond
	}
	return time.Duration(r.IntN(3)) * time.Millisecond
}
