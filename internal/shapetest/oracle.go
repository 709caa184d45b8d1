package shapetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// Oracle returns what PostgreSQL's SELECT of def gives, rendered as a
// Replica renders, by key column key: the test's own SQL, not the
// package's.
func Oracle(t testing.TB, pool *pgxpool.Pool, def shape.Definition, cols []string, key string) map[string]string {
	t.Helper()
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = pgx.Identifier{c}.Sanitize()
	}
	sql := "SELECT " + pgx.Identifier{key}.Sanitize() + ", " + strings.Join(sel, ", ") + " FROM " + pgx.Identifier{def.Table}.Sanitize()
	if def.Where != "" {
		sql += " WHERE " + def.Where
	}
	// Text results: each value as its type's output function prints it.
	args := []any{pgx.QueryResultFormats{pgx.TextFormatCode}}
	for _, p := range def.Params {
		args = append(args, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SET LOCAL extra_float_digits = 3; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL TimeZone = 'UTC'`); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		t.Fatalf("oracle %s: %v", sql, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		vals := rows.RawValues()
		var b strings.Builder
		for i, c := range cols {
			if vals[i+1] == nil {
				fmt.Fprintf(&b, "%s=∅\n", c)
			} else {
				fmt.Fprintf(&b, "%s=%s\n", c, vals[i+1])
			}
		}
		out[string(vals[0])] = b.String()
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Diff describes how got differs from want, "" when equal.
func Diff(got, want map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			fmt.Fprintf(&b, "missing %s: %q\n", k, want[k])
		} else if g != want[k] {
			fmt.Fprintf(&b, "row %s: got %q want %q\n", k, g, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "extra %s: %q\n", k, got[k])
		}
	}
	return b.String()
}

// Quiet commits marker row id into marks and waits until the marker
// replica (a shape of marks) has it, so the router has applied
// everything committed before; then until no snapshot of m is in
// flight and every replica applied what it was given.
func Quiet(t testing.TB, pool *pgxpool.Pool, m *shape.Manager, marker *Replica, id int, reps []*Replica) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := pool.Exec(ctx, "INSERT INTO marks VALUES ($1)", id); err != nil {
		t.Fatalf("marker %d: %v", id, err)
	}
	key := fmt.Sprint(id)
	marker.WaitFor(t, 60*time.Second, "marker "+key, func(rows map[string]string) bool { _, ok := rows[key]; return ok })
	deadline := time.Now().Add(60 * time.Second)
	for m.Stats().Snapshots > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("snapshots still in flight: %+v", m.Stats())
		}
		time.Sleep(5 * time.Millisecond) // polling a counter, not standing in for an event
	}
	for _, r := range reps {
		r.Drained(t, 60*time.Second)
	}
}

// Check compares every replica with the oracle (key column "id") and
// reports protocol violations and replicas not up to date.
func Check(t testing.TB, pool *pgxpool.Pool, reps []*Replica) {
	t.Helper()
	failed := 0
	for _, r := range reps {
		want := Oracle(t, pool, r.Def, r.Cols, "id")
		got := r.Rows()
		up, _, bad := r.State()
		if d := Diff(got, want); d != "" || len(bad) > 0 || !up {
			failed++
			if failed <= 5 {
				t.Errorf("shape %s %+v (up to date %v): %d rows, want %d:\n%s%s", r.Sub.Shape().Handle, r.Def, up, len(got), len(want), d, strings.Join(bad, "\n"))
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d shapes differ from PostgreSQL", failed, len(reps))
	}
}
