//go:build chaos

package chaos_test

import (
	"context"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/chaos"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// checkSlotsConfirmed waits until every slot has confirmed the WAL
// written up to now (the fence included): a Source that stopped
// confirming would make its slot retain WAL for ever.
func checkSlotsConfirmed(t *testing.T, dbURL string, apps []*app) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()
	conn, err := connectWriter(ctx, dbURL, "chaos-admin")
	if err != nil {
		t.Error(err)
		return
	}
	var lsn string
	err = conn.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn)
	closeConn(conn)
	if err != nil {
		t.Error(err)
		return
	}
	var slots []string
	for _, a := range apps {
		slots = append(slots, a.slot)
	}
	var behind []string
	if !chaos.WaitFor(30*time.Second, func() bool {
		b, ok := slotsConfirmed(ctx, dbURL, slots, lsn)
		behind = b
		return ok && len(b) == 0
	}) {
		t.Errorf("slots that did not confirm %s within 30s: %v", lsn, behind)
	}
}

// checkSlotLosses checks that a's Source reported each dropped slot: an
// ERROR line, and a Resync (reason slot) from the connection that
// recreated it. resyncs is the Source's Stats().Resyncs: one for the start
// plus one per lost slot. An ERROR may come twice for one loss (the
// attempt that recreates the slot can fail and is retried), a Resync not.
func checkSlotLosses(t *testing.T, a *app, drops int, resyncs uint64) {
	t.Helper()
	loud := int(a.slotErrors.Load())
	if loud < drops {
		t.Errorf("%s: %d slots dropped, %d ERROR lines about a lost slot", a.name, drops, loud)
	}
	if resyncs < uint64(1+drops) || resyncs > uint64(1+loud) {
		t.Errorf("%s: the Source sent %d Resyncs; want 1 (start) + one per lost slot (%d dropped, %d reported)",
			a.name, resyncs, drops, loud)
	}
}

// checkWALResyncs checks one mailbox's Resyncs against their causes: one
// start at most, no more slot Resyncs than the Source sent, and at least
// one after a lost slot unless an overflow Resync already waiting unread
// absorbed it (the mailbox dropped events then).
func checkWALResyncs(t *testing.T, r chaos.Report, c *consumer, resyncs uint64, drops int) {
	t.Helper()
	if n := r.Resyncs[pubsub.ReasonStart]; n > 1 {
		t.Errorf("%s read %d start Resyncs, want at most 1", r.Name, n)
	}
	if n := uint64(r.Resyncs[pubsub.ReasonSlot]); resyncs > 0 && n > resyncs-1 {
		t.Errorf("%s read %d slot Resyncs, its Source sent %d Resyncs in all (one for the start)", r.Name, n, resyncs)
	}
	if drops > 0 && c.MB.Dropped() == 0 && r.Resyncs[pubsub.ReasonSlot] == 0 {
		t.Errorf("%s: %d slots of its Source dropped, and it read no slot Resync", r.Name, drops)
	}
}
