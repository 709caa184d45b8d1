//go:build chaos

package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/listener"
)

// The WAL soak's own faults.
const (
	faultSlotDrop        = "slot_drop"         // one Source's slot dropped while it streams (walsender terminated first)
	faultSlotDropStopped = "slot_drop_stopped" // one Source removed from its supervisor, its slot dropped, the Source added back
)

// walFaultKinds are the WAL soak's faults: the NOTIFY soak's, where
// garbage means writes the Source must not publish, plus the slot faults.
var walFaultKinds = append(append([]string(nil), faultKinds...), faultSlotDrop, faultSlotDropStopped, faultSlotInvalidate)

// walFirstGapMax bounds the gaps before the WAL soak's first fault of
// each kind.
const walFirstGapMax = 800 * time.Millisecond

// slotDropAttempts bounds the races a running drop may lose to the
// Source's immediate reconnection.
const slotDropAttempts = 50

// slotDrop drops a's slot while its Source streams. The walsender is
// terminated (waiting up to 5 s for it to exit) and the slot dropped in
// one statement; when the Source took the slot back first, it tries again.
// The Source must then log an ERROR, recreate the slot and send every
// mailbox a Resync (reason slot).
func (in *injector) slotDrop(a *app) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := connectWriter(ctx, in.dbURL, "chaos-slot")
	if err != nil {
		return err
	}
	defer closeConn(conn)
	for range slotDropAttempts {
		tag, err := conn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
			WHERE slot_name = $1 AND (active_pid IS NULL OR pg_terminate_backend(active_pid, 5000))`, a.slot)
		switch {
		case err == nil && tag.RowsAffected() == 1:
			in.dropped(a)
			return nil
		case err == nil, isSlotActive(err):
			// Taken back (or not yet released): again.
			time.Sleep(time.Duration(in.rng.IntN(20)) * time.Millisecond)
		default:
			return err
		}
	}
	return fmt.Errorf("slot %s not dropped in %d attempts", a.slot, slotDropAttempts)
}

// slotDropStopped removes a's Source from its supervisor, drops its slot,
// and adds it back up to 1 s later: the Source must notice the loss
// on its first connection.
func (in *injector) slotDropStopped(a *app) error {
	if err := a.sup.RemoveAndWait(a.lToken, stopTimeout); err != nil {
		in.Problem(fmt.Sprintf("%s: Source not stopped within %v: %v", a.name, stopTimeout, err))
	}
	defer func() { a.lToken = a.sup.Add(a.src) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := connectWriter(ctx, in.dbURL, "chaos-slot")
	if err != nil {
		return err
	}
	defer closeConn(conn)
	// The walsender releases the slot as it exits, a moment after the
	// client closed the connection.
	for {
		_, err := conn.Exec(ctx, `SELECT pg_drop_replication_slot($1)`, a.slot)
		if err == nil {
			in.dropped(a)
			break
		}
		if !isSlotActive(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Duration(in.rng.Int64N(int64(time.Second))))
	return nil
}

func (in *injector) dropped(a *app) {
	in.mu.Lock()
	in.slotDrops[a]++
	in.mu.Unlock()
}

// isSlotActive reports whether err says the slot is in use (SQLSTATE 55006).
func isSlotActive(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55006"
}

// walGarbage is the garbage fault of the WAL soak: traffic the Sources
// must not publish. In one transaction, 50 to 500 rows into chaos_pad
// (outside the publication) and a transactional logical decoding message;
// then a non-transactional message and the NOTIFY garbage of the other
// soak (the WAL Source does not listen). The checker reports anything
// published from it as a phantom.
func (in *injector) walGarbage() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := connectWriter(ctx, in.dbURL, "chaos-garbage")
	if err != nil {
		return err
	}
	defer closeConn(conn)
	n := 50 + in.rng.IntN(451)
	payloads := make([]string, n)
	for i := range payloads {
		payloads[i] = garbagePayload(in.rng, i)
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO chaos_pad (pad) SELECT p FROM unnest($1::text[]) AS p`, payloads); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_logical_emit_message(true, 'chaos', $1::text)`, payloads[0])
		return err
	})
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `SELECT pg_logical_emit_message(false, 'chaos', 'garbage')`); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, listener.DefaultChannel, payloads); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `DELETE FROM chaos_pad`); err != nil {
		return err
	}
	in.mu.Lock()
	in.garbage += n
	in.mu.Unlock()
	return nil
}
