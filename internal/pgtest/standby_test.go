package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// A standby streams the primary's changes, refuses writes, and accepts
// them once promoted, with everything replicated before the promotion.
func TestStandbyStreamsAndPromotes(t *testing.T) {
	primary := ownServer(t, pgtest.Options{Settings: map[string]string{"wal_level": "replica"}})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	standby, err := primary.StartStandby(ctx, pgtest.StandbyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = standby.Close() })

	pc := connect(t, primary.URL("postgres"))
	if _, err := pc.Exec(ctx, `CREATE TABLE t AS SELECT g FROM generate_series(1, 100) g`); err != nil {
		t.Fatal(err)
	}
	if err := pgtest.WaitReplayed(ctx, primary, standby); err != nil {
		t.Fatal(err)
	}
	sc := connect(t, standby.URL("postgres"))
	var n int
	if err := sc.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 100 {
		t.Fatalf("standby sees %d rows (%v), want 100", n, err)
	}
	if _, err := sc.Exec(ctx, `INSERT INTO t VALUES (101)`); err == nil {
		t.Fatal("a standby accepted a write")
	}
	if err := primary.Stop("immediate"); err != nil {
		t.Fatal(err)
	}
	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Exec(ctx, `INSERT INTO t VALUES (101)`); err != nil {
		t.Fatalf("the promoted standby refused a write: %v", err)
	}
	if err := sc.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 101 {
		t.Fatalf("promoted standby has %d rows (%v), want 101", n, err)
	}
}
