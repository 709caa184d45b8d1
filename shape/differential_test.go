package shape_test

import (
	"context"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/internal/shapetest"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// TestDifferentialWAL: 200 random shapes against PostgreSQL, in WAL mode,
// with the walsender terminated a third of the way through and the
// server restarted (an immediate shutdown: a crash) at two thirds. The
// test has a server of its own, so that the restart disturbs no other
// test. Its writers commit asynchronously (the WAL writer flushing every
// 20 ms, so that snapshots wait little for it): the crash erases
// transactions that snapshots and fetched rows may have seen, and shapes
// must agree with what the server has after it.
func TestDifferentialWAL(t *testing.T) {
	pgtest.Require(t, pg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	srv, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
		"wal_level": "logical", "synchronous_commit": "off", "wal_writer_delay": "20ms",
	}})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	b := setup(t, options{srv: srv, cfg: shape.Config{Buffer: 256}})
	shapetest.Differential(t, shapetest.Run{Pool: b.pool, Manager: b.m, Faults: []func(){
		func() {
			if _, err := b.pool.Exec(context.Background(),
				`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, b.slot); err != nil {
				t.Errorf("terminating the walsender: %v", err)
			}
		},
		func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := srv.Restart(ctx, "immediate"); err != nil {
				t.Fatalf("restarting the server: %v", err)
			}
			b.pool.Reset() // its connections died with the server
		},
	}})
}

// TestDifferentialNotify: the same in NOTIFY mode, with the Listener's
// backend terminated in the middle (a Resync: every shape re-snapshots).
func TestDifferentialNotify(t *testing.T) {
	b := setup(t, options{notify: true, cfg: shape.Config{Buffer: 256}})
	shapetest.Differential(t, shapetest.Run{Pool: b.pool, Manager: b.m, Notify: true, Faults: []func(){
		func() {
			if _, err := b.pool.Exec(context.Background(),
				`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'phoenixkitdb-listener'`); err != nil {
				t.Errorf("terminating the listener: %v", err)
			}
		},
	}})
}
