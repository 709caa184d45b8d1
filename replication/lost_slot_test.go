package replication_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// A slot invalidated by max_slot_wal_keep_size (wal_status 'lost') is
// dropped and recreated, with an ERROR and a Resync "slot".
func TestInvalidatedSlotRecreated(t *testing.T) {
	t.Parallel() // a server of its own; mostly waits on their starts, restarts and reconnections
	srv := ownServer(t)
	b := setup(t, options{srv: srv, url: srv.URL("postgres")})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	conn := connect(t, b.url)
	c := &collector{t: t, next: 1}
	insert(t, conn, 1, 3, 1)
	c.take(b.mb, 3, 30*time.Second)
	if err := b.stop(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}

	// While the Source is away the slot falls behind the limit.
	exec(t, conn, `ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'`, `SELECT pg_reload_conf()`)
	insert(t, conn, 4, 5, 1) // lost with the slot
	eventually(t, 60*time.Second, "the slot invalidated", func() bool {
		exec(t, conn, `INSERT INTO other SELECT g, repeat('x', 100) FROM generate_series(1, 100) g ON CONFLICT DO NOTHING`,
			`SELECT pg_switch_wal()`, `CHECKPOINT`)
		var status string
		if err := conn.QueryRow(context.Background(),
			`SELECT COALESCE(wal_status, '') FROM pg_replication_slots WHERE slot_name = $1`, b.cfg.Slot).Scan(&status); err != nil {
			t.Fatal(err)
		}
		return status == "lost"
	})
	exec(t, conn, `ALTER SYSTEM RESET max_slot_wal_keep_size`, `SELECT pg_reload_conf()`)

	b.stop = serve(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonSlot, 30*time.Second)
	if n := b.logs.Count("level=ERROR msg=\"replication: the slot was invalidated"); n != 1 {
		t.Fatalf("%d ERROR lines:\n%s", n, b.logs)
	}
	waitReady(t, b.src)
	insert(t, conn, 6, 8, 1)
	c.next = 6
	c.take(b.mb, 8, 30*time.Second)
	expectNothing(t, b.mb)
}
