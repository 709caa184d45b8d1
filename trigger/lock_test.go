package trigger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// A long transaction holds a lock on the table. Ensure's DDL waits
// behind it only as long as its lock timeout; an INSERT issued meanwhile
// (which queues behind the waiting DDL) completes while the long
// transaction is still open, and Ensure reports ErrLockTimeout.
// An open UPDATE blocks CREATE TRIGGER; a SELECT FOR UPDATE blocks only
// DROP TRIGGER, needed here to switch modes.
func TestEnsureLockTimeout(t *testing.T) {
	const bound = 1500 * time.Millisecond
	for _, tc := range []struct {
		name, hold string
		before     []trigger.Option // installed before the long transaction
	}{
		{"open UPDATE, fresh table", "UPDATE t SET v = 1 WHERE id = 1", nil},
		{"open SELECT FOR UPDATE, mode switch", "SELECT * FROM t WHERE id = 1 FOR UPDATE", []trigger.Option{trigger.PerStatement()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setupTriggers(t)
			f.exec(t, "CREATE TABLE t (id int PRIMARY KEY, v int)", "INSERT INTO t VALUES (1, 0)")
			if tc.before != nil {
				f.ensure(t, "public", "t", tc.before...)
				f.exec(t, "INSERT INTO t VALUES (100, 0)")
				f.expect(t, "public.t:INSERT:")
			}
			long, installer, writer := connect(t, f.url), connect(t, f.url), connect(t, f.url)
			longTx, err := long.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer longTx.Rollback(context.Background())
			if _, err := longTx.Exec(t.Context(), tc.hold); err != nil {
				t.Fatal(err)
			}

			// Generous deadline: without the bound, Ensure would wait
			// for the long transaction, which the test ends only afterwards.
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			ensured := make(chan error, 1)
			start := time.Now()
			go func() {
				ensured <- trigger.Ensure(ctx, installer, "public", "t", trigger.WithLockTimeout(bound))
			}()
			waitForLockWait(t, f, installer.PgConn().PID(), ensured)

			inserted := make(chan error, 1)
			go func() {
				_, err := writer.Exec(ctx, "INSERT INTO t VALUES (2, 0)")
				inserted <- err
			}()
			err = <-ensured
			elapsed := time.Since(start)
			if !errors.Is(err, pgsql.ErrLockTimeout) {
				t.Fatalf("Ensure = %v, want ErrLockTimeout", err)
			}
			if elapsed < bound {
				t.Errorf("gave up after %v, before the bound %v", elapsed, bound)
			}
			if err := <-inserted; err != nil {
				t.Fatalf("concurrent INSERT: %v", err)
			}
			// The INSERT finished while the long transaction was still open.
			if _, err := longTx.Exec(t.Context(), "SELECT 1"); err != nil {
				t.Fatal(err)
			}
			if err := longTx.Rollback(t.Context()); err != nil {
				t.Fatal(err)
			}
			// Nothing changed (the trigger of before, if any, still notifies),
			// and the retry the error asks for works.
			want := []string{}
			if tc.before != nil {
				want = append(want, "public.t:INSERT:")
			}
			f.expect(t, want...)
			f.ensure(t, "public", "t")
			f.exec(t, "INSERT INTO t VALUES (3, 0)")
			f.expect(t, "public.t:INSERT:3")
		})
	}
}

// waitForLockWait polls until backend pid waits for a lock, failing the
// test if done delivers first or the deadline passes.
func waitForLockWait(t *testing.T, f *trigFixture, pid uint32, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting bool
		err := f.db.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted)", pid).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("Ensure returned before waiting for a lock: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("Ensure never waited for a lock")
		}
	}
}

// The lock timeout is scoped to Ensure's own transaction or
// savepoint: the caller's session and transaction keep theirs, after
// success and after a timeout alike.
func TestLockTimeoutDoesNotLeak(t *testing.T) {
	f := setupTriggers(t)
	f.exec(t, "CREATE TABLE t (id int)", "CREATE TABLE u (id int)")
	show := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) string {
		t.Helper()
		var v string
		if err := q.QueryRow(t.Context(), "SHOW lock_timeout").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	f.exec(t, "SET lock_timeout = '42s'")
	f.ensure(t, "public", "t", trigger.WithLockTimeout(time.Second))
	if err := trigger.Remove(t.Context(), f.db, "public", "t", trigger.WithLockTimeout(time.Second)); err != nil {
		t.Fatal(err)
	}
	if v := show(f.db); v != "42s" {
		t.Fatalf("session lock_timeout after Ensure: %s", v)
	}

	// In the caller's transaction: success, then a timeout inside the savepoint.
	long := connect(t, f.url)
	longTx, err := long.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer longTx.Rollback(context.Background())
	if _, err := longTx.Exec(t.Context(), "LOCK TABLE u IN ROW EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	tx, err := f.db.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(t.Context(), "SET LOCAL lock_timeout = '7s'"); err != nil {
		t.Fatal(err)
	}
	if err := trigger.Ensure(t.Context(), tx, "public", "t", trigger.WithLockTimeout(time.Second)); err != nil {
		t.Fatal(err)
	}
	if v := show(tx); v != "7s" {
		t.Fatalf("transaction lock_timeout after Ensure: %s", v)
	}
	err = trigger.Ensure(t.Context(), tx, "public", "u", trigger.WithLockTimeout(200*time.Millisecond))
	if !errors.Is(err, pgsql.ErrLockTimeout) {
		t.Fatalf("Ensure behind a lock = %v, want ErrLockTimeout", err)
	}
	if v := show(tx); v != "7s" {
		t.Fatalf("transaction lock_timeout after a timeout: %s", v)
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v := show(f.db); v != "42s" {
		t.Fatalf("session lock_timeout after the transaction: %s", v)
	}
	if names := f.triggerNames(t, "public", "t"); len(names) != 2 {
		t.Fatalf("t: %q", names)
	}
}
