package replication

import (
	"context"
	"fmt"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/ddl"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
)

// dropSlotWait bounds how long DropSlot waits for a slot's walsender to
// exit: a Source that has just stopped leaves its server process ending
// for a moment after Serve returned.
const dropSlotWait = 10 * time.Second

// DropSlot drops the replication slot; a slot that does not exist is not
// an error. A slot in use cannot be dropped: DropSlot waits up to 10 s
// (bounded by ctx too) for its walsender to exit, as one does a moment
// after its Source stopped, then returns an error wrapping ErrSlotInUse.
// Stop the Source first. Dropping the slot of a Source that will run
// again makes it lose the changes in between, which it reports with a
// Resync (reason "slot").
//
// It is safe inside a caller's transaction: each attempt runs in a
// savepoint (a transaction of its own when q is a connection or pool), so
// that what another session does between DropSlot's look at the slot and
// its drop (dropping the slot itself, or starting to stream from it),
// which makes the server raise an error, is rolled back there and never
// aborts the caller's transaction. The drop itself is not transactional:
// it stands even if the caller's transaction rolls back. A pgsql.Querier
// without pgx's Begin runs the attempts as single statements.
func DropSlot(ctx context.Context, q pgsql.Querier, slot string) error {
	if err := pgsql.CheckSlotName(slot); err != nil {
		return err
	}
	deadline := time.Now().Add(dropSlotWait)
	for seenActive := false; ; seenActive = true {
		active, err := dropSlotOnce(ctx, q, slot)
		switch {
		case err != nil && seenActive && ctx.Err() != nil:
			// ctx ended during a later look: the slot was in use at the
			// last one, as when ctx ends during the pause between looks.
			return fmt.Errorf("%w: %q: %w", ErrSlotInUse, slot, ctx.Err())
		case err != nil:
			return fmt.Errorf("replication: drop slot %q: %w", slot, err)
		case !active:
			return nil // dropped, or there was no such slot
		case time.Now().After(deadline):
			return fmt.Errorf("%w: %q is still streamed from after %v", ErrSlotInUse, slot, dropSlotWait)
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %q: %w", ErrSlotInUse, slot, ctx.Err())
		case <-t.C:
		}
	}
}

// dropSlotOnce drops slot unless a walsender streams from it and reports
// whether one does. The statement looks first, so the usual cases (no
// slot, an active one) raise nothing; the errors of a change in between
// are caught in the savepoint: the slot gone (42704) counts as dropped, a
// walsender that took it (55006) as active.
func dropSlotOnce(ctx context.Context, q pgsql.Querier, slot string) (active bool, err error) {
	var dropped bool // read so that the drop runs
	drop := func(q pgsql.Querier) error {
		return q.QueryRow(ctx, `WITH s AS (SELECT slot_name, active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1),
d AS (SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM s WHERE NOT active)
SELECT EXISTS (SELECT 1 FROM d), COALESCE((SELECT active FROM s), false)`, slot).Scan(&dropped, &active)
	}
	if ddl.CanBegin(q) {
		err = ddl.InTx(ctx, q, drop)
	} else {
		err = drop(q)
	}
	switch {
	case ddl.IsSQLState(err, "42704"):
		return false, nil
	case ddl.IsSQLState(err, "55006"):
		return true, nil
	}
	return active, err
}
