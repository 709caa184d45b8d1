package shapetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// Tables creates the workload's tables: items (the shapes' table) and
// marks (a marker table, to find a quiet point). The caller publishes
// them (WAL mode) or installs triggers on them (NOTIFY mode).
const Tables = `
CREATE TABLE items (id bigint PRIMARY KEY, status text NOT NULL, n int, total numeric, flag bool, note text);
CREATE TABLE marks (id bigint PRIMARY KEY);
`

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

// RandomDef makes a random shape of items: a conjunction of 1 to 3
// predicates, and now and then a column list.
func RandomDef(r *rand.Rand) shape.Definition {
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

// Writer runs random transactions on items (upserts, updates moving rows
// in and out, deletes, and with truncates now and then a TRUNCATE) until
// stop closes. An error for which tolerate (if not nil) returns true is
// passed over (the server went away in a fault the test injects); any
// other error but a deadlock fails the test.
func Writer(t testing.TB, pool *pgxpool.Pool, seed uint64, stop <-chan struct{}, truncates bool, tolerate func(error) bool) {
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
		err := writeTx(ctx, pool, r, truncates, val)
		if err == nil || strings.Contains(err.Error(), "deadlock") {
			continue
		}
		if tolerate != nil && tolerate(err) {
			continue
		}
		t.Errorf("writer: %v", err)
		return
	}
}

// writeTx runs one random transaction of 1 to 4 statements.
func writeTx(ctx context.Context, pool *pgxpool.Pool, r *rand.Rand, truncates bool, val func() (string, any, any, any, any)) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
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
			_ = tx.Rollback(ctx)
			return err
		}
	}
	return tx.Commit(ctx)
}

// pace is a writer's pause between transactions.
func pace(r *rand.Rand) time.Duration {
	if raceEnabled {
		return time.Duration(5+r.IntN(10)) * time.Millisecond
	}
	return time.Duration(r.IntN(3)) * time.Millisecond
}
