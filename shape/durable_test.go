package shape_test

import (
	"context"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// TestSnapshotHoldsOnlyDurableRows: a snapshot reads a row committed with
// synchronous_commit off, and the server crashes right after: the shape
// must agree with what the server has when it is back. Without the WAL
// flush the crash erased the row and the shape kept it. The WAL writer is
// slowed (10 s between flushes) and autovacuum is off, so that nothing
// else flushes the WAL between the insert and the crash; and a
// transaction left open holds WAL records past the last commit, which no
// one flushes while it stays open (a snapshot that waited for the flush
// position to pass its own waited for ever).
func TestSnapshotHoldsOnlyDurableRows(t *testing.T) {
	pgtest.Require(t, pg)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
		"wal_level": "logical", "wal_writer_delay": "10000ms", "wal_writer_flush_after": "0", "autovacuum": "off",
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	b := setup(t, options{srv: srv})
	b.exec(t, `INSERT INTO items VALUES (1, 'open', 1)`)
	marks := shape.Definition{Table: "marks"}
	marker := follow(subscribe(t, b.m, marks), marks, 0, false)
	b.quiet(t, marker, 1, nil)

	tx, err := b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO items VALUES (2, 'open', 2)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	open, err := b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = open.Rollback(context.Background()) }()
	if _, err := open.Exec(ctx, `INSERT INTO other SELECT g, repeat('x', 100) FROM generate_series(1, 100) g`); err != nil {
		t.Fatal(err)
	}
	def := shape.Definition{Table: "items"}
	rep := follow(subscribe(t, b.m, def), def, 0, false)
	rep.WaitFor(t, time.Minute, "the snapshot", func(rows map[string]string) bool { return len(rows) == 2 })

	_ = open.Rollback(ctx)
	if err := srv.Restart(ctx, "immediate"); err != nil {
		t.Fatalf("crashing the server: %v", err)
	}
	b.pool.Reset() // its connections died with the server
	b.quiet(t, marker, 2, []*replica{rep})
	b.check(t, []*replica{rep})
}
