package replication_test

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// Config.ConfirmLimit bounds confirmed_flush_lsn: the Source hands
// changes over but confirms no further than the limit, for transactions
// and for idle keepalives alike, and catches up once the limit lifts.
func TestConfirmLimitBoundsConfirmedPosition(t *testing.T) {
	var limit atomic.Uint64 // 0: confirm nothing beyond the start
	var calls atomic.Int64
	cfg := replication.Config{StatusInterval: 50 * time.Millisecond, Timeout: 900 * time.Millisecond,
		ConfirmLimit: func() pubsub.LSN { calls.Add(1); return pubsub.LSN(limit.Load()) }}
	b := setup(t, options{cfg: cfg})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	conn := connect(t, b.url)
	// waitStatusUpdates waits until the Source sent a few more status
	// updates, each of which asked the limit first.
	waitStatusUpdates := func() {
		t.Helper()
		n := calls.Load()
		eventually(t, 30*time.Second, "status updates", func() bool { return calls.Load() >= n+3 })
	}
	waitStatusUpdates()
	start := slotConfirmed(t, conn, b.cfg.Slot)
	c := &collector{t: t, next: 1}
	insert(t, conn, 1, 5, 1)
	c.take(b.mb, 5, 30*time.Second)
	mid := currentLSN(t, conn)
	waitStatusUpdates()
	if got := slotConfirmed(t, conn, b.cfg.Slot); got != start {
		t.Fatalf("limit 0: confirmed_flush_lsn moved from %v to %v", start, got)
	}

	limit.Store(uint64(mid))
	insert(t, conn, 6, 10, 1)
	c.take(b.mb, 5, 30*time.Second)
	eventually(t, 30*time.Second, "confirmed_flush_lsn at the limit", func() bool {
		return slotConfirmed(t, conn, b.cfg.Slot) == mid
	})
	waitStatusUpdates()
	if got := slotConfirmed(t, conn, b.cfg.Slot); got != mid {
		t.Fatalf("confirmed_flush_lsn %v, want the limit %v", got, mid)
	}
	if st := b.src.Stats(); st.ConfirmedLSN != pubsub.LSN(mid) {
		t.Fatalf("Stats.ConfirmedLSN %v, want %v", pglogrepl.LSN(st.ConfirmedLSN), mid)
	}

	limit.Store(math.MaxUint64)
	end := currentLSN(t, conn)
	eventually(t, 30*time.Second, "confirmed_flush_lsn past every write", func() bool {
		return slotConfirmed(t, conn, b.cfg.Slot) >= end
	})
}

func slotConfirmed(t *testing.T, conn *pgx.Conn, slot string) pglogrepl.LSN {
	t.Helper()
	var lsn pglogrepl.LSN
	if err := conn.QueryRow(context.Background(),
		"SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	return lsn
}

func currentLSN(t *testing.T, conn *pgx.Conn) pglogrepl.LSN {
	t.Helper()
	var lsn pglogrepl.LSN
	if err := conn.QueryRow(context.Background(), "SELECT pg_current_wal_lsn()").Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	return lsn
}
