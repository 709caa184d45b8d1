package shape_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// replica is a subscriber's copy of a shape, kept by a goroutine that
// applies the subscription's messages.
type replica struct {
	def  shape.Definition
	sub  *shape.Subscription
	cols []string
	slow time.Duration // per message, to make the subscriber fall behind
	// loose allows Insert of a key held, Update and Delete of one not
	// held: NOTIFY mode's weaker guarantee.
	loose bool

	mu       sync.Mutex
	rows     map[string]string // key -> rendered row
	upToDate bool
	resets   int
	bad      []string // protocol violations

	applied atomic.Uint64
	changed chan struct{} // signalled after every message
	done    chan struct{}
}

// follow starts a replica of sub.
func follow(sub *shape.Subscription, def shape.Definition, slow time.Duration, loose bool) *replica {
	r := &replica{def: def, sub: sub, slow: slow, loose: loose, rows: map[string]string{}, changed: make(chan struct{}, 1), done: make(chan struct{})}
	for _, c := range sub.Shape().Columns {
		r.cols = append(r.cols, c.Name)
	}
	go r.run()
	return r
}

func (r *replica) run() {
	defer close(r.done)
	for msg := range r.sub.C() {
		if r.slow > 0 {
			time.Sleep(r.slow)
		}
		r.mu.Lock()
		switch msg.Kind {
		case shape.Insert:
			if _, dup := r.rows[msg.Key]; dup && r.upToDate && !r.lenient() {
				r.bad = append(r.bad, fmt.Sprintf("insert of a key held: %s at %v/%d resets %d", msg.Key, msg.LSN, msg.Seq, r.resets))
			}
			r.rows[msg.Key] = render(msg.Row, r.cols, r.rows[msg.Key])
		case shape.Update:
			if _, ok := r.rows[msg.Key]; !ok && !r.lenient() {
				r.bad = append(r.bad, "update of a key not held: "+msg.Key)
			}
			r.rows[msg.Key] = render(msg.Row, r.cols, r.rows[msg.Key])
		case shape.Delete:
			if _, ok := r.rows[msg.Key]; !ok && !r.lenient() {
				r.bad = append(r.bad, fmt.Sprintf("delete of a key not held: %s at %v/%d resets %d", msg.Key, msg.LSN, msg.Seq, r.resets))
			}
			delete(r.rows, msg.Key)
		case shape.Reset:
			clear(r.rows)
			r.upToDate = false
			r.resets++
		case shape.UpToDate:
			r.upToDate = true
		}
		r.mu.Unlock()
		r.applied.Add(1)
		select {
		case r.changed <- struct{}{}:
		default:
		}
	}
}

func (r *replica) lenient() bool { return r.loose }

// render formats a row's columns as "name=text" lines, NULL as "name=∅";
// an unchanged TOASTed column keeps the previous rendering's value.
func render(row *pubsub.Row, cols []string, prev string) string {
	var b strings.Builder
	for _, c := range cols {
		switch row.State(c) {
		case pubsub.Present:
			t, _ := row.Text(c)
			fmt.Fprintf(&b, "%s=%s\n", c, t)
		case pubsub.Null:
			fmt.Fprintf(&b, "%s=∅\n", c)
		default:
			for _, line := range strings.Split(prev, "\n") {
				if strings.HasPrefix(line, c+"=") {
					b.WriteString(line + "\n")
				}
			}
		}
	}
	return b.String()
}

// drained waits until the replica applied every message its subscription
// put into C and none is left.
func (r *replica) drained(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	// The subscription counts a message delivered after handing it over,
	// so the count may move after the replica's last signal: look again
	// now and then, not only when the replica applies something.
	recheck := time.NewTicker(10 * time.Millisecond)
	defer recheck.Stop()
	for {
		if r.sub.Pending() == 0 && r.applied.Load() == r.sub.Delivered() {
			return
		}
		select {
		case <-r.changed:
		case <-recheck.C:
		case <-deadline.C:
			t.Fatalf("replica of %+v not drained: pending %d, applied %d of %d", r.def, r.sub.Pending(), r.applied.Load(), r.sub.Delivered())
		}
	}
}

// waitFor waits until cond holds for the replica's rows.
func (r *replica) waitFor(t *testing.T, timeout time.Duration, what string, cond func(rows map[string]string) bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := cond(r.rows)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// snapshotRows returns a copy of the replica's rows.
func (r *replica) snapshotRows() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.rows)
}

// oracle returns what PostgreSQL's SELECT of def gives, rendered as the
// replica renders: the test's own SQL, not the package's.
func oracle(t *testing.T, pool *pgxpool.Pool, def shape.Definition, cols []string, key string) map[string]string {
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

// diff describes how got differs from want, "" when equal.
func diff(got, want map[string]string) string {
	var b strings.Builder
	keys := slices.Sorted(maps.Keys(want))
	for _, k := range keys {
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

// quiet commits marker row id and waits until the marker replica has it
// (the router has applied everything committed before), no snapshot is
// in flight and every replica applied what it was given.
func (b *bundle) quiet(t *testing.T, marker *replica, id int, reps []*replica) {
	t.Helper()
	b.exec(t, fmt.Sprintf("INSERT INTO marks VALUES (%d)", id))
	key := fmt.Sprint(id)
	marker.waitFor(t, 60*time.Second, "marker "+key, func(rows map[string]string) bool { _, ok := rows[key]; return ok })
	deadline := time.Now().Add(60 * time.Second)
	for b.m.Stats().Snapshots > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("snapshots still in flight: %+v", b.m.Stats())
		}
		time.Sleep(5 * time.Millisecond) // polling a counter, not standing in for an event
	}
	for _, r := range reps {
		r.drained(t, 60*time.Second)
	}
}

// check compares every replica with the oracle and reports protocol
// violations.
func (b *bundle) check(t *testing.T, reps []*replica) {
	t.Helper()
	failed := 0
	for _, r := range reps {
		want := oracle(t, b.pool, r.def, r.cols, "id")
		got := r.snapshotRows()
		r.mu.Lock()
		bad := slices.Clone(r.bad)
		up := r.upToDate
		r.mu.Unlock()
		if d := diff(got, want); d != "" || len(bad) > 0 || !up {
			failed++
			if failed <= 5 {
				t.Errorf("shape %+v (up to date %v): %d rows, want %d:\n%s%s", r.def, up, len(got), len(want), d, strings.Join(bad, "\n"))
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d shapes differ from PostgreSQL", failed, len(reps))
	}
}
