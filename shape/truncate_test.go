package shape_test

import (
	"context"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/shape"
)

// TestSnapshotWaitsForTruncate: a subscriber joining a live shape while a
// TRUNCATE holds the table gets a snapshot the TRUNCATE's changes agree
// with. TRUNCATE is not MVCC-safe: a snapshot fixed before it commits
// reads the emptied table, and the subscriber then got a Delete for every
// key the shape held, keys it never had (in both modes: NOTIFY mode's
// replicas are loose, so there the rows are compared).
func TestSnapshotWaitsForTruncate(t *testing.T) {
	for _, notify := range []bool{false, true} {
		t.Run(map[bool]string{false: "wal", true: "notify"}[notify], func(t *testing.T) {
			t.Parallel()
			b := setup(t, options{notify: notify})
			b.exec(t, `INSERT INTO items SELECT g, 'open', g FROM generate_series(1, 10) g`)
			marks := shape.Definition{Table: "marks"}
			marker := follow(subscribe(t, b.m, marks), marks, 0, notify)
			def := shape.Definition{Table: "items"}
			first := follow(subscribe(t, b.m, def), def, 0, notify)
			b.quiet(t, marker, 1, []*replica{first})

			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			tx, err := b.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(context.Background()) }()
			if _, err := tx.Exec(ctx, `TRUNCATE items`); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO items VALUES (100, 'open', 1)`); err != nil {
				t.Fatal(err)
			}
			// The late subscriber's snapshot query waits for the lock.
			type result struct {
				sub *shape.Subscription
				err error
			}
			got := make(chan result, 1)
			go func() {
				sub, err := b.m.Subscribe(ctx, def)
				got <- result{sub, err}
			}()
			for {
				var n int
				if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE relation = 'items'::regclass AND NOT granted`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n > 0 {
					break
				}
				if ctx.Err() != nil {
					t.Fatal("the snapshot query never waited for the TRUNCATE's lock")
				}
				time.Sleep(5 * time.Millisecond) // polling the server's lock table
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			res := <-got
			if res.err != nil {
				t.Fatalf("Subscribe: %v", res.err)
			}
			sub := res.sub
			t.Cleanup(sub.Close)
			late := follow(sub, def, 0, notify)
			b.exec(t, `INSERT INTO items VALUES (200, 'open', 2)`)
			reps := []*replica{first, late}
			b.quiet(t, marker, 2, reps)
			b.check(t, reps)
		})
	}
}
